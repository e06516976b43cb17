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

"""``vmstate-manage db purge``: instances deleted before a date go, with
every row that refers to them; nothing else does. On every backend."""

import datetime
import io
import os

import fixtures
import sqlalchemy as sa

from tests.functional.db import base
from vmstate import exception
from vmstate.cmd import manage
from vmstate.db import api
from vmstate.db import models
from vmstate.db import purge

NOW = datetime.datetime(2026, 6, 1, 12, 0, 0)


class _Purge:

    def instance(self, vm_state, changed_days_ago, project="p1"):
        """An instance in ``vm_state`` since ``changed_days_ago`` days,
        with three history rows and a failure count."""
        uuid = self.create(vm_state="active")["uuid"]
        api.transition(self.admin, uuid, {"power_state": 4},
                       expected={"task_state": None})
        if vm_state != "active":
            api.transition(self.admin, uuid, {"vm_state": vm_state},
                           expected={"vm_state": "active"},
                           action="delete")
        with self.engine.begin() as conn:
            conn.execute(sa.update(models.instances).where(
                models.instances.c.uuid == uuid).values(
                    state_changed_at=NOW - datetime.timedelta(
                        days=changed_days_ago)))
            conn.execute(sa.insert(models.instance_failures).values(
                instance_uuid=uuid, task_state="spawning", count=1,
                last_version=1, created_at=NOW, updated_at=NOW))
        return uuid

    def rows(self, uuid):
        """Rows referring to ``uuid``, per table."""
        with self.engine.connect() as conn:
            counts = {"instances": conn.execute(
                sa.select(sa.func.count()).select_from(models.instances)
                .where(models.instances.c.uuid == uuid)).scalar()}
            for table, column in purge._dependents():
                counts[table.name] = conn.execute(
                    sa.select(sa.func.count()).select_from(table)
                    .where(column == uuid)).scalar()
        return counts

    def test_only_instances_deleted_before_the_date(self):
        old_deleted = self.instance("deleted", 40)
        new_deleted = self.instance("deleted", 5)
        old_active = self.instance("active", 40)
        old_soft = self.instance("soft-delete", 40)
        before = NOW - datetime.timedelta(days=30)
        self.assertEqual(1, purge.purge_deleted(self.admin, before))
        rows = self.rows(old_deleted)
        self.assertTrue({"instances", "instance_events",
                         "instance_failures"} <= set(rows), rows)
        self.assertEqual({0}, set(rows.values()), rows)
        for kept in (new_deleted, old_active, old_soft):
            rows = self.rows(kept)
            self.assertEqual(1, rows["instances"], kept)
            self.assertGreaterEqual(rows["instance_events"], 2, kept)
            self.assertEqual(1, rows["instance_failures"], kept)
        self.assertRaises(exception.InstanceNotFound, api.instance_get,
                          self.admin, old_deleted)
        # Nothing left to purge.
        self.assertEqual(0, purge.purge_deleted(self.admin, before))

    def test_in_batches(self):
        uuids = [self.instance("deleted", 40) for _ in range(7)]
        before = NOW - datetime.timedelta(days=30)
        self.assertEqual(3, purge.purge_deleted(self.admin, before,
                                                batch_size=3,
                                                max_batches=1))
        self.assertEqual(4, purge.purge_deleted(self.admin, before,
                                                batch_size=3))
        self.assertEqual([0] * 7,
                         [self.rows(u)["instances"] for u in uuids])

    def test_command(self):
        gone = self.instance("deleted", 40)
        kept = self.instance("deleted", 5)
        tmp = self.useFixture(fixtures.TempDir()).path
        config = os.path.join(tmp, "vmstate.conf")
        with open(config, "w") as f:
            f.write("[database]\nconnection = %s\n" % self.url)

        def run(*args):
            out, err = io.StringIO(), io.StringIO()
            with fixtures.MonkeyPatch("sys.stdout", out), \
                    fixtures.MonkeyPatch("sys.stderr", err):
                code = manage.main(["--config-file", config, "db", "purge",
                                    *args])
            return code, out.getvalue(), err.getvalue()

        code, out, err = run("--before", "2026-05-02", "--batch-size", "1")
        self.assertEqual((0, ""), (code, err))
        self.assertEqual("purged 1 instance(s) deleted before "
                         "2026-05-02T00:00:00\n", out)
        self.assertEqual(0, self.rows(gone)["instances"])
        self.assertEqual(1, self.rows(kept)["instances"])
        for args, words in ((("--before", "yesterday"), "--before"),
                            (("--before", "2026-13-45"), "--before"),
                            (("--before", "2026-01-01", "--batch-size",
                              "0"), "--batch-size")):
            code, out, err = run(*args)
            self.assertEqual(1, code, err)
            self.assertEqual(1, len(err.splitlines()), err)
            self.assertIn(words, err)


class TestPurgeSQLite(_Purge, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestPurgePostgreSQL(_Purge, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestPurgeMySQL(_Purge, base.TestCase):
    FIXTURE = base.MySQLMigrated
