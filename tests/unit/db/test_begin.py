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


"""begin() and checkpoint(): starting and proving tasks, in one statement."""

from oslo_utils import uuidutils

from tests.unit.db import base
from vmstate import exception
from vmstate import states
from vmstate.db import api
from vmstate.db.conditions import OTHER
from vmstate.db.conditions import AllowedCells

VM = frozenset(states.VM_STATES)
TASKS = frozenset(states.TASK_STATES)
ACTIVE_IDLE = AllowedCells.of({"active": [None]}, VM, TASKS)
ANYWHERE = AllowedCells.of({vm: [None, OTHER, *TASKS]
                            for vm in (*VM, OTHER)}, VM, TASKS)


class TestBegin(base.TestCase):

    def test_starts_the_task(self):
        inst = self.create()
        after = api.begin(self.ctx, inst["uuid"], "reboot", ACTIVE_IDLE,
                          "rebooting", reason="user")
        self.assertEqual(("active", "rebooting", 2),
                         (after["vm_state"], after["task_state"],
                          after["version"]))
        self.assertTrue(uuidutils.is_uuid_like(after["task_id"]))
        self.assertEqual("reboot", after["task_action"])
        self.assertEqual(after["updated_at"], after["task_started_at"])
        self.assertEqual(after["updated_at"], after["task_heartbeat_at"])
        event = api.instance_events(self.ctx, inst["uuid"])[-1]
        self.assertEqual(after["event"], event)
        self.assertEqual(("reboot", "user", None, "rebooting"),
                         (event["action"], event["reason"],
                          event["from"]["task_state"],
                          event["to"]["task_state"]))

    def test_refused_cell_reports_actual(self):
        inst = self.create(vm_state="stopped")
        err = self.assertRaises(exception.StateConflict, api.begin,
                                self.ctx, inst["uuid"], "reboot",
                                ACTIVE_IDLE, "rebooting")
        self.assertEqual({"action": "reboot"}, err.expected)
        self.assertEqual(("stopped", None, 1),
                         (err.actual["vm_state"], err.actual["task_state"],
                          err.actual["version"]))
        self.assertEqual(1, api.instance_get(self.ctx,
                                             inst["uuid"])["version"])

    def test_not_found_and_other_project(self):
        self.assertRaises(exception.InstanceNotFound, api.begin, self.ctx,
                          uuidutils.generate_uuid(), "delete", ANYWHERE,
                          "deleting")
        theirs = self.create(self.other)
        self.assertRaises(exception.InstanceNotFound, api.begin, self.ctx,
                          theirs["uuid"], "delete", ANYWHERE, "deleting")
        self.assertEqual(1, api.instance_get(self.admin,
                                             theirs["uuid"])["version"])

    def test_a_new_task_preempts_the_running_one(self):
        inst = self.create()
        reboot = api.begin(self.ctx, inst["uuid"], "reboot", ACTIVE_IDLE,
                           "rebooting")
        delete = api.begin(self.ctx, inst["uuid"], "delete", ANYWHERE,
                           "deleting")
        self.assertNotEqual(reboot["task_id"], delete["task_id"])
        self.assertEqual("delete", delete["task_action"])
        self.assertRaises(exception.TaskAborted, api.checkpoint, self.ctx,
                          inst["uuid"], reboot["task_id"], "rebooting")

    def test_action_without_task_records_only(self):
        inst = self.create(task_state="migrating")
        running = api.instance_get(self.ctx, inst["uuid"])
        allowed = AllowedCells.of({"active": ["migrating"]}, VM, TASKS)
        after = api.begin(self.ctx, inst["uuid"], "live_migrate_abort",
                          allowed, None)
        self.assertEqual(2, after["version"])
        for key in ("task_state", "task_id", "task_action",
                    "task_started_at", "state_changed_at"):
            self.assertEqual(running[key], after[key], key)
        event = after["event"]
        self.assertEqual("live_migrate_abort", event["action"])
        self.assertEqual(event["from"], event["to"])

    def test_never_allowed(self):
        inst = self.create()
        nowhere = AllowedCells.of({}, VM, TASKS)
        self.assertRaises(exception.StateConflict, api.begin, self.ctx,
                          inst["uuid"], "nothing", nowhere, None)

    def test_two_statements(self):
        inst = self.create()
        counter = self.count_statements()
        api.begin(self.ctx, inst["uuid"], "reboot", ACTIVE_IDLE, "rebooting")
        self.assertEqual(2, counter.count, counter.statements)


class TestCheckpoint(base.TestCase):

    def setUp(self):
        super().setUp()
        self.inst = api.instance_create(self.ctx, {})
        self.uuid = self.inst["uuid"]
        self.task_id = self.inst["task_id"]

    def test_heartbeat_is_not_a_transition(self):
        counter = self.count_statements()
        after = api.checkpoint(self.ctx, self.uuid, self.task_id,
                               "scheduling")
        self.assertEqual(1, counter.count, counter.statements)
        self.assertIsNone(after["event"])
        self.assertEqual(1, after["version"])
        self.assertEqual(self.inst["updated_at"], after["updated_at"])
        self.assertGreater(after["task_heartbeat_at"],
                           self.inst["task_heartbeat_at"])
        self.assertEqual(1, len(api.instance_events(self.ctx, self.uuid)))

    def test_advance_is_a_transition(self):
        after = api.checkpoint(self.ctx, self.uuid, self.task_id,
                               "scheduling", "networking")
        self.assertEqual((2, "networking", self.task_id),
                         (after["version"], after["task_state"],
                          after["task_id"]))
        self.assertEqual(self.inst["task_started_at"],
                         after["task_started_at"])
        event = api.instance_events(self.ctx, self.uuid)[-1]
        self.assertEqual(("create", "scheduling", "networking"),
                         (event["action"], event["from"]["task_state"],
                          event["to"]["task_state"]))

    def test_wrong_task_state_or_id_aborts(self):
        api.checkpoint(self.ctx, self.uuid, self.task_id, "scheduling",
                       "networking")
        err = self.assertRaises(exception.TaskAborted, api.checkpoint,
                                self.ctx, self.uuid, self.task_id,
                                "scheduling", action="create")
        self.assertEqual({"task_id": self.task_id,
                          "task_state": "scheduling"}, err.expected)
        self.assertEqual("networking", err.actual["task_state"])
        self.assertEqual(409, err.code)
        self.assertIn("create", err.message)
        self.assertRaises(exception.TaskAborted, api.checkpoint, self.ctx,
                          self.uuid, uuidutils.generate_uuid(),
                          "networking")

    def test_ended_task_aborts(self):
        api.transition(self.ctx, self.uuid, {"vm_state": "active",
                                             "task_state": None})
        err = self.assertRaises(exception.TaskAborted, api.checkpoint,
                                self.ctx, self.uuid, self.task_id,
                                "scheduling")
        self.assertIsNone(err.actual["task_id"])

    def test_not_found_and_other_project(self):
        self.assertRaises(exception.InstanceNotFound, api.checkpoint,
                          self.other, self.uuid, self.task_id, "scheduling")
        self.assertRaises(exception.InstanceNotFound, api.checkpoint,
                          self.ctx, uuidutils.generate_uuid(),
                          self.task_id, "scheduling")

    def test_invalid_arguments(self):
        for args in ((None, "scheduling"), (self.task_id, None),
                     (self.task_id, "scheduling", "")):
            self.assertRaises(exception.Invalid, api.checkpoint, self.ctx,
                              self.uuid, *args)
