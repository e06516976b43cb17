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

"""Idle connections and long-poll waits do not take the service away.

The real ``vmstate-api`` process on loopback, a small worker pool (32
threads, at most 16 waits, 8 per project), and bounded loops: 1,000
connections that never send a byte, the wait cap reached, and still
``/healthcheck`` and a show answer within a second.
"""

import http.client
import json
import select
import socket
import time

import testtools

from tests import concurrency
from tests.functional.api.test_process import APIProcess

THREADS = 32
MAX_WAITS = 16
PER_PROJECT = 8
IDLE_CONNECTIONS = 1000
PATIENCE = 60


def member(project):
    return {"X-Project-Id": project, "X-User-Id": "u-" + project,
            "X-Roles": "member"}


class TestExhaustion(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(APIProcess(
            "[api]\nthreads = %d\nmax_waits = %d\n"
            "max_waits_per_project = %d\n" % (THREADS, MAX_WAITS,
                                              PER_PROJECT)))
        self.socks = []
        self.addCleanup(self._close)
        self.uuids = {p: self.create(p) for p in ("pa", "pb", "pc")}

    def _close(self):
        for sock in self.socks:
            sock.close()

    def create(self, project):
        status, body = self.api.request(
            "POST", "/v1/instances",
            {"instance": {"vm_state": "active", "task_state": None,
                          "project_id": project}})
        self.assertEqual(201, status, body)
        return body["instance"]["uuid"]

    def wait_path(self, project, timeout):
        return "/v1/instances/%s/wait?for=stopped&timeout=%s" % (
            self.uuids[project], timeout)

    def send_waits(self, project, count):
        """``count`` waits of ``project`` sent, not yet answered."""
        conns = []
        for _ in range(count):
            conn = http.client.HTTPConnection(self.api.host, self.api.port,
                                              timeout=PATIENCE + 30)
            conn.putrequest("GET", self.wait_path(project, PATIENCE))
            for name, value in member(project).items():
                conn.putheader(name, value)
            conn.endheaders()
            conns.append(conn)
        self.socks.extend(conns)
        return conns

    def first_answer(self, conns):
        """The first of ``conns`` to be answered: status, headers, body.
        Whichever request came last to the server was refused; the
        others are the waits it holds."""
        ready, _, _ = select.select([c.sock for c in conns], [], [],
                                    PATIENCE)
        self.assertTrue(ready, "no wait was refused")
        [conn] = [c for c in conns if c.sock is ready[0]]
        res = conn.getresponse()
        return res.status, res.headers, json.loads(res.read())

    def timed(self, path):
        began = time.monotonic()
        status, body = self.api.request(
            "GET", path, headers={"Accept": "application/json"})
        return status, time.monotonic() - began

    def test_wait_caps_and_idle_connections(self):
        # One project reaches its own cap: one more is refused at once,
        # 429, Nova's overLimit.
        status, headers, body = self.first_answer(
            self.send_waits("pa", PER_PROJECT + 1))
        self.assertEqual(429, status, body)
        self.assertEqual(["overLimit"], list(body))
        self.assertEqual(429, body["overLimit"]["code"])
        self.assertIn("project pa", body["overLimit"]["message"])
        self.assertGreater(int(headers["Retry-After"]), 0)
        # Other projects still wait, up to the total cap.
        status, headers, body = self.first_answer(
            self.send_waits("pb", MAX_WAITS - PER_PROJECT)
            + self.send_waits("pc", 1))
        self.assertEqual(429, status, body)
        self.assertIn("on this server", body["overLimit"]["message"])
        # 1,000 connections that never send a byte.
        for _ in range(IDLE_CONNECTIONS):
            self.socks.append(socket.create_connection(
                (self.api.host, self.api.port), timeout=30))
        # The server accepts connections in order: once this answers, it
        # holds all of them.
        self.assertEqual(200, self.api.request("GET", "/")[0])
        # Short requests still have their threads.
        for path in ("/healthcheck",
                     "/v1/instances/%s" % self.uuids["pa"]):
            status, seconds = self.timed(path)
            self.assertEqual(200, status, path)
            self.assertLess(seconds, 1.0, path)
        # The held waits are answered when their instance changes.
        status, body = self.api.request(
            "POST", "/v1/instances/%s/actions" % self.uuids["pa"],
            {"action": "stop"})
        self.assertEqual(202, status, body)

    def test_keep_alive_beyond_ten_connections(self):
        # cheroot's default closes every keep-alive connection beyond 10.
        conns = [http.client.HTTPConnection(self.api.host, self.api.port,
                                            timeout=30) for _ in range(50)]
        for conn in conns:
            self.addCleanup(conn.close)
        for _ in range(2):
            for conn in conns:
                conn.request("GET", "/")
                res = conn.getresponse()
                res.read()
                self.assertEqual(200, res.status)
                self.assertNotEqual("close", res.headers.get("Connection"))


class TestConnectionTimeouts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(APIProcess(
            "[api]\nclient_socket_timeout = 2\n"))

    def test_silent_connections_close_and_waits_outlive_them(self):
        status, body = self.api.request(
            "POST", "/v1/instances",
            {"instance": {"vm_state": "active", "task_state": None}})
        uuid = body["instance"]["uuid"]
        sock = socket.create_connection((self.api.host, self.api.port),
                                        timeout=30)
        self.addCleanup(sock.close)
        began = time.monotonic()
        # A wait longer than the socket timeout still answers.
        status, body = self.api.request(
            "GET", "/v1/instances/%s/wait?for=stopped&timeout=4" % uuid)
        self.assertEqual((200, "timeout"), (status, body["status"]))
        self.assertGreaterEqual(time.monotonic() - began, 4)
        # The connection that never sent a byte was closed meanwhile
        # (cheroot's expiry runs about once per timeout).
        self.assertEqual(b"", sock.recv(1))
        self.assertLess(time.monotonic() - began, 15)


class TestSlowHeaders(testtools.TestCase):
    """Clients that send their headers one byte a second ("slowloris")
    are cut at ``[api] header_timeout``: they hold no worker for longer,
    though each byte comes well within ``client_socket_timeout``."""

    THREADS = 8
    HEADER_TIMEOUT = 3
    #: More slow clients than workers: without the deadline, every worker
    #: is held and nothing else is ever answered.
    SLOW_CLIENTS = 2 * THREADS
    #: How long the slow clients keep sending (a bound for the loop).
    DRIBBLE_SECONDS = 4 * HEADER_TIMEOUT

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(APIProcess(
            "[api]\nthreads = %d\nmax_waits = 4\nheader_timeout = %d\n"
            "client_socket_timeout = 30\n" % (self.THREADS,
                                               self.HEADER_TIMEOUT)))

    def test_slow_headers_are_cut_and_others_answered(self):
        request = (b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n"
                   + b"X-Slow: " + b"a" * 100)
        socks = []
        for _ in range(self.SLOW_CLIENTS):
            sock = socket.create_connection((self.api.host, self.api.port),
                                            timeout=30)
            self.addCleanup(sock.close)
            socks.append(sock)
        began = time.monotonic()
        closed_after = {}
        answer = {}

        def normal_request():
            t0 = time.monotonic()
            status, _ = self.api.request("GET", "/")
            seconds = time.monotonic() - t0
            answer.update(status=status, seconds=seconds)

        asker = None
        for position in range(len(request)):
            elapsed = time.monotonic() - began
            if elapsed > self.DRIBBLE_SECONDS or \
                    len(closed_after) == len(socks):
                break
            for number, sock in enumerate(socks):
                if number in closed_after:
                    continue
                try:
                    sock.sendall(request[position:position + 1])
                    # A closed connection reads as EOF.
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable and sock.recv(1024) == b"":
                        closed_after[number] = elapsed
                except OSError:
                    closed_after[number] = elapsed
            if position == 1:
                # Every worker holds a slow client now.
                asker = concurrency.Background(normal_request,
                                               name="asker", test=self)
            time.sleep(1)
        self.assertIsNotNone(asker, "the normal request was never sent")
        asker.join(30)
        self.assertFalse(asker.is_alive(), "the normal request hung")
        asker.outcome(0)
        # Every slow client was cut once it had held a worker for the
        # deadline (plus the watchdog's period, a second, and slack for a
        # loaded host): the first THREADS of them at once, the others
        # (queued meanwhile) one deadline later.
        self.assertEqual(len(socks), len(closed_after), closed_after)
        waves = -(-self.SLOW_CLIENTS // self.THREADS)
        self.assertLess(max(closed_after.values()),
                        waves * (self.HEADER_TIMEOUT + 2), closed_after)
        # The normal request waited for a worker at most one deadline.
        self.assertEqual(200, answer["status"])
        self.assertLess(answer["seconds"], self.HEADER_TIMEOUT + 4, answer)
