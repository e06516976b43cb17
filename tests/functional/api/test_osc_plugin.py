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

"""``openstack vmstate ...``: the real openstack CLI, with this
distribution's plugin, against a real ``vmstate-api`` process, with
``--os-auth-type none --os-endpoint``."""

import http.client
import json
import os
import shutil
import subprocess
import time

import fixtures
import testtools

from tests import keystone_fixture
from tests.functional.api import test_process

# One CLI run loads every plugin of python-openstackclient: seconds each.
CLI_TIMEOUT = 180


def _cli_setup(test):
    """The ``openstack`` command, a scratch directory and an environment
    without the caller's ``OS_*`` variables, for ``test``.

    :raises AssertionError: the openstack CLI is not installed.
    """
    command = shutil.which("openstack")
    if command is None:
        raise AssertionError("the openstack CLI is not installed "
                             "(python-openstackclient, test-requirements)")
    cwd = test.useFixture(fixtures.TempDir()).path
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    return command, cwd, env


class TestPlugin(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(test_process.APIProcess())
        self.command, self.cwd, self.env = _cli_setup(self)
        self.endpoint = "http://%s:%d" % (self.api.host, self.api.port)

    def argv(self, *args):
        return [self.command, "--os-auth-type", "none", "--os-endpoint",
                self.endpoint, "vmstate"] + list(args)

    def cli(self, *args, code=0):
        """stdout of one command, after checking its exit status."""
        done = subprocess.run(self.argv(*args), env=self.env, cwd=self.cwd,
                              capture_output=True, text=True,
                              timeout=CLI_TIMEOUT)
        self.assertEqual(code, done.returncode,
                         "openstack vmstate %s: %s" % (" ".join(args),
                                                       done.stderr))
        return done.stdout if code == 0 else done.stderr

    def cli_json(self, *args):
        return json.loads(self.cli(*(args + ("-f", "json"))))

    def http(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.api.host, self.api.port,
                                          timeout=30)
        self.addCleanup(conn.close)
        conn.request(method, path, body=body and json.dumps(body),
                     headers=dict(headers or {},
                                  **{"Content-Type": "application/json"}))
        res = conn.getresponse()
        return res.status, json.loads(res.read() or b"null")

    def register(self, vm_state):
        status, body = self.http("POST", "/v1/instances", {"instance": {
            "vm_state": vm_state, "task_state": None, "power_state": 1}})
        self.assertEqual(201, status, body)
        return body["instance"]["uuid"]

    def test_instances_actions_conflicts_and_history(self):
        uuid = self.register("active")
        other = self.register("stopped")

        listed = self.cli_json("instance", "list", "--vm-state", "active")
        self.assertEqual([(uuid, "active", None)],
                         [(r["UUID"], r["VM State"], r["Task State"])
                          for r in listed])
        self.assertEqual(1, len(self.cli_json(
            "instance", "list", "--task-state", "none", "--limit", "1")))

        shown = self.cli_json("instance", "show", uuid)
        self.assertEqual(("active", None), (shown["vm_state"],
                                            shown["task_state"]))
        self.assertIn("stop", shown["allowed_actions"])

        begun = self.cli_json("instance", "action", uuid, "stop",
                              "--reason", "maintenance")
        self.assertEqual("powering-off", begun["task_state"])

        # A conflict: one line, why, and what is allowed instead.
        err = self.cli("instance", "action", uuid, "stop", code=1)
        lines = err.strip().splitlines()
        self.assertEqual(1, len(lines), err)
        self.assertIn("Cannot 'stop' instance %s while it is in task_state "
                      "powering-off" % uuid, lines[0])
        self.assertIn("(allowed actions: delete, ", lines[0])
        self.assertIn("HTTP 409", lines[0])

        err = self.cli("instance", "show", "not-an-instance", code=1)
        self.assertIn("could not be found", err)
        err = self.cli("instance", "action", other, "fly", code=1)
        self.assertIn("HTTP 400", err)

        events = self.cli_json("event", "list", uuid)
        self.assertEqual([(1, "create"), (2, "stop")],
                         [(e["Version"], e["Action"]) for e in events])
        self.assertEqual({"vm_state": "active", "task_state": "powering-off",
                          "power_state": 1}, events[1]["To"])

    def test_wait_reached_with_progress_then_timeout_then_failed(self):
        uuid = self.register("active")
        status, begun = self.http("POST", "/v1/instances/%s/actions" % uuid,
                                  {"action": "stop"})
        self.assertEqual(202, status)
        waiting = subprocess.Popen(
            self.argv("instance", "wait", uuid, "--for", "stopped",
                      "--timeout", "120"),
            env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.addCleanup(waiting.kill)
        # The progress line says where it is before it gets there.
        progress = waiting.stderr.readline()
        self.assertIn("waiting for stopped: active/powering-off, version 2",
                      progress)
        status, body = self.http(
            "PATCH", "/v1/instances/%s" % uuid,
            {"instance": {"vm_state": "stopped", "task_state": None,
                          "power_state": 4},
             "expected": {"task_state": "powering-off",
                          "task_id": begun["instance"]["task_id"]}},
            headers={"X-Roles": "service", "X-Project-Id": "admin"})
        self.assertEqual(200, status, body)
        out, _ = waiting.communicate(timeout=CLI_TIMEOUT)
        self.assertEqual(0, waiting.returncode)
        self.assertIn("reached: stopped", out)

        began = time.monotonic()
        out = self.cli("instance", "wait", uuid, "--for", "active",
                       "--timeout", "1", code=2)
        self.assertGreater(time.monotonic() - began, 1)

        reset = self.cli_json("instance", "reset", uuid, "--state", "error",
                              "--reason", "disk lost")
        self.assertEqual(("error", None), (reset["vm_state"],
                                           reset["task_state"]))
        self.cli("instance", "wait", uuid, "--for", "active", "--timeout",
                 "60", code=1)

    def test_matrix(self):
        cells = self.cli_json("matrix", "show")
        active = [c for c in cells
                  if (c["VM State"], c["Task State"]) == ("active", None)]
        self.assertEqual(1, len(active))
        self.assertIn("reboot", active[0]["Actions"])
        self.assertIn('"VM State","Task State","Actions"',
                      self.cli("matrix", "show", "-f", "csv"))
        dot = self.cli("matrix", "diagram")
        self.assertTrue(dot.startswith("digraph vmstate {"), dot[:80])
        self.assertIn("plugins: nova", dot)
        self.assertIn('"active" -> "stopped" [label="stop"];', dot)


class TestPluginKeystone(testtools.TestCase):
    """``openstack vmstate ...`` with Keystone: the token from Keystone,
    vmstate's endpoint from the catalog (service type ``instance-state``),
    the real ``vmstate-api`` in keystone mode checking the token."""

    def setUp(self):
        super().setUp()
        self.ks = keystone_fixture.keystone(self)
        self.api = self.useFixture(test_process.APIProcess(
            self.ks.authtoken_conf()))
        # Found through the catalog, not given on the command line.
        self.ks.set_vmstate_endpoint("http://%s:%d" % (self.api.host,
                                                       self.api.port))
        self.command, self.cwd, self.env = _cli_setup(self)

    def cli(self, user, *args, code=0, password=None):
        argv = [self.command, "--os-auth-url", self.ks.auth_url,
                "--os-identity-api-version", "3",
                "--os-user-id", user.id,
                "--os-password", password or user.password,
                "--os-project-id", user.project_id,
                "--os-region-name", "RegionOne", "--os-interface", "public",
                "vmstate"] + list(args)
        done = subprocess.run(argv, env=self.env, cwd=self.cwd,
                              capture_output=True, text=True,
                              timeout=CLI_TIMEOUT)
        self.assertEqual(code, done.returncode,
                         "openstack vmstate %s: %s" % (" ".join(args),
                                                       done.stderr))
        return done.stdout if code == 0 else done.stderr

    def test_catalog_round_trip_and_bad_credentials(self):
        member = self.ks.member_a
        status, body = self.api.request(
            "POST", "/v1/instances",
            {"instance": {"vm_state": "active", "task_state": None}},
            headers={"X-Auth-Token": member.token()})
        self.assertEqual(201, status, body)
        uuid = body["instance"]["uuid"]
        status, body = self.api.request(
            "POST", "/v1/instances",
            {"instance": {"vm_state": "active", "task_state": None}},
            headers={"X-Auth-Token": self.ks.member_b.token()})
        self.assertEqual(201, status, body)
        # The member of a lists a's instance only.
        listed = json.loads(self.cli(member, "instance", "list", "-f",
                                     "json"))
        self.assertEqual([uuid], [r["UUID"] for r in listed])
        begun = json.loads(self.cli(member, "instance", "action", uuid,
                                    "stop", "-f", "json"))
        self.assertEqual("powering-off", begun["task_state"])
        # The reader sees it, and is refused an action in one line.
        shown = json.loads(self.cli(self.ks.reader_a, "instance", "show",
                                    uuid, "-f", "json"))
        self.assertEqual(("active", "powering-off"),
                         (shown["vm_state"], shown["task_state"]))
        err = self.cli(self.ks.reader_a, "instance", "action", uuid,
                       "reboot", code=1)
        self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertIn("HTTP 403", err)
        # A wrong password: Keystone's 401, one line, exit 1.
        err = self.cli(member, "instance", "list", code=1,
                       password="wrong")
        self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertIn("401", err)
