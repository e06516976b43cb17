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


"""Transition notifications through a real RabbitMQ, received by an
oslo.messaging notification listener, as a consumer service would.

RabbitMQ at ``VMSTATE_TEST_RABBIT_URL`` (default
``rabbit://guest:guest@127.0.0.1:5672/``; ``.ci/run`` starts it). Like
the database backends: unreachable, the test is skipped, unless
``VMSTATE_TEST_DB_REQUIRED`` is set (CI sets it): then it fails.
"""

import os
import socket
import threading
import urllib.parse

from oslo_utils import uuidutils

from tests import base
from tests import db_fixture
from tests import lifecycle_fixtures
from vmstate import context
from vmstate import lifecycle
from vmstate.conf import CONF
from vmstate.db import api
from vmstate.lifecycle import notifications

REQUIRED = bool(os.environ.get("VMSTATE_TEST_DB_REQUIRED"))
URL = os.environ.get("VMSTATE_TEST_RABBIT_URL",
                     "rabbit://guest:guest@127.0.0.1:5672/")


def _reachable(url: str) -> str | None:
    """``None`` if something listens where ``url`` points, else why not.
    """
    parsed = urllib.parse.urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1",
                                       parsed.port or 5672), timeout=3):
            return None
    except OSError as err:
        return "RabbitMQ at %s is unreachable: %s" % (url, err)


class Received:
    """A notification endpoint: keeps what it receives, in order."""

    def __init__(self) -> None:
        self.messages: list[tuple] = []
        self.arrived = threading.Condition()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        with self.arrived:
            self.messages.append((ctxt, publisher_id, event_type, payload))
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float) -> list[tuple]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count,
                                  timeout)
            return list(self.messages)


class TestRabbitMQ(base.TestCase):

    def setUp(self):
        super().setUp()
        why = _reachable(URL)
        if why is not None:
            if REQUIRED:
                self.fail(why + " (VMSTATE_TEST_DB_REQUIRED is set)")
            self.skipTest(why)
        import oslo_messaging

        self.useFixture(db_fixture.Database())
        self.topic = "vmstate_test_%s" % uuidutils.generate_uuid(
            dashed=False)
        transport = oslo_messaging.get_notification_transport(CONF, url=URL)
        self.addCleanup(transport.cleanup)
        self.flags(group="oslo_messaging_notifications",
                   driver=["messagingv2"], topics=[self.topic],
                   transport_url=URL)
        self.received = Received()
        listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(topic=self.topic)],
            [self.received], executor="threading")
        listener.start()
        self.addCleanup(self._delete_queue)
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        self.useFixture(lifecycle_fixtures.Engine())
        self.assertIsNotNone(notifications._publisher)

    def _delete_queue(self):
        import kombu

        amqp = URL.replace("rabbit://", "amqp://", 1)
        with kombu.Connection(amqp, connect_timeout=5) as conn:
            conn.channel().queue_delete(self.topic + ".info")

    def test_every_transition_arrives_in_order(self):
        ctx = context.RequestContext(user_id="alice", project_id="p1",
                                     roles=["member"], overwrite=False)
        inst = api.instance_create(ctx, {"vm_state": "active",
                                         "task_state": None})
        task = lifecycle.begin(ctx, inst["uuid"], "reboot",
                               reason="kernel update")
        task.finish()
        got = self.received.wait_for(3, timeout=30)
        self.assertEqual(3, len(got), got)
        self.assertEqual(["instance.transition"] * 3, [m[2] for m in got])
        data = [m[3]["vmstate_object.data"] for m in got]
        self.assertEqual([1, 2, 3], [d["version"] for d in data])
        self.assertEqual(["create", "reboot", "reboot"],
                         [d["action"] for d in data])
        self.assertEqual({"vm_state": "active", "task_state": "rebooting",
                          "power_state": 0}, data[1]["to"])
        self.assertEqual(data[1]["to"], data[2]["from"])
        self.assertEqual(("kernel update", "alice", ctx.request_id),
                         (data[1]["reason"], data[1]["user_id"],
                          data[1]["request_id"]))
        ctxt, publisher, _, payload = got[1]
        self.assertEqual("vmstate:%s" % socket.gethostname(), publisher)
        self.assertEqual(("InstanceTransitionPayload", "1.0"),
                         (payload["vmstate_object.name"],
                          payload["vmstate_object.version"]))
        self.assertEqual(("alice", ctx.request_id),
                         (ctxt["user"], ctxt["request_id"]))
