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


"""The state store's tests on SQLite, PostgreSQL and MariaDB.

oslo.db's opportunistic fixtures provision a private database per test
process on each backend (user, password and database ``openstack_citest``
on localhost; ``.ci/run`` creates them), migrate it once, and empty it
after every test. A backend that cannot be reached skips its tests,
unless ``VMSTATE_TEST_DB_REQUIRED`` is set (CI sets it): then they fail.

SQLite runs on a file, not in memory, so that threads and processes
share the database as they do in production.
"""

import atexit
import os
import shutil
import tempfile

from oslo_db.sqlalchemy import provision
from oslo_db.sqlalchemy import test_fixtures
import sqlalchemy as sa

from tests import base
from tests import db_fixture
from vmstate import context
from vmstate import states
from vmstate.db import api
from vmstate.db import connections
from vmstate.db import migration
from vmstate.db import models

REQUIRED = bool(os.environ.get("VMSTATE_TEST_DB_REQUIRED"))

_sqlite_dir: str | None = None


def _sqlite_base_url() -> sa.engine.URL:
    """A file URL that makes oslo.db provision SQLite files, not memory."""
    global _sqlite_dir
    if _sqlite_dir is None:
        _sqlite_dir = tempfile.mkdtemp(prefix="vmstate-citest-")
        atexit.register(shutil.rmtree, _sqlite_dir, True)
    return sa.engine.make_url(
        "sqlite:///%s" % os.path.join(_sqlite_dir, "base.db"))


class _Facade:
    def get_enginefacade(self):
        return connections.main


class _SQLiteFile:
    def _generate_database_resource(self, _enginefacade):
        return provision.DatabaseResource(
            self.driver, _enginefacade, ad_hoc_url=_sqlite_base_url(),
            provision_new_database=True)


class MigratedDatabase(_Facade, test_fixtures.DeletesFromSchema,
                       test_fixtures.GeneratesSchemaFromMigrations,
                       test_fixtures.OpportunisticDbFixture):
    """A database migrated to head once, emptied after each test."""

    def generate_schema_migrations(self, engine):
        migration.upgrade(engine=engine)

    def delete_from_schema(self, engine):
        with engine.begin() as conn:
            conn.execute(sa.delete(models.action_queue))
            conn.execute(sa.delete(models.instance_failures))
            conn.execute(sa.delete(models.instance_events))
            conn.execute(sa.delete(models.instances))


class EmptyDatabase(_Facade, test_fixtures.OpportunisticDbFixture):
    """A database without schema; everything is dropped after each test."""


class SQLiteMigrated(_SQLiteFile, MigratedDatabase):
    DRIVER = "sqlite"


class PostgreSQLMigrated(MigratedDatabase):
    DRIVER = "postgresql"


class MySQLMigrated(MigratedDatabase):
    DRIVER = "mysql"


class SQLiteEmpty(_SQLiteFile, EmptyDatabase):
    DRIVER = "sqlite"


class PostgreSQLEmpty(EmptyDatabase):
    DRIVER = "postgresql"


class MySQLEmpty(EmptyDatabase):
    DRIVER = "mysql"


def member(project_id: str = "p1", user_id: str = "u1"
           ) -> context.RequestContext:
    return context.RequestContext(project_id=project_id, user_id=user_id,
                                  roles=["member"], is_admin=False,
                                  overwrite=False)


class TestCase(test_fixtures.OpportunisticDBTestMixin, base.TestCase):
    """A test on the database of ``FIXTURE``, which vmstate.db uses."""

    SKIP_ON_UNAVAILABLE_DB = not REQUIRED
    FIXTURE = SQLiteMigrated

    def setUp(self):
        super().setUp()
        self.engine = self._get_default_provisioned_db().engine
        self.url = self.engine.url.render_as_string(hide_password=False)
        self.backend = self.engine.dialect.name
        self.admin = context.get_admin_context()
        self.ctx = member("p1", "u1")
        self.other = member("p2", "u2")

    def create(self, ctx=None, **values):
        values.setdefault("vm_state", states.ACTIVE)
        values.setdefault("task_state", None)
        return api.instance_create(ctx or self.ctx, values)

    def count_statements(self) -> db_fixture.StatementCounter:
        return self.useFixture(db_fixture.StatementCounter(self.engine))
