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


"""Three ``vmstate-api`` on a three-node MariaDB Galera cluster.

Each test starts its own cluster on loopback (``tests.galera_fixture``),
syncs the schema through the first node, and starts one ``vmstate-api``
per node, the event bus on RabbitMQ (``messaging``). Twelve clients send
each request to any of the three APIs, as behind a load balancer, so
every read may hit another node than the write before it, and racing
writes through different nodes meet in Galera's certification.

Without a cluster (no ``mariadbd``, no ``galera-4``, no rsync) the tests
are skipped, unless ``VMSTATE_TEST_DB_REQUIRED`` is set (CI sets it):
then they fail.
"""

import collections
import time

import fixtures
import sqlalchemy as sa
import testtools

from tests import concurrency
from tests import galera_fixture
from tests.functional.scaleout import harness
from tools import history_check as hc
from vmstate.db import galera
from vmstate.matrix import loader

OPERATIONS = 480
# A multiple of the clients (12).
OPERATIONS_UNDER_FAULTS = 360


class GaleraTestCase(harness.ScaleOutChecks, testtools.TestCase):

    def setUp(self):
        super().setUp()
        why = galera_fixture.missing()
        if why is not None:
            if galera_fixture.REQUIRED:
                self.fail(why)
            self.skipTest(why)
        events = harness.messaging_events(self)
        self.cluster = self.useFixture(galera_fixture.GaleraCluster(3))
        tmp = self.useFixture(fixtures.TempDir()).path
        harness.db_sync(self.cluster.nodes[0].url, tmp)
        self.apis = self.useFixture(harness.APIs(
            [node.url for node in self.cluster.nodes], events))

    def certification_conflicts(self):
        """Writes that lost Galera's certification (or were aborted by
        one that won), over the live nodes."""
        total = 0
        for node in self.cluster.nodes:
            if node.alive:
                total += int(node.status("wsrep_local_cert_failures"))
                total += int(node.status("wsrep_local_bf_aborts"))
        return total


class TestThreeNodes(GaleraTestCase):

    def test_every_api_on_its_own_node(self):
        # (One test, one cluster: starting one takes a while.)
        self.check_reads_are_causal()
        uuids, ledger = self.history_run(self.apis, OPERATIONS)
        # Racing writes through different nodes really met in Galera's
        # certification, were retried, and nothing was applied twice
        # (the audit above).
        conflicts = self.certification_conflicts()
        self.addDetail("certification conflicts",
                       testtools.content.text_content(str(conflicts)))
        self.assertGreater(conflicts, 0)
        fired = self.swept(self.apis.urls, uuids, ledger)
        self.assertGreater(fired, 0)
        self.wait_across(self.apis.urls[0], self.apis.urls[2])

    def check_reads_are_causal(self):
        """A node that has not applied a write yet (its applier held by a
        read lock) makes vmstate's read wait for it instead of answering
        the older version, which a session without wsrep_sync_wait
        does."""
        second = self.cluster.nodes[1]
        uuids = hc.create_instances([self.apis.urls[0]], 1)
        engine = sa.create_engine(second.url)
        self.addCleanup(engine.dispose)
        sa.event.listen(engine, "connect", galera._causal_on_connect)
        with engine.connect() as conn:
            self.assertEqual(galera.CAUSAL_SYNC_WAIT, conn.execute(
                sa.text("SELECT @@wsrep_sync_wait")).scalar())
        version = sa.text("SELECT version FROM instances WHERE uuid = :u")
        lock = second.connect(galera_fixture.DATABASE)
        self.addCleanup(lock.close)
        with lock.cursor() as cursor:
            cursor.execute("FLUSH TABLES WITH READ LOCK")
        client = hc.Client(self.apis.urls[0])
        self.addCleanup(client.close)
        status, body = client.request("POST", "/v1/instances/%s/actions"
                                      % uuids[0], {"action": "stop"})
        self.assertEqual(202, status, body)
        plain = second.connect(galera_fixture.DATABASE)
        self.addCleanup(plain.close)
        with plain.cursor() as cursor:
            cursor.execute("SET SESSION wsrep_sync_wait = 0")
            cursor.execute("SELECT version FROM instances WHERE uuid = %s",
                           (uuids[0],))
            self.assertEqual(1, cursor.fetchone()[0])
        seen = {}

        def read():
            with engine.connect() as conn:
                seen["version"] = conn.execute(version,
                                               {"u": uuids[0]}).scalar()

        reader = concurrency.Background(read, name="reader", test=self)
        reader.join(1)
        self.assertTrue(reader.is_alive(), "the causal read did not wait")
        with lock.cursor() as cursor:
            cursor.execute("UNLOCK TABLES")
        reader.outcome(30)
        self.assertEqual({"version": 2}, seen)


class TestNodeAndAPIKilled(GaleraTestCase):

    def test_clients_carry_on_through_the_others(self):
        urls = self.apis.urls
        uuids = hc.create_instances(urls, 6)
        ledger = hc.Ledger(faults=True)
        worker = concurrency.Background(lambda: hc.workload(
            urls, uuids, ledger, clients=harness.CLIENTS,
            operations=OPERATIONS_UNDER_FAULTS, seed=21),
            name="workload", test=self, timeout=900)
        done = lambda: sum(ledger.counts.values())  # noqa: E731
        acknowledged = lambda: len(ledger.acknowledged)  # noqa: E731
        # Requests a live API answered (not 5xx, not unanswered).
        answered = lambda: sum(  # noqa: E731
            n for (_kind, status), n in list(ledger.counts.items())
            if 200 <= status < 500)
        deadline = time.monotonic() + 900

        def until(count):
            while done() < count:
                self.assertTrue(worker.is_alive(), "the clients stopped "
                                "early: %s" % sorted(ledger.counts.items()))
                self.assertLess(time.monotonic(), deadline,
                                sorted(ledger.counts.items()))
                time.sleep(0.01)

        until(OPERATIONS_UNDER_FAULTS // 4)
        # The third node dies as in a power cut; its API stays, and
        # answers 503 (its store is gone), so the clients' balancer
        # leaves it out for a while each time.
        self.cluster.nodes[2].kill()
        node_killed_at = acknowledged()
        answered_at_node_kill = answered()
        until(OPERATIONS_UNDER_FAULTS // 2)
        self.apis.processes[0].process.kill()
        api_killed_at = acknowledged()
        answered_at_api_kill = answered()
        worker.outcome(max(1, deadline - time.monotonic()))
        statuses = collections.Counter()
        for (_kind, status), n in ledger.counts.items():
            statuses[status] += n
        text = self.report("under faults", ledger, 0)
        self.assertEqual(OPERATIONS_UNDER_FAULTS, sum(statuses.values()),
                         text)
        self.assertEqual(0, statuses[500], text)
        # The clients went on after each kill, through the others: they
        # were answered, and changes were acknowledged. (Most random
        # operations are refused by the matrix, 409, so the changes of
        # one phase vary with the mix: counted as answers, and at least
        # one change acknowledged per phase.)
        self.assertGreater(answered_at_api_kill,
                           answered_at_node_kill + 20, text)
        self.assertGreater(answered(), answered_at_api_kill + 20, text)
        self.assertGreater(api_killed_at, node_killed_at, text)
        self.assertGreater(acknowledged(), api_killed_at + 20, text)
        # The survivors: the API on the second node, its node, and the
        # first node (its API is gone).
        alive = [urls[1]]
        fired = self.swept(alive, uuids, ledger)
        self.assertGreater(fired, 0)
        events = hc.audit(alive, {}, uuids, loader.load(["nova"]),
                          ledger, swept=("timeout",))
        text = self.report("audit", ledger, events)
        self.assertEqual([], ledger.violations, text)
        # What was acknowledged before the node died is still there on
        # the first node, as on the second.
        conn = self.cluster.nodes[0].connect(galera_fixture.DATABASE)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM instance_events")
                on_first = cursor.fetchone()[0]
        finally:
            conn.close()
        self.assertEqual(events, on_first)
