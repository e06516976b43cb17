#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.


"""The database connection: one oslo.db enginefacade for all of vmstate.

The facade reads ``[database]`` from the global configuration when first
used. Two things are added to what oslo.db does:

* the directory of a file-based SQLite database (the embedded default,
  ``$state_path/vmstate.sqlite``) is created before the first connection;
* SQLite connections use write-ahead logging and wait for a lock instead of
  failing at once, so that threads and processes sharing the file take
  turns rather than raising "database is locked".
"""

from collections.abc import Iterator
import contextlib
import os
import sqlite3
import threading
import time
from typing import Any

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
import sqlalchemy as sa
from sqlalchemy.engine import make_url

# How long a SQLite connection waits for another writer before giving up.
# Writers hold the lock for one short transaction, so a long wait only
# happens under heavy contention; a failure after it is retried by
# oslo.db's retry decorator (see vmstate.db.api).
SQLITE_BUSY_TIMEOUT_MS = 30000

# A new database being switched to write-ahead logging by another process
# is locked for a moment; these attempts wait about five seconds in all.
_WAL_ATTEMPTS = 14

main = enginefacade.transaction_context()


def _sqlite_on_connect(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout = %d" % SQLITE_BUSY_TIMEOUT_MS)
        _write_ahead_log(cursor)
    finally:
        cursor.close()


def _write_ahead_log(cursor) -> None:
    """Switch the database to write-ahead logging, once for all.

    Readers then do not block the writer nor the writer readers. The mode
    is stored in the file, so only the first connection to a new database
    switches; in-memory databases answer "memory" and stay as they are.
    Switching needs the file to itself for a moment and SQLite does not
    wait for that: when another process is creating the same database at
    once, try again shortly (it will usually have switched it already).
    """
    for attempt in range(_WAL_ATTEMPTS):
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if mode in ("wal", "memory"):
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt + 1 == _WAL_ATTEMPTS:
                raise
            time.sleep(0.05 * (attempt + 1))


def _on_engine_create(engine: sa.engine.Engine) -> None:
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_on_connect)


main.append_on_engine_create(_on_engine_create)


def prepare_sqlite_path(url: str | None) -> None:
    """Create the directory of a file-based SQLite database URL."""
    if not url:
        return
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    path = parsed.database
    if path and path != ":memory:" and not path.startswith("file:"):
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)


# The [database] options that shape oslo.db's facade.
FACADE_OPTIONS = (
    "connection", "slave_connection", "sqlite_synchronous",
    "connection_debug", "connection_trace", "connection_parameters",
    "connection_recycle_time", "max_pool_size", "max_overflow",
    "pool_timeout", "max_retries", "retry_interval", "mysql_sql_mode",
    "mysql_wsrep_sync_wait", "synchronous_reader",
)


def full_unicode(url: str | None) -> str | None:
    """``url``, speaking 4-byte UTF-8 to MySQL unless it names a charset.

    oslo.db falls back to MySQL's 3-byte ``utf8``, with which any character
    outside the BMP (an emoji in a reason) fails the write.
    """
    if not url:
        return url
    parsed = make_url(url)
    if parsed.get_backend_name() != "mysql" or "charset" in parsed.query:
        return url
    return parsed.update_query_dict({"charset": "utf8mb4"}).render_as_string(
        hide_password=False)


def _prepare() -> None:
    # Only before the facade starts: once it runs (or a test patched in
    # its own), the configuration is no longer consulted.
    if not main.is_started:
        from vmstate.conf import CONF
        # vmstate's own [database], given explicitly: left to itself the
        # facade would read oslo.config's global CONF, which inside
        # another service (the guard in Nova) is that service's database.
        options = {name: CONF.database[name] for name in FACADE_OPTIONS}
        options["connection"] = full_unicode(options["connection"])
        main.configure(**options)
        prepare_sqlite_path(CONF.database.connection)


@contextlib.contextmanager
def _connected(transaction: Any) -> Iterator[Any]:
    """``transaction``, with a failure to connect said as oslo.db says it.

    oslo.db turns a lost connection into ``DBConnectionError`` (retried by
    the DB API, a 503 at the REST API) but recognises a refused one only
    by older libpq wording ("could not connect to server"); a server that
    is down, shutting down or starting up then escapes as a bare
    OperationalError. A DBAPI error raised before any statement (while
    connecting), or a pool invalidated under us, is that same condition.
    """
    try:
        with transaction as connection:
            yield connection
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as err:
        if err.statement is None:
            raise db_exc.DBConnectionError(err) from err
        raise
    except sa.exc.InvalidatePoolError as err:
        raise db_exc.DBConnectionError(err) from err


# SQLite takes one writer at a time. Left to itself, a writer that finds
# the database locked sleeps and polls (its busy handler backs off up to
# 100 ms a try) while newer writers may slip in ahead: under load the
# slowest writes wait for seconds. Writers of one process queue here
# instead and go in turn; other processes still meet the busy timeout.
_sqlite_writers = threading.RLock()


@contextlib.contextmanager
def _in_turn(transaction: Any) -> Iterator[Any]:
    # Connecting (a new SQLite connection and its PRAGMAs) needs no turn;
    # the turn lasts from the first statement to the end of the commit.
    turn = False
    try:
        with transaction as connection:
            if connection.dialect.name == "sqlite":
                _sqlite_writers.acquire()
                turn = True
            yield connection
    finally:
        if turn:
            _sqlite_writers.release()


def writer(context):
    """A read-write transaction (a Core connection) for ``context``.

    Commits when the block ends, rolls back when it raises.
    """
    _prepare()
    return _connected(_in_turn(main.writer.connection.using(context)))


def reader(context):
    """A read-only transaction (a Core connection) for ``context``."""
    _prepare()
    return _connected(main.reader.connection.using(context))


def reader_session(context):
    """A read-only ORM session, for oslo.db's ORM helpers (pagination)."""
    _prepare()
    return _connected(main.reader.using(context))


def get_engine() -> sa.engine.Engine:
    """The writer engine, as configured (starts the facade)."""
    _prepare()
    return main.writer.get_engine()
