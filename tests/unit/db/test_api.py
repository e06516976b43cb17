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


"""Creating, reading, listing and history, with project scoping."""

from oslo_utils import uuidutils

from tests.unit.db import base
from vmstate import exception
from vmstate import states
from vmstate.db import api

KEYS = {"uuid", "project_id", "user_id", "vm_state", "task_state",
        "power_state", "version", "task_id", "task_action", "created_at",
        "updated_at", "state_changed_at", "task_started_at",
        "task_heartbeat_at", "fault"}


class TestCreate(base.TestCase):

    def test_defaults_start_the_build_task(self):
        inst = api.instance_create(self.ctx, {})
        self.assertTrue(uuidutils.is_uuid_like(inst["uuid"]))
        self.assertEqual(("building", "scheduling", 0, 1),
                         (inst["vm_state"], inst["task_state"],
                          inst["power_state"], inst["version"]))
        self.assertEqual(("p1", "u1"), (inst["project_id"], inst["user_id"]))
        self.assertTrue(uuidutils.is_uuid_like(inst["task_id"]))
        self.assertEqual("create", inst["task_action"])
        self.assertIsNotNone(inst["task_started_at"])
        self.assertEqual(inst, dict(api.instance_get(self.ctx, inst["uuid"]),
                                    event=inst["event"]))
        self.assertEqual(KEYS | {"event"}, set(inst))

    def test_first_history_row(self):
        inst = api.instance_create(self.ctx, {})
        events = api.instance_events(self.ctx, inst["uuid"])
        self.assertEqual([inst["event"]], events)
        event = events[0]
        self.assertEqual((1, "create"), (event["version"], event["action"]))
        self.assertEqual({"vm_state": None, "task_state": None,
                          "power_state": None}, event["from"])
        self.assertEqual({"vm_state": "building",
                          "task_state": "scheduling", "power_state": 0},
                         event["to"])
        self.assertEqual(self.ctx.request_id, event["request_id"])
        self.assertEqual("u1", event["user_id"])

    def test_explicit_values_and_no_task(self):
        uuid = uuidutils.generate_uuid()
        inst = api.instance_create(self.admin, {
            "uuid": uuid, "project_id": "p9", "user_id": "u9",
            "vm_state": "active", "task_state": None, "power_state": 1})
        self.assertEqual((uuid, "p9", "u9", "active", None, 1),
                         (inst["uuid"], inst["project_id"], inst["user_id"],
                          inst["vm_state"], inst["task_state"],
                          inst["power_state"]))
        self.assertIsNone(inst["task_id"])
        self.assertIsNone(inst["task_action"])
        self.assertIsNone(inst["task_started_at"])

    def test_duplicate_uuid_is_a_conflict(self):
        inst = self.create()
        err = self.assertRaises(exception.Conflict, api.instance_create,
                                self.ctx, {"uuid": inst["uuid"]})
        self.assertEqual(409, err.code)
        self.assertIn(inst["uuid"], err.message)
        self.assertNotIsInstance(err, exception.StateConflict)
        self.assertEqual(1, len(api.instance_events(self.ctx, inst["uuid"])))

    def test_project_is_the_callers_choice(self):
        # Policy (in the API) decides who may name another project; the
        # store records it, and scoping then applies to reads.
        inst = api.instance_create(self.ctx, {"project_id": "p2"})
        self.assertEqual(("p2", "u1"), (inst["project_id"],
                                        inst["user_id"]))
        self.assertRaises(exception.InstanceNotFound, api.instance_get,
                          self.ctx, inst["uuid"])
        api.instance_get(self.other, inst["uuid"])

    def test_invalid_values(self):
        for values in ({"color": "red"}, {"vm_state": None},
                       {"vm_state": ""}, {"task_state": 5},
                       {"power_state": "1"}, {"power_state": True}):
            self.assertRaises(exception.Invalid, api.instance_create,
                              self.ctx, values)
        self.assertEqual([], api.instance_list(self.admin))


class TestGet(base.TestCase):

    def test_missing(self):
        uuid = uuidutils.generate_uuid()
        err = self.assertRaises(exception.InstanceNotFound, api.instance_get,
                                self.ctx, uuid)
        self.assertEqual(404, err.code)

    def test_another_projects_instance_is_not_found(self):
        inst = self.create(self.other)
        self.assertRaises(exception.InstanceNotFound, api.instance_get,
                          self.ctx, inst["uuid"])
        self.assertRaises(exception.InstanceNotFound, api.instance_events,
                          self.ctx, inst["uuid"])
        self.assertEqual(inst["uuid"],
                         api.instance_get(self.admin, inst["uuid"])["uuid"])
        self.assertEqual(inst["uuid"],
                         api.instance_get(self.other, inst["uuid"])["uuid"])


class TestList(base.TestCase):

    def setUp(self):
        super().setUp()
        self.mine = [self.create(vm_state=vm, task_state=task)["uuid"]
                     for vm, task in [("active", None),
                                      ("active", "rebooting"),
                                      ("stopped", None),
                                      ("error", None),
                                      ("building", "scheduling")]]
        self.theirs = [self.create(self.other)["uuid"] for _ in range(2)]

    def uuids(self, ctx, **kw):
        return [i["uuid"] for i in api.instance_list(ctx, **kw)]

    def test_project_scoping(self):
        self.assertEqual(self.mine, self.uuids(self.ctx))
        self.assertEqual(self.theirs, self.uuids(self.other))
        self.assertEqual(self.mine + self.theirs, self.uuids(self.admin))

    def test_project_filter(self):
        self.assertEqual(self.theirs, self.uuids(
            self.admin, filters={"project_id": "p2"}))
        # A member's own project always applies.
        self.assertEqual([], self.uuids(
            self.ctx, filters={"project_id": "p2"}))

    def test_state_filters(self):
        self.assertEqual(self.mine[:2], self.uuids(
            self.ctx, filters={"vm_state": "active"}))
        self.assertEqual([self.mine[0]], self.uuids(
            self.ctx, filters={"vm_state": "active", "task_state": None}))
        self.assertEqual([self.mine[0], self.mine[2], self.mine[3]],
                         self.uuids(self.ctx, filters={"task_state": None}))
        self.assertEqual([self.mine[1], self.mine[4]], self.uuids(
            self.ctx, filters={"task_state": ["rebooting", "scheduling"]}))
        self.assertEqual([self.mine[0], self.mine[1], self.mine[2]],
                         self.uuids(self.ctx, filters={
                             "task_state": [None, "rebooting"],
                             "vm_state": ["active", "stopped"]}))
        self.assertEqual([], self.uuids(self.ctx,
                                        filters={"vm_state": "deleted"}))

    def test_pages_cover_everything_once(self):
        for key in ("created_at", "uuid", "vm_state", "updated_at"):
            for direction in ("asc", "desc"):
                seen, marker = [], None
                while True:
                    page = self.uuids(self.admin, limit=3, marker=marker,
                                      sort_key=key, sort_dir=direction)
                    self.assertLessEqual(len(page), 3)
                    seen += page
                    if len(page) < 3:
                        break
                    marker = page[-1]
                self.assertEqual(sorted(self.mine + self.theirs),
                                 sorted(seen), (key, direction))
                self.assertEqual(len(seen), len(set(seen)))
                full = self.uuids(self.admin, sort_key=key,
                                  sort_dir=direction)
                self.assertEqual(full, seen, (key, direction))

    def test_sort_direction(self):
        self.assertEqual(list(reversed(self.mine)),
                         self.uuids(self.ctx, sort_dir="desc"))
        self.assertEqual(sorted(self.mine),
                         self.uuids(self.ctx, sort_key="uuid"))

    def test_limit(self):
        self.assertEqual([], self.uuids(self.ctx, limit=0))
        self.assertEqual(self.mine[:2], self.uuids(self.ctx, limit=2))

    def test_marker_must_be_visible(self):
        self.assertEqual(self.mine[2:], self.uuids(self.ctx,
                                                   marker=self.mine[1]))
        for marker in (uuidutils.generate_uuid(), self.theirs[0]):
            err = self.assertRaises(exception.Invalid, api.instance_list,
                                    self.ctx, marker=marker)
            self.assertIn("marker not found", err.message)
            self.assertEqual(400, err.code)

    def test_invalid_arguments(self):
        for kw in ({"filters": {"flavor": "m1"}}, {"sort_key": "fault"},
                   {"sort_dir": "up"}, {"limit": -1}, {"limit": "3"},
                   {"limit": True}):
            self.assertRaises(exception.Invalid, api.instance_list,
                              self.ctx, **kw)


class TestEvents(base.TestCase):

    def test_oldest_first_and_since(self):
        inst = self.create()
        uuid = inst["uuid"]
        api.transition(self.ctx, uuid, {"vm_state": states.STOPPED},
                       action="stop", reason="user asked")
        api.transition(self.ctx, uuid, {"vm_state": states.ACTIVE},
                       action="start")
        events = api.instance_events(self.ctx, uuid)
        self.assertEqual([1, 2, 3], [e["version"] for e in events])
        self.assertEqual(["create", "stop", "start"],
                         [e["action"] for e in events])
        self.assertEqual("user asked", events[1]["reason"])
        self.assertEqual(events[1]["to"], events[2]["from"])
        self.assertEqual(events[1:], api.instance_events(self.ctx, uuid,
                                                         since=1))
        self.assertEqual([], api.instance_events(self.ctx, uuid, since=3))
        for since in (-1, "1", True):
            self.assertRaises(exception.Invalid, api.instance_events,
                              self.ctx, uuid, since=since)

    def test_missing_instance(self):
        self.assertRaises(exception.InstanceNotFound, api.instance_events,
                          self.ctx, uuidutils.generate_uuid())
