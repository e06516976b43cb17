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


"""Several ``vmstate-api`` processes behind a load balancer, under load.

:class:`APIs` starts one real ``vmstate-api`` per database URL (each
process on its own database node, on a Galera cluster; the same URL
thrice on PostgreSQL), with the event bus and the sweeper configured as a
deployment would. :class:`ScaleOutChecks` holds what every such run must
show: the history checker's clients, spread over every API at random,
find no violation (no stale read, nothing lost or applied twice); the
sweepers fire each timeout once; a wait through one API wakes on a change
made through another, by the bus, long before the safety net.
"""

import collections
import io
import os
import shutil
import subprocess
import time

import fixtures
from testtools import content

from tests import concurrency
from tests import rabbitmq_fixture
from tests.functional.api import test_process
from tools import history_check as hc
from vmstate.matrix import loader

#: Seconds without progress before a task times out, in these runs.
TASK_TIMEOUT = 2
SWEEP_INTERVAL = 0.5
# Far beyond every wait here: only the bus can wake a waiter in time.
RESYNC_INTERVAL = 60
PROMPT = 10
CLIENTS = 12


def events_conf(driver: str, transport_url: str | None = None,
                channel: str | None = None) -> str:
    """The ``[events]`` section for ``driver``."""
    text = "[events]\ndriver = %s\nresync_interval = %d\n" % (
        driver, RESYNC_INTERVAL)
    if transport_url:
        text += "transport_url = %s\n" % transport_url
    if channel:
        text += "channel = %s\n" % channel
    return text


def db_sync(url: str, directory: str) -> None:
    """``vmstate-manage db sync`` on ``url``, as an operator runs it."""
    conf = os.path.join(directory, "sync.conf")
    with open(conf, "w") as f:
        f.write("[database]\nconnection = %s\n" % url)
    command = shutil.which("vmstate-manage")
    if command is None:
        raise AssertionError("vmstate-manage is not installed")
    subprocess.run([command, "--config-file", conf, "db", "sync"],
                   check=True, capture_output=True, timeout=300)


class APIs(fixtures.Fixture):
    """One ``vmstate-api`` per URL of ``databases``; ``urls``: theirs."""

    def __init__(self, databases: list[str], events: str) -> None:
        super().__init__()
        self.databases = databases
        self.events = events

    def _setUp(self) -> None:
        self.processes = []
        for database in self.databases:
            self.processes.append(self.useFixture(test_process.APIProcess(
                extra_conf=(
                    "[database]\nconnection = %s\n%s"
                    "[lifecycle]\ndefault_task_timeout = %d\n"
                    "default_timeout_reaction = clear\n"
                    "sweep_interval = %s\npower_drift_reaction = none\n"
                    % (database, self.events, TASK_TIMEOUT,
                       SWEEP_INTERVAL)))))
        self.urls = ["http://%s:%d" % (p.host, p.port)
                     for p in self.processes]


class ScaleOutChecks:
    """Assertions shared by the multi-process runs (a TestCase mixin)."""

    def report(self, name, ledger, events):
        out = io.StringIO()
        hc.report(ledger, events, out)
        self.addDetail(name, content.text_content(out.getvalue()))
        return out.getvalue()

    def history_run(self, apis, operations, instances=6, seed=1):
        """The history checker's clients over every API: no violation,
        no 5xx, and reads that were checked for staleness."""
        uuids = hc.create_instances(apis.urls, instances)
        ledger = hc.Ledger()
        hc.workload(apis.urls, uuids, ledger, clients=CLIENTS,
                    operations=operations, seed=seed)
        events = hc.audit(apis.urls, {}, uuids, loader.load(["nova"]),
                          ledger, swept=("timeout",))
        text = self.report("history", ledger, events)
        self.assertEqual([], ledger.violations, text)
        statuses = collections.Counter()
        for (_kind, status), n in ledger.counts.items():
            statuses[status] += n
        self.assertEqual(0, sum(n for s, n in statuses.items() if s >= 500),
                         text)
        self.assertEqual(operations // CLIENTS * CLIENTS,
                         sum(statuses.values()), text)
        # The run really raced: some changes won, some lost.
        self.assertTrue({200, 202, 409} <= set(statuses), text)
        self.assertGreater(ledger.reads, operations // 10, text)
        return uuids, ledger

    def swept(self, urls, uuids, ledger):
        """Every task left times out, once, through the sweepers; the
        histories stay whole. Returns the timeouts fired in all."""
        client = hc.Balanced(list(urls))
        # Whatever the random run left running (deletes end tasks, and
        # most instances end deleted), one task nobody finishes: a sweeper
        # must time it out, once.
        (idle,) = hc.create_instances(list(urls), 1)
        status, body = client.request(
            "POST", "/v1/instances/%s/actions" % idle, {"action": "stop"})
        ledger.record("stop", status, idle, body)
        self.assertEqual(202, status, body)
        # The caller's list: its later audits count this instance too.
        uuids.append(idle)
        deadline = time.monotonic() + TASK_TIMEOUT + 30
        try:
            for uuid in uuids:
                while True:
                    status, body = client.request("GET",
                                                  "/v1/instances/%s" % uuid)
                    if status == 200 and body["instance"]["task_state"] \
                            is None:
                        break
                    self.assertLess(time.monotonic(), deadline,
                                    "no sweeper ended the task of %s: %s"
                                    % (uuid, body))
                    time.sleep(0.2)
            fired = 0
            for uuid in uuids:
                _, body = client.request("GET",
                                         "/v1/instances/%s/events" % uuid)
                fired += sum(1 for e in body["events"]
                             if e["action"] == "timeout")
        finally:
            client.close()
        events = hc.audit(list(urls), {}, uuids, loader.load(["nova"]),
                          ledger, swept=("timeout",))
        text = self.report("after the sweep", ledger, events)
        self.assertEqual([], ledger.violations, text)
        return fired

    def wait_across(self, waiting_url, acting_url):
        """A wait through one API wakes on an action through another,
        long before the safety net."""
        acting = hc.Client(acting_url)
        try:
            status, body = acting.request("POST", "/v1/instances", {
                "instance": {"vm_state": "active", "task_state": None,
                             "power_state": 1}})
            self.assertEqual(201, status, body)
            uuid = body["instance"]["uuid"]
            def wait():
                waiter = hc.Client(waiting_url)
                try:
                    return waiter.request(
                        "GET", "/v1/instances/%s/wait?for=stopped&"
                        "timeout=%d" % (uuid, RESYNC_INTERVAL - 10))
                finally:
                    waiter.close()

            thread = concurrency.Background(wait, name="wait", test=self,
                                            timeout=RESYNC_INTERVAL)
            # Time for the wait to subscribe and read; that it did before
            # the change is checked below (it saw "active" first).
            time.sleep(3)
            began = time.monotonic()
            status, body = acting.request(
                "POST", "/v1/instances/%s/actions" % uuid,
                {"action": "stop"})
            self.assertEqual(202, status, body)
            status, body = acting.request(
                "PATCH", "/v1/instances/%s" % uuid,
                {"instance": {"vm_state": "stopped", "task_state": None},
                 "expected": {"task_state": "powering-off",
                              "task_id": body["instance"]["task_id"]}})
            self.assertEqual(200, status, body)
            thread.join(RESYNC_INTERVAL)
            self.assertFalse(thread.is_alive())
            self.assertLess(time.monotonic() - began, PROMPT)
            status, body = thread.outcome(0)
            self.assertEqual(200, status, body)
            self.assertEqual(("reached", ["active", "stopped"]),
                             (body["status"], body["seen"]), body)
        finally:
            acting.close()


def messaging_events(test) -> str:
    """``[events]`` for the messaging driver on the shared RabbitMQ, on a
    topic of the test's own (skip, or fail when required, without one)."""
    why = rabbitmq_fixture.reachable()
    if why is not None:
        rabbitmq_fixture.unavailable(test, why)
    return events_conf("messaging", rabbitmq_fixture.URL,
                       rabbitmq_fixture.channel())
