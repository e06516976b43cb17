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


"""Migrations from an empty database to head, and models in sync with them.
"""

from oslo_db.sqlalchemy import test_migrations
import sqlalchemy as sa

from tests.functional.db import base
from vmstate.db import migration
from vmstate.db import models


class MigrationTests(test_migrations.ModelsMigrationsSync):
    """Run on an empty database; oslo.db drops everything afterwards."""

    def db_sync(self, engine):
        migration.upgrade(engine=engine)

    def get_engine(self):
        return self.engine

    def get_metadata(self):
        return models.Base.metadata

    def test_empty_to_head(self):
        self.assertIsNone(migration.version(self.engine))
        self.assertTrue(migration.ensure_schema(self.engine))
        self.assertEqual(migration.head(), migration.version(self.engine))
        self.assertFalse(migration.ensure_schema(self.engine))
        inspector = sa.inspect(self.engine)
        self.assertEqual({"alembic_version", "instances", "instance_events",
                          "instance_failures", "instance_action_queue"},
                         set(inspector.get_table_names()))
        indexes = {i["name"] for i in inspector.get_indexes("instances")}
        self.assertLessEqual(
            {"instances_project_id_created_at_idx",
             "instances_vm_state_task_state_idx",
             "instances_task_state_task_started_at_idx",
             "instances_task_state_task_heartbeat_at_idx"}, indexes)
        queue_indexes = {i["name"] for i in inspector.get_indexes(
            "instance_action_queue")}
        self.assertIn("instance_action_queue_instance_uuid_id_idx",
                      queue_indexes)


class TestMigrationsSQLite(MigrationTests, base.TestCase):
    FIXTURE = base.SQLiteEmpty


class TestMigrationsPostgreSQL(MigrationTests, base.TestCase):
    FIXTURE = base.PostgreSQLEmpty


class TestMigrationsMySQL(MigrationTests, base.TestCase):
    FIXTURE = base.MySQLEmpty
