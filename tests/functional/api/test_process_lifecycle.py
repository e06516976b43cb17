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

"""The sweeper thread of the real ``vmstate-api`` process: it fires a
timeout on its own, and stops with the service on SIGTERM; a bad
``[lifecycle]`` configuration stops the service at start."""

import os
import shutil
import signal
import subprocess
import time

import fixtures
import testtools

from tests.functional.api import test_process

SWEEPING = ("[lifecycle]\ntask_timeouts = powering-off:1:clear\n"
            "sweep_interval = 0.2\n")


class TestSweeperThread(testtools.TestCase):

    def test_fires_timeouts_and_stops_on_sigterm(self):
        api = self.useFixture(test_process.APIProcess(SWEEPING))
        status, body = api.request(
            "POST", "/v1/instances",
            {"instance": {"vm_state": "active", "task_state": None}})
        self.assertEqual(201, status, body)
        uuid = body["instance"]["uuid"]
        status, body = api.request("POST", "/v1/instances/%s/actions" % uuid,
                                   {"action": "stop"})
        self.assertEqual(202, status, body)
        deadline = time.monotonic() + 30
        while True:
            status, body = api.request("GET", "/v1/instances/%s" % uuid)
            if body["instance"]["task_state"] is None:
                break
            self.assertLess(time.monotonic(), deadline, api.logs())
            time.sleep(0.1)
        self.assertEqual("active", body["instance"]["vm_state"])
        status, body = api.request("GET", "/v1/instances/%s/events" % uuid)
        self.assertEqual(["create", "stop", "timeout"],
                         [e["action"] for e in body["events"]])
        api.process.send_signal(signal.SIGTERM)
        self.assertEqual(0, api.process.wait(30), api.logs())
        self.assertIn("Sweeper stopped", api.logs())

    def test_without_the_sweeper(self):
        api = self.useFixture(test_process.APIProcess(
            SWEEPING + "run_sweeper = false\n"))
        status, body = api.request(
            "POST", "/v1/instances",
            {"instance": {"vm_state": "active", "task_state": None}})
        uuid = body["instance"]["uuid"]
        api.request("POST", "/v1/instances/%s/actions" % uuid,
                    {"action": "stop"})
        time.sleep(1.5)
        status, body = api.request("GET", "/v1/instances/%s" % uuid)
        self.assertEqual("powering-off", body["instance"]["task_state"])
        api.process.send_signal(signal.SIGTERM)
        self.assertEqual(0, api.process.wait(30), api.logs())
        self.assertNotIn("Sweeper running", api.logs())

    def test_a_timeout_for_an_unknown_task_state_stops_the_start(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, "vmstate.conf")
        with open(conf, "w") as f:
            f.write("[DEFAULT]\nstate_path = %s\n[api]\nport = 0\n"
                    "[lifecycle]\ntask_timeouts = rebootin:60\n" % tmp)
        result = subprocess.run(
            [shutil.which("vmstate-api"), "--config-file", conf], cwd=tmp,
            capture_output=True, text=True, timeout=60)
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertIn("task_timeouts names task_state(s) the matrix does "
                      "not know: rebootin", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
