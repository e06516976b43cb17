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


"""transition(): one guarded UPDATE plus its history row."""

from oslo_utils import uuidutils
import sqlalchemy as sa

from tests import db_fixture
from tests.unit.db import base
from vmstate import exception
from vmstate.db import api
from vmstate.db import models


class TestExpected(base.TestCase):

    def test_none_means_no_task(self):
        busy = self.create(task_state="rebooting")
        idle = self.create()
        for inst in (busy, idle):
            if inst is busy:
                self.assertRaises(exception.StateConflict, api.transition,
                                  self.ctx, inst["uuid"],
                                  {"vm_state": "stopped"},
                                  expected={"task_state": None})
            else:
                api.transition(self.ctx, inst["uuid"],
                               {"vm_state": "stopped"},
                               expected={"task_state": None})
        self.assertEqual("active",
                         api.instance_get(self.ctx, busy["uuid"])["vm_state"])
        self.assertEqual("stopped",
                         api.instance_get(self.ctx, idle["uuid"])["vm_state"])

    def test_absent_key_is_not_compared(self):
        inst = self.create(task_state="rebooting")
        after = api.transition(self.ctx, inst["uuid"], {"task_state": None},
                               expected={"vm_state": "active"})
        self.assertIsNone(after["task_state"])
        after = api.transition(self.ctx, inst["uuid"],
                               {"vm_state": "error"})
        self.assertEqual(("error", 3), (after["vm_state"],
                                        after["version"]))

    def test_version(self):
        inst = self.create()
        api.transition(self.ctx, inst["uuid"], {"power_state": 1},
                       expected={"version": 1})
        err = self.assertRaises(exception.StateConflict, api.transition,
                                self.ctx, inst["uuid"], {"power_state": 4},
                                expected={"version": 1})
        self.assertEqual({"version": 1}, err.expected)
        self.assertEqual(2, err.actual["version"])
        self.assertEqual(1, api.instance_get(self.ctx,
                                             inst["uuid"])["power_state"])

    def test_any_of_a_list(self):
        inst = self.create(task_state="rebooting")
        api.transition(self.ctx, inst["uuid"],
                       {"task_state": "reboot_started"},
                       expected={"task_state": ["rebooting",
                                                "reboot_pending"]})
        err = self.assertRaises(
            exception.StateConflict, api.transition, self.ctx, inst["uuid"],
            {"task_state": None},
            expected={"task_state": {None, "rebooting"}})
        self.assertEqual({"task_state": [None, "rebooting"]}, err.expected)
        api.transition(self.ctx, inst["uuid"], {"task_state": None},
                       expected={"task_state": (None, "reboot_started")})

    def test_conflict_reports_expected_and_actual(self):
        inst = self.create(vm_state="stopped")
        err = self.assertRaises(
            exception.StateConflict, api.transition, self.ctx, inst["uuid"],
            {"vm_state": "active"},
            expected={"vm_state": "active", "task_state": None})
        self.assertEqual(409, err.code)
        self.assertEqual({"vm_state": "active", "task_state": None},
                         err.expected)
        self.assertEqual({"vm_state": "stopped", "task_state": None,
                          "power_state": 0, "version": 1}, err.actual)
        body = err.fault_body()["conflictingRequest"]
        self.assertEqual(err.expected, body["expected"])
        self.assertEqual(err.actual, body["actual"])
        self.assertEqual(1, len(api.instance_events(self.ctx,
                                                    inst["uuid"])))

    def test_not_found_and_other_project(self):
        self.assertRaises(exception.InstanceNotFound, api.transition,
                          self.ctx, uuidutils.generate_uuid(),
                          {"vm_state": "active"})
        theirs = self.create(self.other)
        self.assertRaises(exception.InstanceNotFound, api.transition,
                          self.ctx, theirs["uuid"], {"vm_state": "error"},
                          expected={"vm_state": "active"})
        self.assertEqual("active", api.instance_get(
            self.admin, theirs["uuid"])["vm_state"])
        api.transition(self.admin, theirs["uuid"], {"vm_state": "error"})

    def test_invalid_arguments(self):
        inst = self.create()
        for values, expected in (
                ({}, None),
                ({"flavor": "x"}, None),
                ({"vm_state": None}, None),
                ({"task_state": ""}, None),
                ({"power_state": "on"}, None),
                ({"fault": "bad"}, None),
                ({"vm_state": "error"}, {"fault": None}),
                ({"vm_state": "error"}, {"uuid": "x"})):
            self.assertRaises(exception.Invalid, api.transition, self.ctx,
                              inst["uuid"], values, expected=expected)
        self.assertEqual(1, api.instance_get(self.ctx,
                                             inst["uuid"])["version"])


class TestChange(base.TestCase):

    def test_version_and_history(self):
        inst = self.create()
        after = api.transition(self.ctx, inst["uuid"],
                               {"vm_state": "stopped", "power_state": 4},
                               action="stop", reason="maintenance")
        self.assertEqual(2, after["version"])
        self.assertGreater(after["state_changed_at"],
                           inst["state_changed_at"])
        event = after["event"]
        self.assertEqual(
            {"version": 2, "action": "stop", "task_id": None,
             "from": {"vm_state": "active", "task_state": None,
                      "power_state": 0},
             "to": {"vm_state": "stopped", "task_state": None,
                    "power_state": 4},
             "reason": "maintenance", "request_id": self.ctx.request_id,
             "user_id": "u1", "project_id": "p1",
             "created_at": after["updated_at"]}, event)
        self.assertEqual(event, api.instance_events(self.ctx,
                                                    inst["uuid"])[-1])

    def test_previous_state_is_kept_on_the_row(self):
        inst = self.create(task_state="rebooting", power_state=1)
        api.transition(self.ctx, inst["uuid"],
                       {"vm_state": "error", "task_state": None,
                        "power_state": 6})
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(models.instances).where(
                models.instances.c.uuid == inst["uuid"])).one()
        self.assertEqual(("active", "rebooting", 1),
                         (row.prev_vm_state, row.prev_task_state,
                          row.prev_power_state))

    def test_task_bookkeeping(self):
        inst = self.create()
        started = api.transition(self.ctx, inst["uuid"],
                                 {"task_state": "rebooting"},
                                 action="reboot")
        self.assertTrue(uuidutils.is_uuid_like(started["task_id"]))
        self.assertEqual("reboot", started["task_action"])
        self.assertEqual(started["updated_at"], started["task_started_at"])
        moved = api.transition(self.ctx, inst["uuid"],
                               {"task_state": "reboot_started"},
                               action="report")
        self.assertEqual(started["task_id"], moved["task_id"])
        self.assertEqual("reboot", moved["task_action"])
        self.assertEqual(started["task_started_at"],
                         moved["task_started_at"])
        self.assertGreater(moved["task_heartbeat_at"],
                           started["task_heartbeat_at"])
        ended = api.transition(self.ctx, inst["uuid"], {"task_state": None})
        for key in ("task_id", "task_action", "task_started_at",
                    "task_heartbeat_at"):
            self.assertIsNone(ended[key], key)

    def test_fault(self):
        inst = self.create()
        fault = {"type": "Boom", "message": "disk on fire"}
        after = api.transition(self.ctx, inst["uuid"],
                               {"vm_state": "error", "fault": fault})
        self.assertEqual(fault, after["fault"])
        self.assertEqual(fault, api.instance_get(self.ctx,
                                                 inst["uuid"])["fault"])
        after = api.transition(self.ctx, inst["uuid"],
                               {"vm_state": "active", "fault": None})
        self.assertIsNone(after["fault"])
        self.assertEqual(after["state_changed_at"], after["updated_at"])


class TestStatements(base.TestCase):

    def test_two_statements_per_transition(self):
        inst = self.create()
        counter = self.count_statements()
        api.transition(self.ctx, inst["uuid"], {"vm_state": "stopped"},
                       expected={"vm_state": "active", "task_state": None})
        self.assertEqual(2, counter.count, counter.statements)
        self.assertTrue(counter.statements[0].startswith("UPDATE instances"))
        self.assertIn("RETURNING", counter.statements[0])
        self.assertTrue(counter.statements[1].startswith(
            "INSERT INTO instance_events"))

    def test_prev_state_is_assigned_first(self):
        # MySQL evaluates SET left to right: the copies must read the
        # state before it is overwritten.
        inst = self.create()
        counter = self.count_statements()
        api.transition(self.ctx, inst["uuid"], {"vm_state": "stopped",
                                                "task_state": "x"})
        update = counter.statements[0]
        self.assertLess(update.index("prev_vm_state="),
                        update.index(" vm_state="))
        self.assertLess(update.index("task_id=coalesce"),
                        update.index(" task_state="))
        self.assertLess(update.index("task_started_at=CASE"),
                        update.index("task_id=coalesce"))

    def test_a_miss_reads_once(self):
        inst = self.create()
        counter = self.count_statements()
        self.assertRaises(exception.StateConflict, api.transition, self.ctx,
                          inst["uuid"], {"vm_state": "stopped"},
                          expected={"vm_state": "paused"})
        self.assertEqual(2, counter.count, counter.statements)
        self.assertTrue(counter.statements[1].startswith("SELECT"))


class TestRetry(base.TestCase):

    def history(self, uuid):
        return [e["version"] for e in api.instance_events(self.admin, uuid)]

    def test_lost_commit_is_not_applied_twice(self):
        inst = self.create()
        failure = self.useFixture(db_fixture.FailOnce(
            self.db.engine, "disconnect", at="commit"))
        after = api.transition(self.ctx, inst["uuid"],
                               {"vm_state": "stopped"},
                               expected={"version": 1}, action="stop")
        self.assertEqual(1, failure.fired)
        # Retried without the version check failing against itself, and
        # answered from the committed history row.
        self.assertEqual(2, after["version"])
        self.assertEqual("stop", after["event"]["action"])
        self.assertEqual([1, 2], self.history(inst["uuid"]))
        self.assertEqual(2, api.instance_get(self.ctx,
                                             inst["uuid"])["version"])

    def test_unconditional_change_is_not_applied_twice(self):
        inst = self.create()
        failure = self.useFixture(db_fixture.FailOnce(
            self.db.engine, "disconnect", at="commit"))
        after = api.transition(self.ctx, inst["uuid"], {"power_state": 1})
        self.assertEqual(1, failure.fired)
        self.assertEqual(2, after["version"])
        self.assertEqual([1, 2], self.history(inst["uuid"]))

    def test_rolled_back_attempt_is_retried(self):
        inst = self.create()
        failure = self.useFixture(db_fixture.FailOnce(
            self.db.engine, "deadlock", at="history"))
        after = api.transition(self.ctx, inst["uuid"],
                               {"vm_state": "stopped"},
                               expected={"vm_state": "active"})
        self.assertEqual(1, failure.fired)
        self.assertEqual(2, after["version"])
        self.assertEqual([1, 2], self.history(inst["uuid"]))

    def test_lost_commit_of_create(self):
        failure = self.useFixture(db_fixture.FailOnce(
            self.db.engine, "disconnect", at="commit"))
        inst = api.instance_create(self.ctx, {})
        self.assertEqual(1, failure.fired)
        self.assertEqual(1, inst["version"])
        self.assertEqual([inst["uuid"]],
                         [i["uuid"] for i in api.instance_list(self.ctx)])
        self.assertEqual([1], self.history(inst["uuid"]))

    def test_lost_commit_of_begin_and_checkpoint(self):
        inst = api.instance_create(self.ctx, {})
        failure = self.useFixture(db_fixture.FailOnce(
            self.db.engine, "disconnect", at="commit"))
        after = api.checkpoint(self.ctx, inst["uuid"], inst["task_id"],
                               "scheduling", "networking")
        self.assertEqual(1, failure.fired)
        self.assertEqual((2, "networking"),
                         (after["version"], after["task_state"]))
        self.assertEqual([1, 2], self.history(inst["uuid"]))
