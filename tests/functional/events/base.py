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


"""What the event-bus drivers' cross-process tests share.

Each driver's module (``test_messaging``, ``test_postgresql``) says how
its bus is configured and how to put a malformed message on its channel;
the tests themselves are here, once. The safety net is set far beyond
every wait, so what wakes a waiter is the channel and nothing else.
"""

import multiprocessing
import os
import shutil
import subprocess
import threading
import time

import fixtures

from tests import events_fixture
from tests.functional.db import base
from tests.functional.events import worker
from tests.unit.lifecycle.test_waits import Waiter
from vmstate import events
from vmstate import lifecycle
from vmstate.conf import CONF

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


class DriverTestCase(base.TestCase):
    """The process's bus on the driver under test, as a service has it."""

    #: ``[events] driver``.
    DRIVER = ""

    def setUp(self):
        super().setUp()
        self.prepare_channel()
        self.flags(group="database", connection=self.url)
        self.flags(group="events", driver=self.DRIVER,
                   **self.channel_options(), **self.own_options())
        # The process's bus: what this process's commits are sent on.
        self.bus = self.useFixture(events_fixture.Bus(
            events.load_driver(CONF))).bus

    def prepare_channel(self):
        """Make the channel ready (or skip the test), before the bus."""

    def channel_options(self):
        """``[events]`` options another process needs to reach the
        channel."""
        return {}

    def own_options(self):
        """``[events]`` options of this process's bus alone."""
        return {}

    def command_options(self):
        """``[events]`` options of a command run elsewhere (beyond the
        channel's)."""
        return {"resync_interval": PATIENCE}

    def other_bus(self):
        """A second bus on the channel: a listener elsewhere."""
        bus = events.Bus(events.load_driver(CONF))
        self.addCleanup(bus.close)
        return bus

    def step(self, uuid, action):
        return lifecycle.begin(self.admin, uuid, action).finish()


class CommitElsewhere:
    """Mixin of :class:`DriverTestCase`: a commit in another process."""

    def test_a_commit_in_another_process_wakes_a_waiter_here(self):
        uuid = self.create()["uuid"]
        spawn = multiprocessing.get_context("spawn")
        go, ready = spawn.Event(), spawn.Event()
        results = spawn.Queue()
        process = spawn.Process(target=worker.run_actions, args=(
            self.url, uuid, ["stop", "start"], go, results, self.DRIVER,
            ready), kwargs=self.channel_options())
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


class ManageWaitElsewhere:
    """Mixin of :class:`DriverTestCase`: ``vmstate-manage wait`` in
    another process, woken by a commit here."""

    #: Whether the command's exit (its bus closing) counts in the time
    #: of the wake-up, as well as its last line.
    EXIT_IS_PROMPT = False

    def test_a_commit_here_wakes_vmstate_manage_wait_elsewhere(self):
        command = shutil.which("vmstate-manage")
        self.assertIsNotNone(command, "vmstate-manage is not installed")
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, "vmstate.conf")
        with open(conf, "w") as f:
            f.write("[database]\nconnection = %s\n[events]\ndriver = %s\n"
                    % (self.url, self.DRIVER))
            for name, value in dict(self.channel_options(),
                                    **self.command_options()).items():
                f.write("%s = %s\n" % (name, value))
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
        # Woken: the line of the last version.
        lines = []
        while not lines or not lines[-1].startswith(("version 5", "error")):
            line = proc.stdout.readline()
            self.assertNotEqual("", line, lines)
            lines.append(line)
        self.assertLess(time.monotonic() - began, PROMPT)
        # The rest through the same buffered reader: communicate() reads
        # the pipe itself, and would lose a line readline() has buffered.
        rest = proc.stdout.read()
        err = proc.stderr.read()
        proc.wait(timeout=PATIENCE)
        if self.EXIT_IS_PROMPT:
            self.assertLess(time.monotonic() - began, PROMPT)
        out = "".join(lines) + rest
        self.assertEqual(0, proc.returncode, err)
        self.assertEqual(
            "version 2: active (task powering-off)\n"
            "version 3: stopped  <- reached stopped (1/2)\n"
            "version 4: stopped (task powering-on)\n"
            "version 5: active  <- reached active (2/2)\n"
            "reached: stopped, active\n", out)


class ChannelTests:
    """Mixin of :class:`DriverTestCase`: what every channel does."""

    def assert_listening(self, driver):
        """What else says that ``driver``'s channel listens."""

    def send_malformed(self, bus):
        """Put a message no driver can read on ``bus``'s channel."""
        raise NotImplementedError

    def test_subscribing_waits_until_the_channel_listens(self):
        listener = self.other_bus()
        listener.subscribe("any", Recorder())
        self.assertTrue(listener.driver._ready.is_set())
        self.assert_listening(listener.driver)

    def test_own_changes_are_delivered_once(self):
        uuid = self.create()["uuid"]
        seen = Recorder()
        self.bus.subscribe(uuid, seen)
        self.step(uuid, "reboot")
        # A later message from elsewhere: the channel delivers one
        # sender's messages in order, so by the time it arrives the echo
        # of our own came (and was not delivered again).
        self.other_bus().driver.publish(events.StateChange(
            uuid, 99, "active", None, 1))
        self.assertEqual([2, 3, 99], seen.until(99))

    def test_malformed_messages_are_ignored(self):
        logger = self.useFixture(fixtures.FakeLogger())
        uuid = self.create()["uuid"]
        seen = Recorder()
        self.bus.subscribe(uuid, seen)
        other = self.other_bus()
        self.send_malformed(other)
        other.driver.publish(events.StateChange(uuid, 7, "active", None, 1))
        self.assertEqual([7], seen.until(7))
        self.assertIn("Ignoring a malformed message", logger.output)
