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

"""``vmstate-status upgrade check`` on SQLite, PostgreSQL and MariaDB.

Each test runs the command in-process, as an operator would run it,
against a configuration file it writes, and reads its JSON output.
"""

import io
import json
import os

import fixtures
import sqlalchemy as sa

from tests.functional.db import base
from vmstate.cmd import status
from vmstate.conf import CONF
from vmstate.db import migration

SUCCESS, WARNING, FAILURE = 0, 1, 2


class StatusMixin:

    def status(self, **sections):
        """Run ``vmstate-status upgrade check --json``: (code, results).

        ``sections`` are ``{group: {option: value}}`` for the
        configuration file; ``[database] connection`` is this test's
        database.
        """
        tmp = self.useFixture(fixtures.TempDir()).path
        sections.setdefault("database", {})["connection"] = self.url
        path = os.path.join(tmp, "vmstate.conf")
        with open(path, "w") as f:
            for group, values in sections.items():
                f.write("[%s]\n" % group)
                for key, value in values.items():
                    f.write("%s = %s\n" % (key, value))
        out = self.useFixture(fixtures.MonkeyPatch(
            "sys.stdout", io.StringIO())).new_value
        CONF.clear()
        code = status.main(["--config-file", path, "upgrade", "check",
                            "--json"])
        results = {c["check"]: (c["result"], c["details"])
                   for c in json.loads(out.getvalue())["checks"]}
        return code, results


class SyncedTests(StatusMixin):

    def test_passes_on_a_synced_database(self):
        code, results = self.status()
        self.assertEqual(SUCCESS, code, results)
        self.assertEqual(
            (SUCCESS, "Schema at revision %s (head)." % migration.head()),
            results["Database schema"])
        self.assertEqual({"Database schema", "Matrix plugins", "Policy file",
                          "Policy file format", "Event bus"}, set(results))

    def test_unknown_revision_fails(self):
        with self.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET "
                                 "version_num = 'f00dfeedf00d'"))
        code, results = self.status()
        self.assertEqual(FAILURE, code)
        result, details = results["Database schema"]
        self.assertEqual(FAILURE, result)
        self.assertIn("f00dfeedf00d, which this vmstate does not know",
                      details)


class UnsyncedTests(StatusMixin):

    #: What the check answers on an empty database of this backend.
    EXPECTED = FAILURE

    def test_empty_database(self):
        code, results = self.status()
        self.assertEqual(self.EXPECTED, code, results)
        result, details = results["Database schema"]
        self.assertEqual(self.EXPECTED, result)
        self.assertIn("The database has no vmstate schema: run "
                      "'vmstate-manage db sync'", details)
        # The other checks do not depend on the schema.
        self.assertEqual(SUCCESS, results["Matrix plugins"][0])

    def test_behind_head(self):
        migration.upgrade(self.first_revision(), engine=self.engine)
        code, results = self.status()
        self.assertEqual(self.EXPECTED, code, results)
        self.assertEqual(
            (self.EXPECTED, "The schema is at revision %s, not %s: run "
             "'vmstate-manage db sync'%s." % (
                 self.first_revision(), migration.head(),
                 " (vmstate-api does it when it starts on SQLite)"
                 if self.EXPECTED == WARNING else "")),
            results["Database schema"])
        migration.upgrade(engine=self.engine)
        code, results = self.status()
        self.assertEqual(SUCCESS, code, results)

    def first_revision(self):
        revisions = migration.revisions()
        from alembic import config
        from alembic import script
        cfg = config.Config()
        cfg.set_main_option("script_location", migration.MIGRATIONS)
        base_revs = script.ScriptDirectory.from_config(cfg).get_bases()
        self.assertIn(base_revs[0], revisions)
        return base_revs[0]


class TestSyncedSQLite(SyncedTests, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestSyncedPostgreSQL(SyncedTests, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated

    def test_postgresql_event_bus_reached(self):
        code, results = self.status(events={"driver": "postgresql"})
        self.assertEqual(SUCCESS, code, results)
        self.assertEqual((SUCCESS, "Driver postgresql: channel reached."),
                         results["Event bus"])


class TestSyncedMySQL(SyncedTests, base.TestCase):
    FIXTURE = base.MySQLMigrated

    def test_postgresql_event_bus_on_mysql_fails(self):
        code, results = self.status(events={"driver": "postgresql"})
        self.assertEqual(FAILURE, code)
        self.assertEqual(FAILURE, results["Event bus"][0])


class TestUnsyncedSQLite(UnsyncedTests, base.TestCase):
    FIXTURE = base.SQLiteEmpty
    # The services create or upgrade the embedded database themselves.
    EXPECTED = WARNING


class TestUnsyncedPostgreSQL(UnsyncedTests, base.TestCase):
    FIXTURE = base.PostgreSQLEmpty


class TestUnsyncedMySQL(UnsyncedTests, base.TestCase):
    FIXTURE = base.MySQLEmpty
