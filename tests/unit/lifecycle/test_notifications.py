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


"""Notifications of transitions, with oslo.messaging's in-memory driver.
The same against a real RabbitMQ: tests.functional.test_rabbitmq."""

import socket
import threading

import fixtures

from tests import lifecycle_fixtures
from tests.unit.db import base
from vmstate import lifecycle
from vmstate.conf import CONF
from vmstate.db import api
from vmstate.db import listeners
from vmstate.lifecycle import notifications
from vmstate.lifecycle import sweeper


class TestTransitions(base.TestCase):

    def setUp(self):
        super().setUp()
        self.engine = self.useFixture(lifecycle_fixtures.Engine(
            notify=True))

    def data(self):
        return [p["vmstate_object.data"] for t, p in
                self.engine.notifications if t == "instance.transition"]

    def test_every_transition_in_order(self):
        inst = self.create()
        task = lifecycle.begin(self.ctx, inst["uuid"], "reboot",
                               reason="kernel update")
        task.checkpoint()            # a heartbeat: no transition
        task.finish()
        sent = self.engine.notifications
        self.assertEqual(["instance.transition"] * 3, [t for t, _ in sent])
        _, payload = sent[1]
        self.assertEqual(("InstanceTransitionPayload", "vmstate", "1.0"),
                         (payload["vmstate_object.name"],
                          payload["vmstate_object.namespace"],
                          payload["vmstate_object.version"]))
        begun = payload["vmstate_object.data"]
        self.assertEqual(
            {"instance_uuid": inst["uuid"], "project_id": "p1",
             "version": 2, "action": "reboot",
             "from": {"vm_state": "active", "task_state": None,
                      "power_state": 0},
             "to": {"vm_state": "active", "task_state": "rebooting",
                    "power_state": 0},
             "task_id": task.task_id, "fault": None,
             "reason": "kernel update", "request_id": self.ctx.request_id,
             "user_id": "u1"},
            {k: v for k, v in begun.items() if k != "created_at"})
        self.assertRegex(begun["created_at"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        self.assertEqual([1, 2, 3], [d["version"] for d in self.data()])

    def test_envelope(self):
        from oslo_messaging.notify import _impl_test

        self.create()
        self.engine.flush()
        ctxt, message, priority, _ = _impl_test.NOTIFICATIONS[0]
        self.assertEqual("INFO", priority)
        self.assertEqual("vmstate:%s" % socket.gethostname(),
                         message["publisher_id"])
        # oslo.context's dict: who made the change, in which request.
        self.assertEqual(("u1", "p1", self.ctx.request_id),
                         (ctxt["user"], ctxt["project_id"],
                          ctxt["request_id"]))

    def test_timeouts_resets_and_power_are_transitions_too(self):
        clock = self.useFixture(lifecycle_fixtures.Clock())
        self.flags(group="lifecycle", task_timeouts={"rebooting": "60"})
        inst = self.create()
        lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        clock.advance(61)
        sweeper.Sweeper().sweep()
        lifecycle.reset_state(self.admin, inst["uuid"], "active", "fixed")
        lifecycle.report_power_state(self.admin, inst["uuid"], 4)
        self.assertEqual(["create", "reboot", "timeout", "reset_state",
                          "observe_power"],
                         [d["action"] for d in self.data()])
        timeout = self.data()[2]
        self.assertEqual("TaskTimeout", timeout["fault"]["type"])
        self.assertIn("made no progress", timeout["reason"])

    def test_a_failing_listener_never_breaks_a_write(self):
        def broken(instance):
            raise RuntimeError("listener bug")

        listeners.add(broken)
        self.addCleanup(listeners.remove, broken)
        logged = self.useFixture(fixtures.FakeLogger())
        inst = self.create()
        after = api.transition(self.admin, inst["uuid"],
                               {"vm_state": "stopped"})
        self.assertEqual("stopped", after["vm_state"])
        self.assertIn("listener bug", logged.output)
        # The listeners after it still ran.
        self.assertEqual([1, 2], [d["version"] for d in self.data()])


class TestDisabled(base.TestCase):

    def test_no_driver_sends_nothing(self):
        self.useFixture(lifecycle_fixtures.Engine())
        self.assertIsNone(notifications._publisher)
        self.create()        # nothing to send, nothing fails

    def test_noop_sends_nothing(self):
        import oslo_messaging

        oslo_messaging.get_notification_transport(
            CONF, url="fake:/").cleanup()
        self.flags(group="oslo_messaging_notifications", driver=["noop"])
        self.addCleanup(notifications.shutdown)
        self.assertFalse(notifications.setup())


class TestPublisher(base.TestCase):

    def test_a_full_queue_drops_and_says_so(self):
        release = threading.Event()

        class Stuck:
            def info(self, ctxt, event_type, payload):
                release.wait(30)

        class Transport:
            def cleanup(self):
                pass

        logged = self.useFixture(fixtures.FakeLogger())
        publisher = notifications.Publisher(Stuck(), Transport(),
                                            maxsize=2)
        self.addCleanup(publisher.stop, 5)
        self.addCleanup(release.set)
        results = [publisher.submit({}, "e", {}) for _ in range(5)]
        self.assertIn(False, results)
        self.assertIn("dropped", logged.output)
        release.set()
        self.assertTrue(publisher.flush(10))
