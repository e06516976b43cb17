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


"""A fresh, migrated SQLite database that vmstate.db.api uses, per test.

Usage::

    from tests import db_fixture

    class MyTest(base.TestCase):
        def setUp(self):
            super().setUp()
            self.db = self.useFixture(db_fixture.Database())

Every call to :mod:`vmstate.db.api` (and to :mod:`vmstate.lifecycle`)
inside the test then goes to a new SQLite file holding the head schema;
``[database] connection`` points at it too, so code that reads the option
(a service started in-process, ``vmstate-manage``) agrees. The schema is
built once per test process by the real migrations and copied for each
test, which costs about a millisecond.
"""

import atexit
import os
import shutil
import tempfile
import threading

import fixtures
from oslo_db.sqlalchemy import test_fixtures
from sqlalchemy import event as sa_event

from vmstate.conf import CONF
from vmstate.db import connections
from vmstate.db import migration

# The system's temporary directory, read at import: oslotest points
# tempfile at a per-test directory that disappears with the test, and the
# template outlives every test.
_TMP = tempfile.gettempdir()
_template_lock = threading.Lock()
_template: str | None = None


def _template_path() -> str:
    """A migrated SQLite file, made once per process."""
    global _template
    with _template_lock:
        if _template is None:
            directory = tempfile.mkdtemp(prefix="vmstate-schema-", dir=_TMP)
            atexit.register(shutil.rmtree, directory, True)
            path = os.path.join(directory, "template.sqlite")
            facade = connections.main.make_new_manager()
            facade.configure(connection="sqlite:///" + path)
            try:
                migration.upgrade(engine=facade.writer.get_engine())
            finally:
                # Closing the last connection folds the WAL into the
                # file, so a plain copy is complete.
                facade.dispose_pool()
            _template = path
        return _template


class Database(fixtures.Fixture):
    """A new SQLite file with vmstate's schema, plugged into vmstate.db.

    Attributes once set up: ``url`` (the SQLAlchemy URL), ``path`` and
    ``engine`` (the engine vmstate.db uses, for counting statements or
    looking at rows directly).
    """

    def _setUp(self) -> None:
        directory = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(directory, "vmstate.sqlite")
        shutil.copyfile(_template_path(), self.path)
        self.url = "sqlite:///" + self.path
        facade = connections.main.make_new_manager()
        facade.configure(connection=self.url)
        self.useFixture(test_fixtures.ReplaceEngineFacadeFixture(
            connections.main, facade))
        self.addCleanup(facade.dispose_pool)
        CONF.set_override("connection", self.url, group="database")
        self.addCleanup(CONF.clear_override, "connection", group="database")
        self.engine = facade.writer.get_engine()


# Transaction control is not counted: oslo.db emits its own BEGIN on SQLite
# and drivers send BEGIN/COMMIT on every backend, for any access pattern.
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class StatementCounter(fixtures.Fixture):
    """Record the SQL statements an engine executes while set up.

    ``statements`` lists the data statements (SELECT, INSERT, UPDATE, ...);
    ``control`` the transaction control ones (BEGIN, COMMIT, ...).
    """

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine

    def _setUp(self) -> None:
        self.statements: list[str] = []
        self.control: list[str] = []
        sa_event.listen(self.engine, "before_cursor_execute", self._seen)
        self.addCleanup(sa_event.remove, self.engine,
                        "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context,
              executemany) -> None:
        if statement.lstrip().upper().startswith(_CONTROL):
            self.control.append(statement)
        else:
            self.statements.append(statement)

    def reset(self) -> None:
        self.statements.clear()
        self.control.clear()

    @property
    def count(self) -> int:
        return len(self.statements)


def driver_error(dialect, kind: str) -> Exception:
    """The exception ``dialect``'s driver raises for a lost connection
    (``kind="disconnect"``) or a deadlock (``kind="deadlock"``).

    Raised from inside SQLAlchemy's execution, they go through the same
    classification as real ones (SQLAlchemy's disconnect detection, oslo.db's
    exception filters).
    """
    dbapi = dialect.loaded_dbapi
    name = dialect.name
    if kind == "disconnect":
        if name == "sqlite":
            return dbapi.ProgrammingError(
                "Cannot operate on a closed database.")
        if name == "postgresql":
            return dbapi.OperationalError(
                "server closed the connection unexpectedly")
        return dbapi.OperationalError(
            2013, "Lost connection to MySQL server during query")
    if name == "sqlite":
        return dbapi.OperationalError("database is locked")
    if name == "postgresql":
        return dbapi.OperationalError("deadlock detected")
    return dbapi.OperationalError(
        1213, "Deadlock found when trying to get lock; try restarting "
        "transaction")


class FailOnce(fixtures.Fixture):
    """Make the next matching database operation fail once, for real.

    ``at="commit"``: the next COMMIT is applied and then reported as
    failed (the answer was lost): the ambiguous case a retry must not
    apply twice. ``at="history"``: the next INSERT of a history row fails
    before it runs, so its transaction rolls back. ``kind`` is as in
    :func:`driver_error`. ``fired`` counts the failures injected.
    """

    def __init__(self, engine, kind: str = "disconnect",
                 at: str = "commit") -> None:
        super().__init__()
        self.engine = engine
        self.kind = kind
        self.at = at

    def _setUp(self) -> None:
        self.fired = 0
        dialect = self.engine.dialect
        if self.at == "commit":
            real_commit = dialect.do_commit

            def do_commit(dbapi_connection):
                real_commit(dbapi_connection)
                if not self.fired:
                    self.fired += 1
                    raise driver_error(dialect, self.kind)

            self.useFixture(_AttributePatch(dialect, "do_commit",
                                            do_commit))
        else:
            real_execute = dialect.do_execute

            def do_execute(cursor, statement, parameters, context=None):
                if (not self.fired
                        and statement.startswith("INSERT INTO "
                                                 "instance_events")):
                    self.fired += 1
                    raise driver_error(dialect, self.kind)
                return real_execute(cursor, statement, parameters, context)

            self.useFixture(_AttributePatch(dialect, "do_execute",
                                            do_execute))


class _AttributePatch(fixtures.Fixture):
    """Set an attribute on one object (not a module path) for a while."""

    def __init__(self, obj, name, value) -> None:
        super().__init__()
        self.obj, self.name, self.value = obj, name, value

    def _setUp(self) -> None:
        had = self.name in vars(self.obj)
        old = vars(self.obj).get(self.name)
        setattr(self.obj, self.name, self.value)
        if had:
            self.addCleanup(setattr, self.obj, self.name, old)
        else:
            self.addCleanup(delattr, self.obj, self.name)
