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



"""``vmstate-manage wait``: progress lines and exit codes.

In-process through :func:`vmstate.cmd.manage.main`, with transitions
committed from another thread once the command has read the instance;
and through the installed console script in a process of its own.
"""

import io
import os
import shutil
import subprocess

import fixtures

from tests import concurrency
from tests import events_fixture
from tests.unit.db import base
from vmstate import lifecycle
from vmstate.cmd import manage
from vmstate.conf import CONF

PATIENCE = 30


class ManageWaitTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(events_fixture.Bus())
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.conf = os.path.join(self.tmp, "vmstate.conf")
        with open(self.conf, "w") as f:
            # Only events may end these waits, never the safety net.
            f.write("[database]\nconnection = %s\n[events]\n"
                    "resync_interval = %d\n" % (self.db.url, PATIENCE))
        self.read = self.useFixture(events_fixture.WaitRead()).event

    def manage(self, *argv, then=None):
        """Run ``vmstate-manage wait``: (exit code, stdout, stderr).

        ``then`` runs in another thread once the command has read the
        instance.
        """
        out = self.useFixture(fixtures.MonkeyPatch(
            "sys.stdout", io.StringIO())).new_value
        err = self.useFixture(fixtures.MonkeyPatch(
            "sys.stderr", io.StringIO())).new_value

        def later():
            if self.read.wait(PATIENCE):
                then()

        worker = None
        if then is not None:
            worker = concurrency.Background(later, name="then", test=self,
                                            timeout=PATIENCE)
        CONF.clear()
        code = manage.main(["--config-file", self.conf, "wait", *argv])
        if worker is not None:
            worker.outcome(PATIENCE)
        return code, out.getvalue(), err.getvalue()

    def step(self, uuid, action):
        return lifecycle.begin(self.admin, uuid, action).finish()


class TestExitCodes(ManageWaitTestCase):

    def test_reached_at_once(self):
        uuid = self.create()["uuid"]
        code, out, err = self.manage(uuid, "--for", "active")
        self.assertEqual((0, ""), (code, err))
        self.assertEqual("version 1: active  <- reached active (1/1)\n"
                         "reached: active\n", out)

    def test_sequence_with_progress(self):
        uuid = self.create()["uuid"]

        def stop_then_start():
            self.step(uuid, "stop")
            self.step(uuid, "start")

        code, out, err = self.manage(uuid, "--for", "stopped", "--for",
                                     "active", "--timeout", "60",
                                     then=stop_then_start)
        self.assertEqual((0, ""), (code, err))
        self.assertEqual(
            "version 1: active\n"
            "version 2: active (task powering-off)\n"
            "version 3: stopped  <- reached stopped (1/2)\n"
            "version 4: stopped (task powering-on)\n"
            "version 5: active  <- reached active (2/2)\n"
            "reached: stopped, active\n", out)

    def test_failed(self):
        uuid = self.create()["uuid"]

        def break_it():
            lifecycle.begin(self.admin, uuid, "stop").fail("no power")

        code, out, err = self.manage(uuid, "--for", "stopped",
                                     then=break_it)
        self.assertEqual((1, ""), (code, err))
        self.assertTrue(out.endswith(
            "version 3: error\nfailed: instance %s is error, from which "
            "stopped cannot be reached\n" % uuid), out)

    def test_timeout(self):
        uuid = self.create()["uuid"]
        code, out, err = self.manage(uuid, "--for", "stopped", "--timeout",
                                     "0.05")
        self.assertEqual((2, ""), (code, err))
        self.assertEqual("version 1: active\n"
                         "timeout: stopped not reached within 0.05 s\n", out)

    def test_errors_say_why(self):
        uuid = self.create()["uuid"]
        for argv, message in (
                (("6b1a1a54-0000-4000-8000-000000000000", "--for",
                  "active"), "could not be found"),
                ((uuid, "--for", "runnning"), "'runnning' is not a vm_state"),
                ((uuid,), "name the vm_state to wait for"),
                ((uuid, "--for", "active", "--timeout", "soon"),
                 "--timeout must be a number of seconds"),
                ((uuid, "--for", "active", "--timeout", "-1"),
                 "timeout must be a number of seconds >= 0")):
            code, out, err = self.manage(*argv)
            self.assertEqual((1, ""), (code, out), argv)
            self.assertIn(message, err, argv)
            self.assertTrue(err.startswith("vmstate-manage: "), err)


class TestConsoleScript(base.TestCase):

    def test_another_process_waits_for_this_one(self):
        # The local driver: the command hears of this process's commit
        # through its safety net, set short here.
        command = shutil.which("vmstate-manage")
        self.assertIsNotNone(command, "vmstate-manage is not installed")
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, "vmstate.conf")
        with open(conf, "w") as f:
            f.write("[database]\nconnection = %s\n[events]\n"
                    "resync_interval = 0.2\n" % self.db.url)
        uuid = self.create()["uuid"]
        proc = subprocess.Popen(
            [command, "--config-file", conf, "wait", uuid, "--for",
             "stopped", "--timeout", str(PATIENCE)], cwd=tmp,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # Its first line: it has read the instance and waits.
        self.assertEqual("version 1: active\n", proc.stdout.readline())
        lifecycle.begin(self.admin, uuid, "stop").finish()
        out, err = proc.communicate(timeout=PATIENCE)
        self.assertEqual(0, proc.returncode, err)
        self.assertTrue(out.endswith("<- reached stopped (1/1)\n"
                                     "reached: stopped\n"), out)
