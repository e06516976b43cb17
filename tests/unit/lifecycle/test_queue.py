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


"""Queued actions on the state store: queued when busy, started in order
when the task ends (by the engine or the sweeper), each once."""

import threading

from tests import concurrency
from tests import lifecycle_fixtures
from tests.unit.db import base
from vmstate import exception
from vmstate import lifecycle
from vmstate.db import action_queue
from vmstate.db import api
from vmstate.lifecycle import queue
from vmstate.lifecycle import sweeper


class QueueTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.inst = self.create()
        self.uuid = self.inst["uuid"]

    def queued(self):
        return [e["action"] for e in
                action_queue.entries(self.admin, [self.uuid])[self.uuid]]

    def actions(self, since=1):
        return [(e["action"], e["to"]["task_state"]) for e in
                api.instance_events(self.admin, self.uuid, since=since)]

    def request(self, action, ctx=None, **kw):
        kw.setdefault("queue", True)
        return queue.request(ctx or self.ctx, self.uuid, action, **kw)

    def finish_running(self):
        lifecycle.adopt(self.admin, self.uuid).finish()


class TestRequest(QueueTestCase):

    def test_idle_starts_now(self):
        done = self.request("reboot")
        self.assertEqual("started", done.kind)
        self.assertEqual("rebooting", done.task.task_state)
        self.assertEqual([], self.queued())

    def test_idle_and_refused_is_not_queued(self):
        api.transition(self.admin, self.uuid, {"vm_state": "stopped"})
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.request, "reboot")
        self.assertEqual("vm_state", err.attribute)
        self.assertEqual([], self.queued())

    def test_busy_without_queue_is_refused(self):
        self.request("reboot")
        self.assertRaises(exception.InstanceInvalidState, self.request,
                          "stop", queue=False)
        self.assertEqual([], self.queued())

    def test_busy_queues(self):
        self.request("reboot")
        first = self.request("stop", reason="maintenance")
        self.assertEqual((queue.QUEUED, 1), (first.kind, first.position))
        self.assertIsNone(first.task)
        self.assertEqual(("stop", "maintenance", "u1", "p1"),
                         (first.queued["action"], first.queued["reason"],
                          first.queued["user_id"],
                          first.queued["project_id"]))
        second = self.request("start")
        self.assertEqual((queue.QUEUED, 2), (second.kind, second.position))
        again = self.request("start")
        self.assertEqual((queue.COLLAPSED, 2), (again.kind, again.position))
        self.assertEqual(second.queued["id"], again.queued["id"])
        self.assertEqual(["stop", "start"], self.queued())

    def test_deployment_default(self):
        self.flags(group="lifecycle", queue_actions=True)
        self.request("reboot", queue=None)
        self.assertEqual(queue.QUEUED,
                         self.request("stop", queue=None).kind)
        self.assertEqual(["stop"], self.queued())

    def test_bounded(self):
        self.flags(group="lifecycle", max_queued_actions=2)
        self.request("reboot")
        self.request("stop")
        self.request("start")
        err = self.assertRaises(exception.Conflict, self.request, "reboot")
        self.assertIn("2 actions are queued already", err.message)
        self.assertTrue(err.details["queue_full"])

    def test_delete_starts_at_once_and_supersedes(self):
        self.useFixture(lifecycle_fixtures.Engine())
        self.request("reboot")
        self.request("stop")
        self.request("start")
        done = self.request("delete")
        # Nova allows delete from any state: it starts at once, and the
        # queue goes with the instance.
        self.assertEqual("started", done.kind)
        self.assertEqual("deleting", done.task.task_state)
        self.assertEqual([], self.queued())

    def test_allowed_while_busy_starts_at_once(self):
        self.request("reboot")
        self.request("stop")
        done = self.request("reboot_hard")
        self.assertEqual("started", done.kind)
        self.assertEqual(["stop"], self.queued())

    def test_another_project_is_not_found(self):
        self.request("reboot")
        self.assertRaises(exception.InstanceNotFound, self.request, "stop",
                          ctx=self.other)


class TestDrain(QueueTestCase):

    def test_the_engine_drains_in_order_when_tasks_end(self):
        self.useFixture(lifecycle_fixtures.Engine())
        self.request("reboot")
        self.request("stop")
        self.request("start")
        self.finish_running()
        inst = api.instance_get(self.admin, self.uuid)
        self.assertEqual(("active", "powering-off", "stop"),
                         (inst["vm_state"], inst["task_state"],
                          inst["task_action"]))
        self.assertEqual(["start"], self.queued())
        self.finish_running()
        self.assertEqual("powering-on", api.instance_get(
            self.admin, self.uuid)["task_state"])
        self.finish_running()
        self.assertEqual([("reboot", "rebooting"), ("reboot", None),
                          ("stop", "powering-off"), ("stop", None),
                          ("start", "powering-on"), ("start", None)],
                         self.actions())
        self.assertEqual([], self.queued())

    def test_the_requester_is_recorded(self):
        self.useFixture(lifecycle_fixtures.Engine())
        self.request("reboot")
        self.request("stop", reason="night")
        self.finish_running()
        event = api.instance_events(self.admin, self.uuid)[-1]
        self.assertEqual(("stop", "u1", "p1", self.ctx.request_id),
                         (event["action"], event["user_id"],
                          event["project_id"], event["request_id"]))
        self.assertRegex(event["reason"], r"^queued at .*: night$")

    def test_without_the_engine_the_sweeper_drains(self):
        self.request("reboot")
        self.request("stop")
        self.finish_running()
        self.assertEqual(["stop"], self.queued())
        done = sweeper.Sweeper().sweep()
        self.assertEqual(1, done.started)
        self.assertEqual("powering-off", api.instance_get(
            self.admin, self.uuid)["task_state"])
        self.assertEqual([], self.queued())

    def test_an_action_impossible_at_its_turn_is_dropped(self):
        engine = self.useFixture(lifecycle_fixtures.Engine(notify=True))
        self.request("reboot")
        self.request("pause")
        self.request("stop")
        # The reboot fails: pause is not allowed from error, stop is.
        lifecycle.adopt(self.admin, self.uuid).fail("boom")
        inst = api.instance_get(self.admin, self.uuid)
        self.assertEqual(("error", "powering-off"),
                         (inst["vm_state"], inst["task_state"]))
        self.assertEqual([], self.queued())
        dropped = [p["vmstate_object.data"] for t, p in
                   engine.notifications if t == "instance.queue.dropped"]
        self.assertEqual(["pause"], [d["action"] for d in dropped])
        self.assertIn("Cannot 'pause'", dropped[0]["why"])

    def test_an_admin_reset_ends_the_task_and_drains(self):
        self.useFixture(lifecycle_fixtures.Engine())
        self.request("reboot")
        self.request("stop")
        lifecycle.reset_state(self.admin, self.uuid, "active", "stuck")
        self.assertEqual([("reboot", "rebooting"), ("reset_state", None),
                          ("stop", "powering-off")], self.actions())

    def test_other_idle_transitions_do_not_drain(self):
        self.useFixture(lifecycle_fixtures.Engine())
        self.request("reboot")
        self.request("stop")
        self.finish_running()
        counter = self.count_statements()
        api.transition(self.admin, self.uuid, {"power_state": 1})
        # The UPDATE and the history row; no look at the queue.
        self.assertEqual(2, counter.count, counter.statements)

    def test_a_delete_empties_the_queue_as_it_begins(self):
        self.useFixture(lifecycle_fixtures.Engine())
        self.request("reboot")
        self.request("stop")
        lifecycle.begin(self.ctx, self.uuid, "delete")
        self.assertEqual([], self.queued())

    def test_racing_drains_start_each_action_once_in_order(self):
        # Actions that run no task drain one after the other.
        self.request("reboot")
        for action in ("attach_volume", "detach_volume", "attach_interface",
                       "detach_interface"):
            self.request(action)
        self.finish_running()
        barrier = threading.Barrier(4, timeout=30)
        started = []

        def drainer():
            barrier.wait()
            started.extend(t.action for t in queue.drain(self.uuid))

        concurrency.run_concurrently(*[drainer] * 4, timeout=60)
        self.assertEqual(["attach_volume", "detach_volume",
                          "attach_interface", "detach_interface"],
                         [a for a, _ in self.actions(since=3)])
        self.assertEqual(4, len(started))
        self.assertEqual([], self.queued())

    def test_cancel(self):
        self.request("reboot")
        self.request("stop")
        removed = queue.cancel(self.ctx, self.uuid)
        self.assertEqual(["stop"], [e["action"] for e in removed])
        self.assertEqual([], self.queued())
        self.assertRaises(exception.InstanceNotFound, queue.cancel,
                          self.other, self.uuid)

    def test_a_claim_taken_elsewhere_starts_nothing(self):
        self.request("reboot")
        self.request("stop")
        self.finish_running()
        entry = action_queue.head(self.admin, self.uuid)
        self.assertTrue(action_queue.drop(self.admin, entry["id"]))
        version = api.instance_get(self.admin, self.uuid)["version"]
        self.assertRaises(action_queue.ClaimLost, lifecycle.begin, self.admin,
                          self.uuid, "stop", claim=action_queue.claim(
                              entry["id"]))
        self.assertEqual(version, api.instance_get(self.admin,
                                                   self.uuid)["version"])
