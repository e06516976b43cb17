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

"""The notification samples of the docs (``doc/notification_samples/``)
against real notifications, sent through oslo.messaging's test driver.

Like Nova's notification sample tests: every key of the sample is in the
real notification and nothing else is; values are equal, except those that
differ from run to run (ids, times, the host), which must have the same
form.
"""

import json
import os
import re

from tests import lifecycle_fixtures
from tests.unit.db import base
from vmstate import lifecycle
from vmstate.lifecycle import payloads
from vmstate.lifecycle import queue

SAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                       os.pardir, "doc", "notification_samples")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: Values that differ per run: the form they must have.
VOLATILE = {
    "publisher_id": r"vmstate:\S+",
    "instance_uuid": UUID,
    "task_id": UUID,
    "request_id": r"req-" + UUID,
    "created_at": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",
}


def sample(name):
    with open(os.path.join(SAMPLES, name + ".json")) as f:
        return json.load(f)


class TestSamples(base.TestCase):

    def setUp(self):
        super().setUp()
        self.engine = self.useFixture(lifecycle_fixtures.Engine(
            notify=True))

    def sent(self, event_type):
        from oslo_messaging.notify import _impl_test

        self.engine.flush()
        return [message for _, message, _, _ in _impl_test.NOTIFICATIONS
                if message["event_type"] == event_type]

    def assertMatches(self, expected, actual, path="", uuid=None):
        """``actual`` has exactly ``expected``'s keys and its values, but
        for the volatile ones, which have the same form."""
        if isinstance(expected, dict):
            self.assertIsInstance(actual, dict, path)
            self.assertEqual(sorted(expected), sorted(actual), path)
            for key in expected:
                self.assertMatches(expected[key], actual[key],
                                   "%s.%s" % (path, key), uuid)
            return
        key = path.rsplit(".", 1)[-1]
        if key in VOLATILE and expected is not None:
            self.assertIsNotNone(actual, path)
            self.assertRegex(expected, "^%s$" % VOLATILE[key], path)
            self.assertRegex(actual, "^%s$" % VOLATILE[key], path)
        elif isinstance(expected, str) and uuid:
            # The sample's instance, named in a message, is this one.
            self.assertEqual(expected.replace(*uuid), actual, path)
        else:
            self.assertEqual(expected, actual, path)

    def check(self, name, message, uuid=None):
        expected = sample(name)
        if uuid is not None:
            uuid = (expected["payload"]["vmstate_object.data"]
                    ["instance_uuid"], uuid)
        # The envelope oslo.messaging adds beside these.
        actual = {k: message[k] for k in ("event_type", "payload",
                                          "priority", "publisher_id")}
        self.assertMatches(expected, actual, uuid=uuid)
        payload = expected["payload"]
        cls = payloads.classes()[payload["vmstate_object.name"]][0]
        self.assertEqual(cls.VERSION, payload["vmstate_object.version"])

    def test_instance_transition(self):
        inst = self.create()
        lifecycle.begin(self.ctx, inst["uuid"], "reboot",
                        reason="kernel update")
        self.check("instance-transition",
                   self.sent("instance.transition")[1])

    def test_instance_queue_dropped(self):
        inst = self.create()
        for action in ("reboot", "pause"):
            queue.request(self.ctx, inst["uuid"], action, queue=True,
                          reason="maintenance")
        lifecycle.adopt(self.admin, inst["uuid"]).fail("boom")
        [message] = self.sent("instance.queue.dropped")
        self.check("instance-queue-dropped", message, uuid=inst["uuid"])

    def test_every_payload_has_a_sample(self):
        names = {sample(f[:-5])["payload"]["vmstate_object.name"]
                 for f in os.listdir(SAMPLES) if f.endswith(".json")}
        self.assertEqual(set(payloads.classes()), names)

    def test_a_wrong_sample_fails(self):
        inst = self.create()
        lifecycle.begin(self.ctx, inst["uuid"], "reboot",
                        reason="kernel update")
        message = self.sent("instance.transition")[1]
        wrong = json.loads(json.dumps(message))
        wrong["payload"]["vmstate_object.data"]["action"] = "stop"
        self.assertRaises(AssertionError, self.assertMatches,
                          wrong["payload"], message["payload"])
        del wrong["payload"]["vmstate_object.data"]["action"]
        self.assertRaises(AssertionError, self.assertMatches,
                          wrong["payload"], message["payload"])
        self.assertTrue(re.match(VOLATILE["created_at"],
                                 message["payload"]["vmstate_object.data"]
                                 ["created_at"]))
