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

"""The real ``vmstate-api`` process, started as an operator would."""

import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import time

import fixtures
import testtools

START_TIMEOUT = 60


class APIProcess(fixtures.Fixture):
    """``vmstate-api`` on a free port with a temporary SQLite file.

    Started from a temporary working directory with the installed console
    script, so it proves the installed package runs from anywhere.
    """

    def __init__(self, extra_conf=""):
        super().__init__()
        self.extra_conf = extra_conf

    def _setUp(self):
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.conf = os.path.join(self.dir, "vmstate.conf")
        with open(self.conf, "w") as f:
            f.write("[DEFAULT]\nstate_path = %s\n[api]\nport = 0\n"
                    "threads = 256\nshutdown_timeout = 5\n%s" % (
                        self.dir, self.extra_conf))
        command = shutil.which("vmstate-api")
        if command is None:
            raise AssertionError("vmstate-api is not installed")
        # Everything the service prints goes to a file: a pipe nobody
        # reads would fill up and block the service's logging.
        self.log = open(os.path.join(self.dir, "api.log"), "w+")
        self.addCleanup(self.log.close)
        self.process = subprocess.Popen(
            [command, "--config-file", self.conf], cwd=self.dir,
            stdout=self.log, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(self._kill)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            found = re.search(r"listening on http://([^:/]+):(\d+)/",
                              self.logs())
            if found:
                self.host, self.port = found.group(1), int(found.group(2))
                break
            if self.process.poll() is not None or \
                    time.monotonic() > deadline:
                raise AssertionError("vmstate-api did not start: %s"
                                     % self.logs())
            time.sleep(0.05)

    def logs(self):
        with open(self.log.name) as f:
            return f.read()

    def _kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            all_headers = {"Content-Type": "application/json"}
            all_headers.update(headers or {})
            conn.request(method, path,
                         None if body is None else json.dumps(body),
                         all_headers)
            res = conn.getresponse()
            data = res.read()
            return res.status, json.loads(data) if data else None
        finally:
            conn.close()


class TestAPIProcess(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(APIProcess())

    def test_serves_and_stops_cleanly(self):
        status, body = self.api.request("GET", "/")
        self.assertEqual(200, status)
        status, body = self.api.request(
            "POST", "/v1/instances",
            {"instance": {"vm_state": "active", "task_state": None}})
        self.assertEqual(201, status, body)
        uuid = body["instance"]["uuid"]
        status, body = self.api.request("POST", "/v1/instances/%s/actions"
                                        % uuid, {"action": "stop"})
        self.assertEqual(202, status, body)
        self.assertEqual("powering-off", body["instance"]["task_state"])
        status, body = self.api.request("GET", "/v1/instances/%s/events"
                                        % uuid)
        self.assertEqual([1, 2], [e["version"] for e in body["events"]])
        self.assertTrue(os.path.exists(os.path.join(self.api.dir,
                                                    "vmstate.sqlite")))
        self.api.process.send_signal(signal.SIGTERM)
        self.assertEqual(0, self.api.process.wait(30), self.api.logs())

    def test_racing_actions_have_one_winner(self):
        status, body = self.api.request(
            "POST", "/v1/instances",
            {"instance": {"vm_state": "active", "task_state": None}})
        uuid = body["instance"]["uuid"]

        def reboot(_):
            return self.api.request("POST", "/v1/instances/%s/actions"
                                    % uuid, {"action": "reboot"})

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(reboot, range(16)))
        codes = sorted(status for status, _ in results)
        self.assertEqual([202] + [409] * 15, codes, results)
        for status, body in results:
            if status == 409:
                self.assertIn("task_state rebooting",
                              body["conflictingRequest"]["message"])
        status, body = self.api.request("GET", "/v1/instances/%s/events"
                                        % uuid)
        self.assertEqual([1, 2], [e["version"] for e in body["events"]])

    def test_two_hundred_requests_at_once(self):
        status, body = self.api.request("POST", "/v1/instances",
                                        {"instance": {}})
        uuid = body["instance"]["uuid"]
        conns = []
        try:
            # Hold 200 connections open with requests in flight (headers
            # sent, body pending), then complete them all.
            for _ in range(200):
                conn = http.client.HTTPConnection(self.api.host,
                                                  self.api.port, timeout=60)
                conn.putrequest("GET", "/v1/instances/%s" % uuid)
                conn.endheaders()
                conns.append(conn)
            statuses = []
            for conn in conns:
                res = conn.getresponse()
                res.read()
                statuses.append(res.status)
        finally:
            for conn in conns:
                conn.close()
        self.assertEqual([200] * 200, statuses)
