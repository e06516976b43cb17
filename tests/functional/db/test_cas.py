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


"""One compare-and-swap suite, run on SQLite, PostgreSQL and MariaDB."""

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from tests import db_fixture
from tests.functional.db import base
from vmstate import exception
from vmstate import lifecycle
from vmstate.db import api
from vmstate.db import conditions
from vmstate.db import models
from vmstate.matrix import loader


class CASTests:
    """The semantics every backend must give exactly the same way."""

    def test_expected_none_is_no_task(self):
        busy = self.create(task_state="rebooting")
        idle = self.create()
        self.assertRaises(exception.StateConflict, api.transition, self.ctx,
                          busy["uuid"], {"vm_state": "stopped"},
                          expected={"task_state": None})
        after = api.transition(self.ctx, idle["uuid"],
                               {"vm_state": "stopped"},
                               expected={"task_state": None})
        self.assertEqual(("stopped", 2), (after["vm_state"],
                                          after["version"]))
        after = api.transition(self.ctx, busy["uuid"], {"task_state": None},
                               expected={"task_state": [None, "rebooting"]})
        self.assertIsNone(after["task_state"])

    def test_conflict_reports_expected_and_actual(self):
        inst = self.create(vm_state="stopped")
        err = self.assertRaises(exception.StateConflict, api.transition,
                                self.ctx, inst["uuid"],
                                {"vm_state": "active"},
                                expected={"vm_state": "active",
                                          "version": 1})
        self.assertEqual({"vm_state": "active", "version": 1}, err.expected)
        self.assertEqual({"vm_state": "stopped", "task_state": None,
                          "power_state": 0, "version": 1}, err.actual)
        api.transition(self.ctx, inst["uuid"], {"vm_state": "active"},
                       expected={"vm_state": "stopped", "version": 1})
        self.assertRaises(exception.StateConflict, api.transition, self.ctx,
                          inst["uuid"], {"vm_state": "error"},
                          expected={"version": 1})

    def test_scoping_and_not_found(self):
        theirs = self.create(self.other)
        for call in (
                lambda: api.instance_get(self.ctx, theirs["uuid"]),
                lambda: api.transition(self.ctx, theirs["uuid"],
                                       {"vm_state": "error"}),
                lambda: lifecycle.begin(self.ctx, theirs["uuid"], "delete"),
                lambda: api.instance_events(self.ctx, theirs["uuid"]),
                lambda: api.transition(self.ctx, uuidutils.generate_uuid(),
                                       {"vm_state": "error"})):
            self.assertRaises(exception.InstanceNotFound, call)
        self.assertEqual([], api.instance_list(self.ctx))
        self.assertEqual(1, api.instance_get(self.admin,
                                             theirs["uuid"])["version"])

    def test_duplicate_uuid(self):
        inst = self.create()
        self.assertRaises(exception.Conflict, api.instance_create, self.ctx,
                          {"uuid": inst["uuid"]})

    def test_every_action_admits_exactly_its_cells(self):
        matrix = loader.load(["nova"])
        now = timeutils.utcnow()
        cells, rows = {}, []
        for vm in (*matrix.vm_states, "zombie"):
            for task in (None, *matrix.task_states, "frobnicating"):
                uuid = uuidutils.generate_uuid()
                cells[uuid] = (vm, task)
                rows.append({"uuid": uuid, "vm_state": vm,
                             "task_state": task, "power_state": 0,
                             "version": 1, "state_changed_at": now,
                             "created_at": now, "updated_at": now})
        with self.engine.begin() as conn:
            conn.execute(sa.insert(models.instances), rows)
            for action in matrix.actions:
                cond = conditions.condition(
                    lifecycle.allowed_cells(matrix, action))
                stmt = sa.select(models.instances.c.uuid)
                if cond is not None:
                    stmt = stmt.where(cond)
                found = {row.uuid for row in conn.execute(stmt)}
                wanted = {u for u, (vm, task) in cells.items()
                          if matrix.is_allowed(action, vm, task)}
                self.assertEqual(wanted, found, action)

    def test_begin_checkpoint_finish(self):
        uuid = api.instance_create(self.ctx, {})["uuid"]
        build = lifecycle.adopt(self.ctx, uuid)
        build.checkpoint("networking")
        build.checkpoint()
        build.checkpoint("spawning")
        after = build.finish(power_state=1)
        self.assertEqual(("active", None, None, 4),
                         (after["vm_state"], after["task_state"],
                          after["task_id"], after["version"]))
        reboot = lifecycle.begin(self.ctx, uuid, "reboot")
        err = self.assertRaises(exception.InstanceInvalidState,
                                lifecycle.begin, self.ctx, uuid, "stop")
        self.assertEqual("Cannot 'stop' instance %s while it is in "
                         "task_state rebooting" % uuid, err.message)
        lifecycle.begin(self.ctx, uuid, "delete")
        aborted = self.assertRaises(exception.TaskAborted,
                                    reboot.checkpoint)
        self.assertEqual("deleting", aborted.actual["task_state"])
        events = api.instance_events(self.ctx, uuid)
        self.assertEqual(list(range(1, 7)), [e["version"] for e in events])
        self.assertEqual(["create"] * 4 + ["reboot", "delete"],
                         [e["action"] for e in events])
        for before, after in zip(events, events[1:], strict=False):
            self.assertEqual(before["to"], after["from"])

    def test_times_keep_microseconds(self):
        uuid = api.instance_create(self.ctx, {})["uuid"]
        first = api.instance_get(self.ctx, uuid)
        beat = api.checkpoint(self.ctx, uuid, first["task_id"], "scheduling")
        self.assertEqual(beat["task_heartbeat_at"],
                         api.instance_get(self.ctx,
                                          uuid)["task_heartbeat_at"])
        self.assertGreater(beat["task_heartbeat_at"],
                           first["task_heartbeat_at"])
        self.assertLess(beat["task_heartbeat_at"] -
                        first["task_heartbeat_at"],
                        timeutils.utcnow() - first["created_at"])

    def test_fault_round_trip(self):
        uuid = self.create()["uuid"]
        with self.assertRaisesRegex(RuntimeError, "ünïcode"):
            with lifecycle.begin(self.ctx, uuid, "stop"):
                raise RuntimeError("ünïcode fault")
        fault = api.instance_get(self.ctx, uuid)["fault"]
        self.assertEqual(("RuntimeError", "ünïcode fault"),
                         (fault["type"], fault["message"]))

    def test_statements_per_transition(self):
        inst = self.create()
        counter = self.count_statements()
        api.transition(self.ctx, inst["uuid"], {"vm_state": "stopped"},
                       expected={"vm_state": "active"})
        lifecycle.begin(self.ctx, inst["uuid"], "start")
        # UPDATE .. RETURNING and the history INSERT; MariaDB has no
        # UPDATE .. RETURNING and reads the row back under its lock.
        per = 2 if self.engine.dialect.update_returning else 3
        self.assertEqual(2 * per, counter.count, counter.statements)

    def test_list_pages(self):
        uuids = [self.create()["uuid"] for _ in range(5)]
        page = api.instance_list(self.ctx, limit=2)
        self.assertEqual(uuids[:2], [i["uuid"] for i in page])
        page = api.instance_list(self.ctx, limit=2, marker=uuids[1])
        self.assertEqual(uuids[2:4], [i["uuid"] for i in page])
        page = api.instance_list(self.ctx, marker=uuids[4])
        self.assertEqual([], page)
        self.assertRaises(exception.Invalid, api.instance_list, self.ctx,
                          marker=uuidutils.generate_uuid())

    def test_lost_commit_applied_once(self):
        inst = self.create()
        failure = self.useFixture(db_fixture.FailOnce(
            self.engine, "disconnect", at="commit"))
        after = api.transition(self.ctx, inst["uuid"],
                               {"vm_state": "stopped"},
                               expected={"version": 1})
        self.assertEqual((1, 2), (failure.fired, after["version"]))
        self.assertEqual([1, 2], [e["version"] for e in
                                  api.instance_events(self.ctx,
                                                      inst["uuid"])])

    def test_deadlock_retried_once(self):
        inst = self.create()
        failure = self.useFixture(db_fixture.FailOnce(
            self.engine, "deadlock", at="history"))
        task = lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        self.assertEqual((1, 2), (failure.fired, task.instance["version"]))
        self.assertEqual([1, 2], [e["version"] for e in
                                  api.instance_events(self.ctx,
                                                      inst["uuid"])])


class TestCASSQLite(CASTests, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestCASPostgreSQL(CASTests, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestCASMySQL(CASTests, base.TestCase):
    FIXTURE = base.MySQLMigrated
