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
from vmstate.db import api
from vmstate.db import queue as db_queue


def _add(instance, queue):
    return db_queue.Plan(add=True)


class _WithQueue:

    def test_idle_queue_is_empty_and_instance_as_instance_get(self):
        inst = self.create()
        counter = self.count_statements()
        found = db_queue.instance_with_queue(self.ctx, inst["uuid"])
        self.assertEqual(1, counter.count, counter.statements)
        self.assertEqual([], found.pop("queue"))
        self.assertEqual(api.instance_get(self.ctx, inst["uuid"]), found)

    def test_entries_oldest_first(self):
        inst = self.create(task_state="rebooting")
        for action in ("stop", "start", "reboot"):
            db_queue.push(self.ctx, inst["uuid"], action, "r-" + action,
                          _add)
        counter = self.count_statements()
        found = db_queue.instance_with_queue(self.ctx, inst["uuid"])
        self.assertEqual(1, counter.count, counter.statements)
        self.assertEqual(["stop", "start", "reboot"],
                         [e["action"] for e in found["queue"]])
        self.assertEqual(
            db_queue.entries(self.ctx, [inst["uuid"]])[inst["uuid"]],
            found["queue"])
        self.assertEqual("rebooting", found["task_state"])

    def test_other_project_is_not_found(self):
        inst = self.create()
        self.assertRaises(exception.InstanceNotFound,
                          db_queue.instance_with_queue, self.other,
                          inst["uuid"])
        self.assertEqual(inst["uuid"], db_queue.instance_with_queue(
            self.admin, inst["uuid"])["uuid"])


class TestWithQueueSQLite(_WithQueue, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestWithQueuePostgreSQL(_WithQueue, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestWithQueueMySQL(_WithQueue, base.TestCase):
    FIXTURE = base.MySQLMigrated
