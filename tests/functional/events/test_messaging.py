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

import multiprocessing
import os
import shutil
import subprocess
import threading
import time

import fixtures

from tests import events_fixture
from tests import rabbitmq_fixture
from tests.functional.db import base
from tests.functional.events import worker
from tests.unit.lifecycle.test_waits import Waiter
from vmstate import events
from vmstate import exception
from vmstate import lifecycle
from vmstate.conf import CONF
from vmstate.events.drivers import messaging

PATIENCE = 60
# Far quicker than the safety net: only the channel can be this fast.
PROMPT = 10


class Recorder:
    """A subscriber that keeps what it is given."""

    def __init__(self):
        self.changes = []
        self.cond = threading.Condition()

    def __call__(self, change):
        with self.cond:
            self.changes.append(change)
            self.cond.notify_all()

    def until(self, version):
        with self.cond:
            ok = self.cond.wait_for(lambda: any(
                c.version == version for c in self.changes), PROMPT)
        assert ok, "version %d never arrived: %s" % (version, self.changes)
        return [c.version for c in self.changes]


class MessagingEventsTestCase(base.TestCase):

    FIXTURE = base.SQLiteMigrated

    def setUp(self):
        super().setUp()
        self.broker_url = self.broker()
        self.channel = rabbitmq_fixture.channel()
        self.flags(group="database", connection=self.url)
        self.flags(group="events", driver="messaging",
                   transport_url=self.broker_url, channel=self.channel,
                   resync_interval=PATIENCE, probe_interval=0.2,
                   reconnect_interval=0.2, connect_timeout=PATIENCE)
        # The process's bus: what this process's commits are sent on.
        self.bus = self.useFixture(events_fixture.Bus(
            events.load_driver(CONF))).bus

    def broker(self):
        why = rabbitmq_fixture.reachable()
        if why is not None:
            rabbitmq_fixture.unavailable(self, why)
        return rabbitmq_fixture.URL

    def other_bus(self):
        """A second bus on the channel: a listener elsewhere."""
        bus = events.Bus(events.load_driver(CONF))
        self.addCleanup(bus.close)
        return bus

    def step(self, uuid, action):
        return lifecycle.begin(self.admin, uuid, action).finish()


class _AcrossProcesses:

    def test_a_commit_in_another_process_wakes_a_waiter_here(self):
        uuid = self.create()["uuid"]
        spawn = multiprocessing.get_context("spawn")
        go, ready = spawn.Event(), spawn.Event()
        results = spawn.Queue()
        process = spawn.Process(target=worker.run_actions, args=(
            self.url, uuid, ["stop", "start"], go, results, "messaging",
            ready), kwargs={"transport_url": self.broker_url,
                            "channel": self.channel})
        process.start()
        self.addCleanup(process.join, PATIENCE)
        # Started as a service is, its bus built, before the clock runs.
        self.assertTrue(ready.wait(PATIENCE))
        waiter = Waiter(self.admin, uuid, ["stopped", "active"],
                        timeout=PATIENCE)
        waiter.start()
        waiter.begun()
        began = time.monotonic()
        go.set()
        result = waiter.outcome(PATIENCE)
        self.assertLess(time.monotonic() - began, PROMPT)
        self.assertEqual("done", results.get(timeout=PATIENCE))
        self.assertEqual(("reached", ("active", "stopped", "active")),
                         (result.status, result.seen))
        self.assertEqual(5, result.instance["version"])
        process.join(PATIENCE)
        self.assertEqual(0, process.exitcode)


class TestAcrossProcessesSQLite(_AcrossProcesses, MessagingEventsTestCase):
    FIXTURE = base.SQLiteMigrated

    def test_a_commit_here_wakes_vmstate_manage_wait_elsewhere(self):
        command = shutil.which("vmstate-manage")
        self.assertIsNotNone(command, "vmstate-manage is not installed")
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, "vmstate.conf")
        with open(conf, "w") as f:
            f.write("[database]\nconnection = %s\n[events]\n"
                    "driver = messaging\ntransport_url = %s\n"
                    "channel = %s\nresync_interval = %d\n"
                    "connect_timeout = %d\n"
                    % (self.url, self.broker_url, self.channel, PATIENCE,
                       PATIENCE))
        uuid = self.create()["uuid"]
        proc = subprocess.Popen(
            [command, "--config-file", conf, "wait", uuid, "--for",
             "stopped", "--for", "active", "--timeout", str(PATIENCE)],
            cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # Its first line: it listens (connect_timeout: however slow the
        # machine), has read the instance, and waits.
        self.assertEqual("version 1: active\n", proc.stdout.readline())
        began = time.monotonic()
        self.step(uuid, "stop")
        self.step(uuid, "start")
        # Woken: the line of the last version (the process's exit, its
        # bus closing, is not part of the wake-up).
        lines = []
        while not lines or not lines[-1].startswith(("version 5", "error")):
            line = proc.stdout.readline()
            self.assertNotEqual("", line, lines)
            lines.append(line)
        self.assertLess(time.monotonic() - began, PROMPT)
        rest, err = proc.communicate(timeout=PATIENCE)
        out = "".join(lines) + rest
        self.assertEqual(0, proc.returncode, err)
        self.assertEqual(
            "version 2: active (task powering-off)\n"
            "version 3: stopped  <- reached stopped (1/2)\n"
            "version 4: stopped (task powering-on)\n"
            "version 5: active  <- reached active (2/2)\n"
            "reached: stopped, active\n", out)


class TestAcrossProcessesMySQL(_AcrossProcesses, MessagingEventsTestCase):
    FIXTURE = base.MySQLMigrated


class TestChannel(MessagingEventsTestCase):

    def test_subscribing_waits_until_the_channel_listens(self):
        listener = self.other_bus()
        listener.subscribe("any", Recorder())
        self.assertTrue(listener.driver._ready.is_set())

    def test_own_changes_are_delivered_once(self):
        uuid = self.create()["uuid"]
        seen = Recorder()
        self.bus.subscribe(uuid, seen)
        self.step(uuid, "reboot")
        # A later message from elsewhere: the broker delivers one
        # sender's messages in order, so by the time it arrives the echo
        # of our own came (and was not delivered again).
        self.other_bus().driver.publish(events.StateChange(
            uuid, 99, "active", None, 1))
        self.assertEqual([2, 3, 99], seen.until(99))

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

    def test_malformed_messages_are_ignored(self):
        logger = self.useFixture(fixtures.FakeLogger())
        uuid = self.create()["uuid"]
        seen = Recorder()
        self.bus.subscribe(uuid, seen)
        other = self.other_bus()
        other.driver._client.cast({}, "vmstate_event",
                                  origin="elsewhere", seq=0,
                                  payload="not json")
        other.driver.publish(events.StateChange(uuid, 7, "active", None, 1))
        self.assertEqual([7], seen.until(7))
        self.assertIn("Ignoring a malformed message", logger.output)

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
        # Committed while the broker is down: its message is lost.
        self.step(uuid, "stop")
        time.sleep(1)
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
        # The change committed during the outage was counted as dropped
        # once its cast gave up; that cast may still be in oslo.messaging's
        # reconnect loop when the waiter (woken by the resync) is done.
        deadline = time.monotonic() + PROMPT
        while (self.bus.driver.dropped == 0
               and time.monotonic() < deadline):
            time.sleep(0.1)
        self.assertGreater(self.bus.driver.dropped, 0, logger.output)


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
