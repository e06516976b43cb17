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
used. vmstate adds to what oslo.db does:

* the directory of a file-based SQLite database (the embedded default,
  ``$state_path/vmstate.sqlite``) is created before the first connection;
* SQLite connections use write-ahead logging and wait for a lock instead of
  failing at once, so that threads and processes sharing the file take
  turns rather than raising "database is locked";
* connections are kept in a pool and checked only when they may have gone
  stale: a file-based SQLite database gets a ``QueuePool`` (oslo.db gives
  it a ``NullPool``, which opens a connection and runs its PRAGMAs for
  every transaction) that keeps every connection it opens, up to
  ``max_pool_size + max_overflow``; a database server's connection is
  pinged on checkout only after it has been idle for
  :data:`PING_AFTER_IDLE` seconds, not before every transaction;
* on a MariaDB Galera node, reads and compare-and-swaps are causal
  (:mod:`vmstate.db.galera`).
"""

from collections.abc import Callable
from collections.abc import Iterator
import contextlib
from contextlib import AbstractContextManager
import os
import sqlite3
import threading
import time
from typing import Any

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.engine import make_url

from vmstate.context import RequestContext
from vmstate.db import galera

# How long a SQLite connection waits for another writer before giving up.
# Writers hold the lock for one short transaction, so a long wait only
# happens under heavy contention; a failure after it is retried by
# oslo.db's retry decorator (see vmstate.db.api).
SQLITE_BUSY_TIMEOUT_MS = 30000

# A new database being switched to write-ahead logging by another process
# is locked for a moment; these attempts wait about five seconds in all.
_WAL_ATTEMPTS = 14

# A pooled connection that has been idle at least this long (seconds) is
# pinged before use; one in steady use is not. A connection that breaks
# while in use (the server restarted under it) fails its statement as a
# disconnect, which invalidates the pool and which vmstate.db.api
# retries (oslo.db's retry_on_disconnect).
PING_AFTER_IDLE = 1.0

main = enginefacade.transaction_context()


def _sqlite_on_connect(dbapi_connection: Any,
                       connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout = %d" % SQLITE_BUSY_TIMEOUT_MS)
        _write_ahead_log(cursor)
    finally:
        cursor.close()


def _write_ahead_log(cursor: Any) -> None:
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


def _pool_options() -> dict[str, Any]:
    # oslo.db drops [database] max_pool_size and max_overflow for SQLite
    # (it uses no pool there); the pool built here honours them.
    from vmstate.conf import CONF
    options: dict[str, Any] = {}
    for option, argument in (("max_pool_size", "pool_size"),
                             ("max_overflow", "max_overflow"),
                             ("pool_timeout", "timeout")):
        value = CONF.database[option]
        if value is not None:
            options[argument] = value
    return options


def _sqlite_pool_options() -> dict[str, Any]:
    """A file's pool keeps every connection it opens, up to
    ``max_pool_size + max_overflow``.

    A server's pool closes a connection that overflows ``max_pool_size``
    when it is returned, to spare the server; a SQLite connection costs no
    server anything, and opening it again costs its PRAGMAs: with more
    concurrent requests than ``max_pool_size`` that churn cost a show 0.4
    to 0.7 ms of server CPU (``benchmarks/api.py``, 8 and 32 clients).
    An unbounded overflow (``max_overflow = -1``) stays as it is.
    """
    options = _pool_options()
    size = options.get("pool_size", 5)
    overflow = options.get("max_overflow", 10)
    if overflow >= 0:
        options.update(pool_size=size + overflow, max_overflow=0)
    return options


def _repool(engine: sa.engine.Engine, pool_class: type[sa.pool.Pool],
            **options: Any) -> None:
    """Give ``engine`` a new pool of ``pool_class``, without pre-ping.

    The listeners oslo.db set on the old pool (process guards, thread
    yield on check-in) move to the new one.
    """
    old = engine.pool
    engine.pool = pool_class(
        old._creator,
        recycle=old._recycle,
        echo=old.echo,
        logging_name=old._orig_logging_name,
        reset_on_return=old._reset_on_return,
        pre_ping=False,
        _dispatch=old.dispatch,
        dialect=old._dialect,
        **options)
    old.dispose()


def _is_sqlite_file(engine: sa.engine.Engine) -> bool:
    database = engine.url.database
    if not database:
        return False
    return database != ":memory:" and not (
        database.startswith("file:") and "mode=memory" in database)


def _on_checkin(dbapi_connection: Any, connection_record: Any) -> None:
    connection_record.info["vmstate_idle_since"] = time.monotonic()


def _ping_if_idle(engine: sa.engine.Engine) -> Callable[..., None]:
    dialect = engine.dialect

    def ping(dbapi_connection: Any, connection_record: Any,
             connection_proxy: Any) -> None:
        idle_since = connection_record.info.get("vmstate_idle_since")
        if (idle_since is None
                or time.monotonic() - idle_since < PING_AFTER_IDLE):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_connection, None):
                # The pool drops this connection and checks out another
                # (up to three times), as its own pre-ping does.
                raise sa.exc.DisconnectionError() from err
            raise
    return ping


def _on_engine_create(engine: sa.engine.Engine) -> None:
    if engine.dialect.name == "sqlite":
        if (isinstance(engine.pool, sa.pool.NullPool)
                and _is_sqlite_file(engine)):
            # One file, many threads and processes: each process keeps
            # its own connections (oslo.db's process guard drops those
            # inherited over a fork); the file's locks and WAL order
            # them. A pool bounded like a server's, not one connection
            # per thread (SingletonThreadPool): a server's hundreds of
            # threads would each keep a connection and its file handles.
            _repool(engine, sa.pool.QueuePool, **_sqlite_pool_options())
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        return
    if isinstance(engine.pool, sa.pool.QueuePool):
        # oslo.db turns pre-ping on: one extra round trip before every
        # transaction. Ping only a connection that has sat idle.
        _repool(engine, type(engine.pool),
                pool_size=engine.pool.size(),
                max_overflow=engine.pool._max_overflow,
                timeout=engine.pool.timeout())
        sa.event.listen(engine, "checkin", _on_checkin)
        sa.event.listen(engine, "checkout", _ping_if_idle(engine))


main.append_on_engine_create(_on_engine_create)
main.append_on_engine_create(galera.on_engine_create)


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


def writer(context: RequestContext) -> AbstractContextManager[
        sa.engine.Connection]:
    """A read-write transaction (a Core connection) for ``context``.

    Commits when the block ends, rolls back when it raises.
    """
    _prepare()
    return _connected(_in_turn(main.writer.connection.using(context)))


def reader(context: RequestContext) -> AbstractContextManager[
        sa.engine.Connection]:
    """A read-only transaction (a Core connection) for ``context``."""
    _prepare()
    return _connected(main.reader.connection.using(context))


def reader_session(context: RequestContext) -> AbstractContextManager[
        orm.Session]:
    """A read-only ORM session, for oslo.db's ORM helpers (pagination)."""
    _prepare()
    return _connected(main.reader.using(context))


def get_engine() -> sa.engine.Engine:
    """The writer engine, as configured (starts the facade)."""
    _prepare()
    engine: sa.engine.Engine = main.writer.get_engine()
    return engine
