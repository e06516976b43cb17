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

"""An instance and its queue in one statement, on every backend."""

from tests.functional.db import base
from vmstate import exception
from vmstate.db import action_queue
from vmstate.db import api


def _add(instance, queue):
    return action_queue.Plan(add=True)


class _WithQueue:

    def test_idle_queue_is_empty_and_instance_as_instance_get(self):
        inst = self.create()
        counter = self.count_statements()
        found = action_queue.instance_with_queue(self.ctx, inst["uuid"])
        self.assertEqual(1, counter.count, counter.statements)
        self.assertEqual([], found.pop("queue"))
        self.assertEqual(api.instance_get(self.ctx, inst["uuid"],
                                          with_launched=True), found)

    def test_entries_oldest_first(self):
        inst = self.create(task_state="rebooting")
        for action in ("stop", "start", "reboot"):
            action_queue.push(self.ctx, inst["uuid"], action, "r-" + action,
                              _add)
        counter = self.count_statements()
        found = action_queue.instance_with_queue(self.ctx, inst["uuid"])
        self.assertEqual(1, counter.count, counter.statements)
        self.assertEqual(["stop", "start", "reboot"],
                         [e["action"] for e in found["queue"]])
        self.assertEqual(
            action_queue.entries(self.ctx, [inst["uuid"]])[inst["uuid"]],
            found["queue"])
        self.assertEqual("rebooting", found["task_state"])

    def test_other_project_is_not_found(self):
        inst = self.create()
        self.assertRaises(exception.InstanceNotFound,
                          action_queue.instance_with_queue, self.other,
                          inst["uuid"])
        self.assertEqual(inst["uuid"], action_queue.instance_with_queue(
            self.admin, inst["uuid"])["uuid"])


    def test_a_page_with_its_queues_is_one_statement(self):
        uuids = [self.create()["uuid"] for _ in range(5)]
        self.create(self.other)
        busy = uuids[3]
        api.transition(self.admin, busy, {"task_state": "rebooting"})
        for action in ("stop", "start"):
            action_queue.push(self.ctx, busy, action, None, _add)
        seen, marker = [], None
        while True:
            counter = self.count_statements()
            page = action_queue.instances_with_queues(self.ctx, limit=2,
                                                      marker=marker)
            if not page:
                # An empty page after a marker also checks the marker.
                self.assertEqual(2, counter.count, counter.statements)
                break
            self.assertEqual(1, counter.count, counter.statements)
            seen += page
            marker = page[-1]["uuid"]
            if len(page) < 2:
                break
        # Every instance of the project once, in creation order, as
        # instance_list pages them, each with its own queue.
        self.assertEqual(uuids, [i["uuid"] for i in seen])
        self.assertEqual(
            [i for i in api.instance_list(self.ctx)],
            [{k: v for k, v in i.items() if k not in ("queue", "launched")}
             for i in seen])
        self.assertEqual([True] * 5, [i["launched"] for i in seen])
        self.assertEqual(
            {u: ["stop", "start"] if u == busy else [] for u in uuids},
            {i["uuid"]: [e["action"] for e in i["queue"]] for i in seen})

    def test_a_page_filters_and_refuses_an_unseen_marker(self):
        mine = self.create()
        theirs = self.create(self.other)
        stopped = self.create(vm_state="stopped")
        page = action_queue.instances_with_queues(
            self.ctx, filters={"vm_state": "stopped"})
        self.assertEqual([stopped["uuid"]], [i["uuid"] for i in page])
        self.assertRaises(exception.Invalid,
                          action_queue.instances_with_queues,
                          self.ctx, marker=theirs["uuid"])
        self.assertRaises(exception.Invalid, api.instance_list,
                          self.ctx, marker=theirs["uuid"])
        # An admin sees every project and may page after any instance.
        after = action_queue.instances_with_queues(self.admin,
                                                   marker=mine["uuid"])
        self.assertEqual([theirs["uuid"], stopped["uuid"]],
                         [i["uuid"] for i in after])


class TestWithQueueSQLite(_WithQueue, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestWithQueuePostgreSQL(_WithQueue, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestWithQueueMySQL(_WithQueue, base.TestCase):
    FIXTURE = base.MySQLMigrated
