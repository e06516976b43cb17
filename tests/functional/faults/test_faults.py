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

"""Fault injection: nothing lost, nothing applied twice, service recovers.

Each test runs the history checker's workload against a real vmstate-api
while something breaks underneath it, then audits every history:

* every backend connection of the API's database killed
  (``pg_terminate_backend``), repeatedly, mid-run;
* the database server itself restarted mid-run (a private PostgreSQL
  cluster, so no other test sees it go);
* the API process killed with SIGKILL mid-request, and a new one started
  on the same database.

Requests that got no answer, or a 503 while the store was gone, are "in
doubt": their change may be in the history, once. Anything else unknown
to the clients, any acknowledged change missing, any broken chain or any
500 is a violation.
"""

import os
import shutil
import socket
import subprocess
import threading
import time

import fixtures
import sqlalchemy as sa

from tests import concurrency
from tests.functional.api import test_process
from tests.functional.db import base
from tools import history_check as hc
from vmstate.matrix import loader

PG_BIN = "/usr/lib/postgresql/%s/bin"


def _url(api):
    return "http://%s:%d" % (api.host, api.port)


class _FaultCase:

    def audit(self, url, uuids, ledger):
        events = hc.audit(url, {}, uuids, loader.load(["nova"]),
                          ledger)
        report = self._report(ledger, events)
        self.assertEqual([], ledger.violations, report)
        return events

    def _report(self, ledger, events):
        import io

        from testtools import content
        out = io.StringIO()
        hc.report(ledger, events, out)
        self.addDetail("history", content.text_content(out.getvalue()))
        return out.getvalue()

    def assert_serves(self, url):
        client = hc.Client(url)
        try:
            status, body = client.request("POST", "/v1/instances",
                                          {"instance": {}})
        finally:
            client.close()
        self.assertEqual(201, status, body)


class TestConnectionsKilled(_FaultCase, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated

    def test_backends_terminated_mid_run(self):
        api = self.useFixture(test_process.APIProcess(
            extra_conf="[database]\nconnection = %s\n" % self.url))
        url = _url(api)
        uuids = hc.create_instances(url, 4)
        ledger = hc.Ledger(faults=True)
        stop = threading.Event()
        killed = []

        def kill_backends():
            while not stop.wait(0.2):
                with self.engine.connect() as conn:
                    killed.append(conn.execute(sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM "
                        "pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid()"))
                        .scalar())

        killer = concurrency.Background(kill_backends, name="killer",
                                        test=self)
        try:
            hc.workload(url, uuids, ledger, clients=4, operations=200,
                        seed=11)
        finally:
            stop.set()
        killer.outcome(60)
        self.assertGreater(sum(killed), 0, "no connection was killed")
        self.audit(url, uuids, ledger)
        self.assert_serves(url)


class TestAPIKilled(_FaultCase, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated

    def test_sigkill_mid_request_then_a_new_process(self):
        conf = "[database]\nconnection = %s\n" % self.url
        first = self.useFixture(test_process.APIProcess(extra_conf=conf))
        uuids = hc.create_instances(_url(first), 4)
        ledger = hc.Ledger(faults=True)
        worker = concurrency.Background(lambda: hc.workload(
            _url(first), uuids, ledger, clients=4, operations=400,
            seed=12), name="workload", test=self)
        deadline = time.monotonic() + 30
        while sum(ledger.counts.values()) < 60:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        first.process.kill()
        worker.outcome(60)
        self.assertEqual(-9, first.process.wait(10))
        lost = sum(n for (kind, status), n in ledger.counts.items()
                   if status in (hc.NOT_SENT, hc.NO_ANSWER))
        self.assertGreater(lost, 0, "the kill interrupted nothing")
        second = self.useFixture(test_process.APIProcess(extra_conf=conf))
        self.audit(_url(second), uuids, ledger)
        self.assert_serves(_url(second))


class PrivatePostgreSQL(fixtures.Fixture):
    """A PostgreSQL cluster of the test's own, that it may restart."""

    def _setUp(self):
        versions = sorted(os.listdir("/usr/lib/postgresql"))
        if not versions:
            raise AssertionError("PostgreSQL server binaries are missing")
        self.bin = PG_BIN % versions[-1]
        self.dir = self.useFixture(fixtures.TempDir()).path
        shutil.chown(self.dir, "postgres")
        self.data = os.path.join(self.dir, "data")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._pg("initdb", "-D", self.data, "-A", "trust", "-U",
                 "postgres", "--no-sync")
        self.start()
        self.addCleanup(self._pg, "pg_ctl", "-D", self.data, "-m",
                        "immediate", "-w", "stop")
        self._pg("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                 "postgres", "-c", "CREATE DATABASE vmstate")
        self.url = ("postgresql+psycopg2://postgres@127.0.0.1:%d/vmstate"
                    % self.port)

    def _pg(self, tool, *args):
        subprocess.run(["runuser", "-u", "postgres", "--",
                        os.path.join(self.bin, tool), *args],
                       check=True, capture_output=True, timeout=120,
                       cwd=self.dir)

    def start(self):
        self._pg("pg_ctl", "-D", self.data, "-l",
                 os.path.join(self.dir, "server.log"), "-w", "-o",
                 "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off"
                 % (self.port, self.dir), "start")

    def stop(self):
        self._pg("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")


class TestDatabaseRestarted(_FaultCase, test_process.testtools.TestCase):

    def test_restart_mid_run(self):
        pg = self.useFixture(PrivatePostgreSQL())
        tmp = self.useFixture(fixtures.TempDir()).path
        conf_file = os.path.join(tmp, "vmstate.conf")
        conf = "[database]\nconnection = %s\n" % pg.url
        with open(conf_file, "w") as f:
            f.write(conf)
        subprocess.run([shutil.which("vmstate-manage"), "--config-file",
                        conf_file, "db", "sync"], check=True,
                       capture_output=True, timeout=120)
        api = self.useFixture(test_process.APIProcess(extra_conf=conf))
        url = _url(api)
        uuids = hc.create_instances(url, 4)
        ledger = hc.Ledger(faults=True)
        worker = concurrency.Background(lambda: hc.workload(
            url, uuids, ledger, clients=4, operations=600, seed=13),
            name="workload", test=self)
        # Down once the workload is under way, for longer than the store's
        # retries last (about 1.6 s), so some requests must outlast them.
        deadline = time.monotonic() + 60
        while sum(ledger.counts.values()) < 40:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        pg.stop()
        time.sleep(3)
        pg.start()
        worker.outcome(180)
        unavailable = sum(n for (kind, status), n in ledger.counts.items()
                          if status == 503)
        self.assertGreater(unavailable, 0, "the restart was not noticed: "
                           "%s" % sorted(ledger.counts.items()))
        self.audit(url, uuids, ledger)
        self.assert_serves(url)
