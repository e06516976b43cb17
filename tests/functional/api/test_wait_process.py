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



"""Long-poll waits on the real ``vmstate-api`` process.

One process holds 200 waits at once and still answers other requests,
wakes them all on one transition, and stops at once on SIGTERM however
long its waits were meant to be.
"""

import http.client
import json
import signal
import time

import testtools

from tests.functional.api.test_process import APIProcess

WAITERS = 200
PATIENCE = 60


class TestLongPolls(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(APIProcess())
        status, body = self.api.request(
            "POST", "/v1/instances",
            {"instance": {"vm_state": "active", "task_state": None}})
        self.assertEqual(201, status, body)
        self.uuid = body["instance"]["uuid"]
        self.conns = []
        self.addCleanup(self._close)

    def _close(self):
        for conn in self.conns:
            conn.close()

    def send_waits(self, count, query):
        """``count`` GET /wait requests in flight (not yet answered)."""
        for _ in range(count):
            conn = http.client.HTTPConnection(self.api.host, self.api.port,
                                              timeout=PATIENCE + 30)
            conn.putrequest("GET", "/v1/instances/%s/wait?%s" % (
                self.uuid, query))
            conn.endheaders()
            self.conns.append(conn)

    def answers(self):
        out = []
        for conn in self.conns:
            res = conn.getresponse()
            out.append((res.status, json.loads(res.read())))
        return out

    def test_two_hundred_waits_at_once(self):
        self.send_waits(WAITERS, "for=stopped&timeout=%d" % PATIENCE)
        # With 200 waits held, the service still answers: the requests
        # are queued in order, so the waits all have their thread now.
        began = time.monotonic()
        status, body = self.api.request("GET", "/v1/instances/%s"
                                        % self.uuid)
        self.assertEqual(200, status, body)
        self.assertLess(time.monotonic() - began, PATIENCE / 4)
        status, body = self.api.request(
            "PATCH", "/v1/instances/%s" % self.uuid,
            {"instance": {"vm_state": "stopped", "power_state": 4},
             "expected": {"version": 1}})
        self.assertEqual(200, status, body)
        answers = self.answers()
        self.assertLess(time.monotonic() - began, PATIENCE / 2,
                        self.api.logs())
        self.assertEqual([200] * WAITERS, [s for s, _ in answers])
        self.assertEqual({("reached", 2)},
                         {(b["status"], b["instance"]["version"])
                          for _, b in answers})
        self.assertTrue(all(b["seen"][-1] == "stopped" for _, b in answers))

    def test_sigterm_ends_waits_at_once(self):
        self.send_waits(1, "for=stopped&timeout=%d" % PATIENCE)
        status, _ = self.api.request("GET", "/v1/instances/%s" % self.uuid)
        self.assertEqual(200, status)
        began = time.monotonic()
        self.api.process.send_signal(signal.SIGTERM)
        [(status, body)] = self.answers()
        self.assertEqual(503, status, body)
        self.assertEqual("serviceUnavailable", list(body)[0])
        self.assertEqual(0, self.api.process.wait(PATIENCE),
                         self.api.logs())
        # Not held for the wait's 60 s, nor for [api] shutdown_timeout.
        self.assertLess(time.monotonic() - began, 5, self.api.logs())
