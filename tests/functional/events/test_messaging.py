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


"""Waits across processes through RabbitMQ (the ``messaging`` driver).

On the shared RabbitMQ (each test on a topic of its own), and for the
broker restart on a private RabbitMQ node the test starts and stops.
The database does not matter to this driver: SQLite and MariaDB here.
The safety net is set far beyond every wait, so what wakes a waiter is
the channel (or, after a restart, the driver's own resync) and nothing
else.
"""

import time

import fixtures

from tests import rabbitmq_fixture
from tests.functional.db import base
from tests.functional.events import base as events_base
from tests.functional.events.base import PATIENCE
from tests.functional.events.base import PROMPT
from tests.functional.events.base import Recorder
from tests.unit.lifecycle.test_waits import Waiter
from vmstate import events
from vmstate import exception
from vmstate.conf import CONF
from vmstate.events.drivers import messaging


class MessagingEventsTestCase(events_base.DriverTestCase):

    FIXTURE = base.SQLiteMigrated
    DRIVER = "messaging"

    def prepare_channel(self):
        self.broker_url = self.broker()
        self.channel = rabbitmq_fixture.channel()

    def channel_options(self):
        return {"transport_url": self.broker_url, "channel": self.channel}

    def own_options(self):
        return {"resync_interval": PATIENCE, "probe_interval": 0.2,
                "reconnect_interval": 0.2, "connect_timeout": PATIENCE}

    def command_options(self):
        return dict(super().command_options(), connect_timeout=PATIENCE)

    def broker(self):
        why = rabbitmq_fixture.reachable()
        if why is not None:
            rabbitmq_fixture.unavailable(self, why)
        return rabbitmq_fixture.URL


class TestAcrossProcessesSQLite(events_base.CommitElsewhere,
                                events_base.ManageWaitElsewhere,
                                MessagingEventsTestCase):
    FIXTURE = base.SQLiteMigrated


class TestAcrossProcessesMySQL(events_base.CommitElsewhere,
                               MessagingEventsTestCase):
    FIXTURE = base.MySQLMigrated


class TestChannel(events_base.ChannelTests, MessagingEventsTestCase):

    def send_malformed(self, bus):
        bus.driver._client.cast({}, "vmstate_event", origin="elsewhere",
                                seq=0, payload="not json")

    def test_changes_carry_the_instance_and_history_row(self):
        uuid = self.create()["uuid"]
        listener = self.other_bus()
        seen = Recorder()
        listener.subscribe(uuid, seen)
        self.step(uuid, "stop")
        seen.until(3)
        last = seen.changes[-1]
        self.assertEqual(("stopped", None, 3), (
            last.instance["vm_state"], last.instance["task_state"],
            last.event["version"]))
        self.assertEqual("stop", last.event["action"])

    def test_a_lost_message_makes_every_waiter_reread(self):
        uuid = self.create()["uuid"]
        listener = self.other_bus()
        waiter = Waiter(self.admin, uuid, "stopped", timeout=PATIENCE,
                        bus=listener)
        waiter.start()
        waiter.begun()
        # The sender loses every change (numbered all the same), as when
        # the broker refused them; its probes still go out.
        sender = self.bus.driver
        real_cast = sender._cast
        lost = []

        def cast(payload):
            if payload is not None:
                lost.append(sender._next_seq())
                return True
            return real_cast(payload)

        self.useFixture(fixtures.MockPatchObject(sender, "_cast",
                                                 side_effect=cast))
        resyncs = listener.driver.resyncs
        began = time.monotonic()
        self.step(uuid, "stop")
        result = waiter.outcome(PATIENCE)
        self.assertLess(time.monotonic() - began, PROMPT)
        self.assertEqual(2, len(lost))
        self.assertEqual(("reached", ("active", "stopped")),
                         (result.status, result.seen))
        # Woken by a resync (the gap, or a sender first heard past its
        # first message), long before the safety net.
        self.assertGreater(listener.driver.resyncs, resyncs)


class TestBrokerRestart(MessagingEventsTestCase):
    """The broker goes away and comes back: nothing is lost for good."""

    def broker(self):
        self.node = rabbitmq_fixture.private_node(self)
        return self.node.url

    def test_waiters_reread_after_a_broker_restart(self):
        logger = self.useFixture(fixtures.FakeLogger(level="INFO"))
        uuid = self.create()["uuid"]
        listener = self.other_bus()
        waiter = Waiter(self.admin, uuid, ["stopped", "active"],
                        timeout=PATIENCE, bus=listener)
        waiter.start()
        waiter.begun()
        self.node.stop_app()
        # Committed while the broker is down: its message is lost, counted
        # as dropped once its cast gives up. The broker stays down until
        # then: back sooner, the cast's own retry could still deliver it
        # (late, which is also correct, but not what is tested here).
        self.step(uuid, "stop")
        deadline = time.monotonic() + PROMPT
        while (self.bus.driver.dropped == 0
               and time.monotonic() < deadline):
            time.sleep(0.1)
        self.assertGreater(self.bus.driver.dropped, 0, logger.output)
        self.assertEqual([1], [p.version for p in waiter.progress])
        self.node.start_app()
        began = time.monotonic()
        # Woken by the resync once the channel is back, well before the
        # safety net (PATIENCE).
        waiter.until_version(3, PROMPT)
        self.assertLess(time.monotonic() - began, PROMPT)
        self.assertFalse(waiter.finished)
        # And the channel carries changes again.
        self.step(uuid, "start")
        result = waiter.outcome(PROMPT)
        self.assertLess(time.monotonic() - began, PROMPT)
        self.assertEqual(("reached", ("active", "stopped", "active")),
                         (result.status, result.seen))


class TestConfiguration(base.TestCase):

    def test_a_bad_transport_url_stops_the_start(self):
        self.flags(group="events", driver="messaging",
                   transport_url="nosuchdriver://x/")
        err = self.assertRaises(exception.EventBusError, events.load_driver,
                                CONF)
        self.assertIn("transport URL", str(err))

    def test_the_driver_is_installed(self):
        self.assertIn("messaging", events.installed_drivers())
        self.flags(group="events", driver="messaging",
                   transport_url=rabbitmq_fixture.URL,
                   channel=rabbitmq_fixture.channel())
        driver = events.load_driver(CONF)
        self.addCleanup(driver.stop)
        self.assertIsInstance(driver, messaging.MessagingDriver)
