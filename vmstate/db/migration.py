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


"""Schema migrations: upgrade, report the revision, create on first use.

The alembic scripts ship inside the package (``vmstate/db/migrations``), so
an installed vmstate can migrate its database without a source tree.
Each function uses the configured database (``[database] connection``)
unless given an engine.
"""

from collections.abc import Iterator
import contextlib
import fcntl
import os
import threading

from alembic import command
from alembic import config as alembic_config
from alembic import script as alembic_script
from alembic.runtime import migration as alembic_migration
import sqlalchemy as sa

from vmstate.db import connections

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "migrations")

# Any constant shared by all vmstate processes: the PostgreSQL advisory
# lock and MySQL named lock that serialize schema creation.
_PG_LOCK_KEY = 0x766D7374   # "vmst"
_MYSQL_LOCK_NAME = "vmstate.schema"
_MYSQL_LOCK_TIMEOUT = 300

_local_lock = threading.Lock()


def _config(connection: sa.Connection | None = None
            ) -> alembic_config.Config:
    config = alembic_config.Config()
    config.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision the shipped migrations know."""
    heads = alembic_script.ScriptDirectory.from_config(_config()).get_heads()
    return heads[0]


def revisions() -> frozenset[str]:
    """Every revision the shipped migrations know."""
    scripts = alembic_script.ScriptDirectory.from_config(_config())
    return frozenset(rev.revision for rev in scripts.walk_revisions())


def _current(connection: sa.Connection) -> str | None:
    context = alembic_migration.MigrationContext.configure(connection)
    return context.get_current_revision()


def version(engine: sa.engine.Engine | None = None) -> str | None:
    """The database's schema revision (``None``: no schema yet)."""
    engine = engine or connections.get_engine()
    with engine.connect() as connection:
        return _current(connection)


def upgrade(revision: str = "head",
            engine: sa.engine.Engine | None = None) -> None:
    """Upgrade the schema to ``revision`` (``vmstate-manage db sync``)."""
    engine = engine or connections.get_engine()
    with _exclusive(engine) as connection:
        command.upgrade(_config(connection), revision)
        connection.commit()


def ensure_schema(engine: sa.engine.Engine | None = None) -> bool:
    """Upgrade to the newest revision unless the database has it already.

    Called by services when they start, so the embedded SQLite database
    works without a separate ``db sync``. Safe when several processes
    start at once: they take turns on a lock (a file lock for SQLite, an
    advisory lock for PostgreSQL, a named lock for MySQL) and each checks
    the revision again once it holds it.

    :returns: whether this call migrated anything.
    """
    engine = engine or connections.get_engine()
    target = head()
    if version(engine) == target:
        return False
    with _exclusive(engine) as connection:
        if _current(connection) == target:
            return False
        command.upgrade(_config(connection), "head")
        connection.commit()
        return True


@contextlib.contextmanager
def _exclusive(engine: sa.engine.Engine) -> Iterator[sa.Connection]:
    """A connection holding the schema lock of ``engine``'s database."""
    with _local_lock, engine.connect() as connection:
        name = connection.dialect.name
        if name == "postgresql":
            # Released by the commit (or rollback) that ends the migration.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                               {"k": _PG_LOCK_KEY})
            yield connection
        elif name in ("mysql", "mariadb"):
            got = connection.execute(
                sa.text("SELECT GET_LOCK(:n, :t)"),
                {"n": _MYSQL_LOCK_NAME, "t": _MYSQL_LOCK_TIMEOUT}).scalar()
            if got != 1:
                raise RuntimeError("could not lock the schema for migration")
            try:
                yield connection
            finally:
                connection.execute(sa.text("SELECT RELEASE_LOCK(:n)"),
                                   {"n": _MYSQL_LOCK_NAME})
        else:
            with _file_lock(connection.engine.url.database):
                yield connection


@contextlib.contextmanager
def _file_lock(database: str | None) -> Iterator[None]:
    """An exclusive lock on ``<database>.lock``, for SQLite files."""
    if not database or database == ":memory:" or database.startswith(
            "file:"):
        # A memory database lives in one process; the thread lock is
        # enough.
        yield
        return
    fd = os.open(database + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
