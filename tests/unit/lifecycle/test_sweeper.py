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


"""The sweeper on SQLite: its queries use indexes, its rounds go on past
errors, its thread stops when asked, threads racing fire each timeout
once. PostgreSQL and MariaDB, and processes: tests.functional.db."""

import threading
from unittest import mock

from tests import concurrency
from tests import lifecycle_fixtures
from tests.unit.db import base
from vmstate import lifecycle
from vmstate.db import action_queue
from vmstate.db import api
from vmstate.db import heartbeats
from vmstate.lifecycle import sweeper
from vmstate.lifecycle import timeouts


class TestQueryPlans(base.TestCase):
    """What the database plans to do with the sweeper's two queries."""

    def plans(self, call):
        statements = lifecycle_fixtures.captured(self.db.engine, call)
        return [lifecycle_fixtures.explain(self.db.engine, *statement)
                for statement in statements]

    def test_expired_tasks_through_the_heartbeat_index(self):
        for _ in range(3):
            self.create()
        [plan] = self.plans(lambda: heartbeats.expired(
            self.admin, ["rebooting", "powering-off"],
            lifecycle_fixtures.START, 100))
        self.assertIn("SEARCH instances USING INDEX "
                      "instances_task_state_task_heartbeat_at_idx "
                      "(task_state=? AND task_heartbeat_at<?)", plan)
        self.assertFalse([line for line in plan
                          if line.startswith("SCAN instances")], plan)

    def test_pending_queues_from_the_queue_not_the_instances(self):
        for _ in range(3):
            uuid = self.create()["uuid"]
            lifecycle.begin(self.ctx, uuid, "reboot")
            lifecycle.request(self.ctx, uuid, "stop", queue=True)
        [plan] = self.plans(lambda: action_queue.pending(self.admin, 10))
        # The walk is over the queue; the instances are only looked up,
        # one by one, by uuid (the unique constraint's index, which SQLite
        # names itself), never scanned.
        self.assertTrue([line for line in plan
                         if line.startswith("SCAN instance_action_queue")],
                        plan)
        self.assertFalse([line for line in plan
                          if line.startswith("SCAN instances")
                          or line.endswith(" instances")], plan)
        lookups = [line for line in plan
                   if line.startswith("SEARCH instances")]
        self.assertEqual(1, len(lookups), plan)
        self.assertRegex(lookups[0],
                         r"^SEARCH instances USING INDEX \S+ \(uuid=\?\)$")

    def test_pending_is_one_bounded_statement(self):
        busy = []
        for _ in range(5):
            uuid = self.create()["uuid"]
            lifecycle.begin(self.ctx, uuid, "reboot")
            lifecycle.request(self.ctx, uuid, "stop", queue=True)
            lifecycle.request(self.ctx, uuid, "start", queue=True)
            busy.append(uuid)
        # Two queues' tasks ended without draining them: idle, oldest
        # queued first.
        idle = busy[1:3]
        for uuid in idle:
            api.transition(self.admin, uuid, {"task_state": None},
                           expected={"task_state": "rebooting"})
        statements = lifecycle_fixtures.captured(
            self.db.engine, lambda: self.assertEqual(
                idle, action_queue.pending(self.admin, 10)))
        self.assertEqual(1, len(statements), statements)
        self.assertIn("LIMIT", statements[0][0].upper())
        # The limit is the page: the oldest idle queue only.
        self.assertEqual(idle[:1], action_queue.pending(self.admin, 1))


class TestSweeper(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = self.useFixture(lifecycle_fixtures.Clock())
        self.flags(group="lifecycle", task_timeouts={"rebooting": "60"})

    def rebooting(self, count):
        uuids = []
        for _ in range(count):
            uuid = self.create(self.admin)["uuid"]
            lifecycle.begin(self.admin, uuid, "reboot")
            uuids.append(uuid)
        return uuids

    def test_batches_until_none_is_left(self):
        uuids = self.rebooting(5)
        self.clock.advance(61)
        done = sweeper.Sweeper(batch=2).sweep()
        self.assertEqual({"error": 5}, dict(done.fired))
        for uuid in uuids:
            self.assertEqual("error", api.instance_get(
                self.admin, uuid)["vm_state"])

    def test_an_error_ends_only_its_instance(self):
        uuids = self.rebooting(3)
        self.clock.advance(61)
        real = timeouts.fire

        def fire(context, row, *a, **kw):
            if row["uuid"] == uuids[1]:
                raise RuntimeError("database on fire")
            return real(context, row, *a, **kw)

        with mock.patch.object(timeouts, "fire", fire):
            done = sweeper.Sweeper().sweep()
        self.assertEqual((2, 1), (done.total_fired, done.failed))
        self.assertEqual("rebooting", api.instance_get(
            self.admin, uuids[1])["task_state"])
        # The next round fires it.
        self.assertEqual(1, sweeper.Sweeper().sweep().total_fired)

    def test_threads_racing_fire_each_timeout_once(self):
        uuids = self.rebooting(12)
        self.clock.advance(61)
        barrier = threading.Barrier(4, timeout=30)
        rounds = []

        def sweep():
            barrier.wait()
            rounds.append(sweeper.Sweeper(batch=5).sweep())

        concurrency.run_concurrently(*[sweep] * 4, timeout=60)
        self.assertEqual(12, sum(r.total_fired for r in rounds))
        self.assertEqual(0, sum(r.failed for r in rounds))
        for uuid in uuids:
            actions = [e["action"] for e in api.instance_events(
                self.admin, uuid)]
            self.assertEqual(1, actions.count("timeout"), uuid)


class TestPeriodic(base.TestCase):

    def test_rounds_until_stopped(self):
        calls = threading.Semaphore(0)

        class Counting:
            def sweep(self):
                calls.release()

        periodic = sweeper.Periodic(interval=0.01, sweeper=Counting())
        periodic.start()
        for _ in range(3):
            self.assertTrue(calls.acquire(timeout=10))
        self.assertTrue(periodic.stop(10))
        self.assertGreaterEqual(periodic.rounds, 3)

    def test_a_failing_round_is_not_the_end(self):
        calls = threading.Semaphore(0)

        class Failing:
            def sweep(self):
                calls.release()
                raise RuntimeError("no database")

        periodic = sweeper.Periodic(interval=0.01, sweeper=Failing())
        periodic.start()
        for _ in range(2):
            self.assertTrue(calls.acquire(timeout=10))
        self.assertTrue(periodic.stop(10))
