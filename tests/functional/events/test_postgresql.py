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



"""Waits across processes through PostgreSQL LISTEN/NOTIFY.

On oslo.db's opportunistic PostgreSQL database (skipped when there is
none, failing instead when ``VMSTATE_TEST_DB_REQUIRED`` is set, as CI
does). The safety net is set far beyond every wait here, so what wakes
a waiter is the channel and nothing else.
"""

import multiprocessing
import os
import shutil
import subprocess
import threading
import time

import fixtures
import sqlalchemy as sa

from tests import events_fixture
from tests.functional.db import base
from tests.functional.events import worker
from tests.unit.lifecycle.test_waits import Waiter
from vmstate import events
from vmstate import lifecycle
from vmstate.conf import CONF
from vmstate.events.drivers import postgresql

PATIENCE = 60
# Far quicker than the safety net: only a notification can be this fast.
PROMPT = 10


class Recorder:
    """A subscriber that keeps what it is given and says when."""

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


class PostgreSQLEventsTestCase(base.TestCase):

    FIXTURE = base.PostgreSQLMigrated

    def setUp(self):
        super().setUp()
        self.flags(group="database", connection=self.url)
        self.flags(group="events", driver="postgresql",
                   resync_interval=PATIENCE, reconnect_interval=0.05)
        # The process's bus: what this process's commits are sent on.
        self.bus = self.useFixture(events_fixture.Bus(
            events.load_driver(CONF))).bus

    def other_bus(self):
        """A second bus on the channel: a listener elsewhere."""
        bus = events.Bus(events.load_driver(CONF))
        self.addCleanup(bus.close)
        return bus

    def step(self, uuid, action):
        return lifecycle.begin(self.admin, uuid, action).finish()


class TestAcrossProcesses(PostgreSQLEventsTestCase):

    def test_a_commit_in_another_process_wakes_a_waiter_here(self):
        uuid = self.create()["uuid"]
        spawn = multiprocessing.get_context("spawn")
        go = spawn.Event()
        results = spawn.Queue()
        process = spawn.Process(target=worker.run_actions, args=(
            self.url, uuid, ["stop", "start"], go, results))
        process.start()
        self.addCleanup(process.join, PATIENCE)
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

    def test_a_commit_here_wakes_vmstate_manage_wait_elsewhere(self):
        command = shutil.which("vmstate-manage")
        self.assertIsNotNone(command, "vmstate-manage is not installed")
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, "vmstate.conf")
        with open(conf, "w") as f:
            f.write("[database]\nconnection = %s\n[events]\n"
                    "driver = postgresql\nresync_interval = %d\n"
                    % (self.url, PATIENCE))
        uuid = self.create()["uuid"]
        proc = subprocess.Popen(
            [command, "--config-file", conf, "wait", uuid, "--for",
             "stopped", "--for", "active", "--timeout", str(PATIENCE)],
            cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # Its first line: it listens, has read the instance, and waits.
        self.assertEqual("version 1: active\n", proc.stdout.readline())
        began = time.monotonic()
        self.step(uuid, "stop")
        self.step(uuid, "start")
        out, err = proc.communicate(timeout=PATIENCE)
        self.assertLess(time.monotonic() - began, PROMPT)
        self.assertEqual(0, proc.returncode, err)
        self.assertEqual(
            "version 2: active (task powering-off)\n"
            "version 3: stopped  <- reached stopped (1/2)\n"
            "version 4: stopped (task powering-on)\n"
            "version 5: active  <- reached active (2/2)\n"
            "reached: stopped, active\n", out)


class TestChannel(PostgreSQLEventsTestCase):

    def test_subscribing_waits_until_the_channel_listens(self):
        listener = self.other_bus()
        listener.subscribe("any", Recorder())
        self.assertTrue(listener.driver._ready.is_set())
        self.assertIsNotNone(listener.driver.listener_pid)

    def test_lost_channel_is_reopened_and_waiters_reread(self):
        uuid = self.create()["uuid"]
        listener = self.other_bus()
        driver = listener.driver
        waiter = Waiter(self.admin, uuid, "stopped", timeout=PATIENCE,
                        bus=listener)
        waiter.start()
        waiter.begun()
        # Keep the channel down until the test lets it come back.
        outage, reconnecting = threading.Event(), threading.Event()
        real_connect = driver._connect

        def connect_later():
            reconnecting.set()
            outage.wait(PATIENCE)
            return real_connect()

        self.useFixture(fixtures.MockPatchObject(
            driver, "_connect", side_effect=connect_later))
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                         {"pid": driver.listener_pid})
        self.assertTrue(reconnecting.wait(PROMPT))
        # Sent while nobody listens on that side: lost for the waiter.
        self.step(uuid, "stop")
        self.assertFalse(waiter.finished)
        began = time.monotonic()
        outage.set()
        result = waiter.outcome(PATIENCE)
        self.assertLess(time.monotonic() - began, PROMPT)
        self.assertEqual(("reached", ("active", "stopped")),
                         (result.status, result.seen))

    def test_own_changes_are_delivered_once(self):
        uuid = self.create()["uuid"]
        seen = Recorder()
        self.bus.subscribe(uuid, seen)
        self.step(uuid, "reboot")
        # A later message from elsewhere: PostgreSQL delivers in order,
        # so by the time it arrives the echo of our own came and went.
        self.other_bus().driver.publish(events.StateChange(
            uuid, 99, "active", None, 1))
        self.assertEqual([2, 3, 99], seen.until(99))

    def test_large_changes_travel_as_states_only(self):
        uuid = self.create()["uuid"]
        listener = self.other_bus()
        seen = Recorder()
        listener.subscribe(uuid, seen)
        task = lifecycle.begin(self.admin, uuid, "reboot")
        task.fail("x" * (postgresql.MAX_PAYLOAD + 100))
        seen.until(3)
        small, large = seen.changes
        self.assertEqual("active", small.instance["vm_state"])
        self.assertEqual((None, None, "error", None),
                         (large.instance, large.event, large.vm_state,
                          large.task_state))
        # A waiter then reads the instance itself, fault and all.
        result = lifecycle.wait_for(self.admin, uuid, "error", 0,
                                    bus=listener)
        self.assertEqual("reached", result.status)
        self.assertTrue(result.instance["fault"]["message"].startswith("xx"))

    def test_malformed_messages_are_ignored(self):
        logger = self.useFixture(fixtures.FakeLogger())
        uuid = self.create()["uuid"]
        seen = Recorder()
        self.bus.subscribe(uuid, seen)
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_notify(:c, :p)"),
                         {"c": CONF.events.channel, "p": "not json"})
            conn.commit()
        self.other_bus().driver.publish(events.StateChange(
            uuid, 7, "active", None, 1))
        self.assertEqual([7], seen.until(7))
        self.assertIn("Ignoring a malformed message", logger.output)

    def test_a_failed_send_is_retried_on_a_new_connection(self):
        uuid = self.create()["uuid"]
        listener = self.other_bus()
        seen = Recorder()
        listener.subscribe(uuid, seen)
        self.step(uuid, "reboot")
        sender = self.bus.driver._sender
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                         {"pid": sender.get_backend_pid()})
        self.step(uuid, "reboot")
        self.assertEqual([2, 3, 4, 5], seen.until(5))
        self.assertIsNot(sender, self.bus.driver._sender)
