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


"""The lifecycle engine on SQLite, PostgreSQL and MariaDB.

Sweepers racing in threads (and in processes on PostgreSQL) fire each
timeout exactly once; the expired-task query goes through the index on
every backend; a compute worker killed with SIGKILL mid-task leaves an
instance the sweeper moves on once its timeout has passed; many observers
reporting the same drift cause one reaction; drains racing start each
queued action once, in order.
"""

import datetime
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import fixtures
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from tests import concurrency
from tests import lifecycle_fixtures
from tests.functional.db import base
from tests.functional.db import lifecycle_worker
from vmstate import lifecycle
from vmstate import states
from vmstate.db import action_queue
from vmstate.db import api
from vmstate.db import heartbeats
from vmstate.db import models
from vmstate.lifecycle import sweeper

THREADS = 4
PROCESSES = 4
INSTANCES = 20
OBSERVERS = 8
TIMEOUTS = {"rebooting": "60:retry:3", "reboot_started": "60:error"}

_MANAGE = ("import sys; from vmstate.cmd import manage; "
           "sys.exit(manage.main())")


class LifecycleTests:

    def setUp(self):
        super().setUp()
        self.flags(group="lifecycle", task_timeouts=TIMEOUTS)

    def rebooting(self, count):
        uuids = []
        for _ in range(count):
            uuid = self.create(self.admin)["uuid"]
            lifecycle.begin(self.admin, uuid, "reboot")
            uuids.append(uuid)
        return uuids

    def timeouts_of(self, uuid):
        return [e["action"] for e in api.instance_events(
            self.admin, uuid)].count("timeout")

    def check_once(self, uuids, fired):
        self.assertEqual(sorted(uuids), sorted(fired))
        for uuid in uuids:
            self.assertEqual(1, self.timeouts_of(uuid), uuid)
            inst = api.instance_get(self.admin, uuid)
            # retry: the reboot begun again, once.
            self.assertEqual("rebooting", inst["task_state"], uuid)
            self.assertEqual(4, inst["version"], uuid)

    def test_threads_racing_fire_each_timeout_once(self):
        clock = self.useFixture(lifecycle_fixtures.Clock())
        uuids = self.rebooting(INSTANCES)
        clock.advance(61)
        barrier = threading.Barrier(THREADS, timeout=60)
        rounds, errors = [], []

        def sweep():
            barrier.wait()
            try:
                rounds.append(sweeper.Sweeper(batch=7).sweep())
            except Exception as err:
                errors.append(err)

        concurrency.run_concurrently(*[sweep] * THREADS, timeout=120)
        self.assertEqual([], errors)
        self.assertEqual(0, sum(r.failed for r in rounds))
        self.check_once(uuids, [o.uuid for r in rounds for o in r.outcomes
                                if o.outcome == "fired"])

    def idle_instances(self, count):
        """``count`` idle instances, inserted in bulk (most of a cloud)."""
        now = timeutils.utcnow()
        rows = [{"uuid": uuidutils.generate_uuid(), "project_id": "bulk",
                 "vm_state": "active", "power_state": 1, "version": 1,
                 "state_changed_at": now, "created_at": now,
                 "updated_at": now} for _ in range(count)]
        with self.engine.begin() as conn:
            conn.execute(sa.insert(models.instances), rows)
            if self.backend == "mysql":
                conn.exec_driver_sql("ANALYZE TABLE instances")
            elif self.backend == "postgresql":
                conn.exec_driver_sql("ANALYZE instances")

    def test_expired_tasks_are_found_through_the_index(self):
        self.rebooting(3)
        self.idle_instances(2000)
        statements = lifecycle_fixtures.captured(
            self.engine, lambda: heartbeats.expired(
                self.admin, ["rebooting", "powering-off"],
                timeutils.utcnow(), 100))
        self.assertEqual(1, len(statements))
        plan = "\n".join(lifecycle_fixtures.explain(self.engine,
                                                    *statements[0]))
        self.assert_indexed(plan)

    def test_a_killed_worker_is_moved_on_after_its_timeout(self):
        uuid = self.create(self.admin)["uuid"]
        spawn = multiprocessing.get_context("spawn")
        started = spawn.Event()
        worker = spawn.Process(target=lifecycle_worker.reboot_forever,
                               args=(self.url, uuid, started))
        worker.start()
        self.addCleanup(worker.join, 10)
        self.assertTrue(started.wait(60), "the worker did not start")
        time.sleep(0.2)             # a few heartbeats
        worker.kill()               # SIGKILL: no cleanup of any kind
        worker.join(30)
        self.assertEqual(-9, worker.exitcode)
        inst = api.instance_get(self.admin, uuid)
        self.assertEqual("reboot_started", inst["task_state"])
        last_sign = inst["task_heartbeat_at"]
        # Within its timeout nothing happens: the worker might be slow.
        self.useFixture(lifecycle_fixtures.Clock(
            last_sign + datetime.timedelta(seconds=59)))
        self.assertEqual(0, sweeper.Sweeper().sweep().total_fired)
        timeutils.advance_time_seconds(2)
        done = sweeper.Sweeper().sweep()
        self.assertEqual({"error": 1}, dict(done.fired))
        inst = api.instance_get(self.admin, uuid)
        self.assertEqual(("error", None, "TaskTimeout"),
                         (inst["vm_state"], inst["task_state"],
                          inst["fault"]["type"]))
        self.assertEqual("reboot_started", inst["fault"]["task_state"])

    def test_many_observers_one_reaction(self):
        self.flags(group="lifecycle", power_drift_grace=30,
                   power_drift_reaction="stop")
        clock = self.useFixture(lifecycle_fixtures.Clock())
        uuid = self.create(self.admin, power_state=states.RUNNING)["uuid"]
        lifecycle.report_power_state(self.admin, uuid, states.SHUTDOWN)
        clock.advance(31)
        barrier = threading.Barrier(OBSERVERS, timeout=60)
        reactions, errors = [], []

        def observe():
            barrier.wait()
            try:
                reactions.append(lifecycle.report_power_state(
                    self.admin, uuid, states.SHUTDOWN).reaction)
            except Exception as err:
                errors.append(err)

        concurrency.run_concurrently(*[observe] * OBSERVERS, timeout=120)
        self.assertEqual([], errors)
        self.assertEqual(["stop"], [r for r in reactions if r])
        actions = [e["action"] for e in api.instance_events(self.admin,
                                                            uuid)]
        self.assertEqual(["create", "observe_power", "stop"], actions)

    def test_racing_drains_start_each_queued_action_once_in_order(self):
        uuid = self.create(self.admin)["uuid"]
        lifecycle.begin(self.admin, uuid, "reboot")
        queued = ["attach_volume", "detach_volume", "attach_interface",
                  "detach_interface", "stop"]
        for action in queued:
            lifecycle.request(self.admin, uuid, action, queue=True)
        lifecycle.adopt(self.admin, uuid).finish()
        barrier = threading.Barrier(THREADS, timeout=60)
        errors = []

        def drain():
            barrier.wait()
            try:
                lifecycle.drain(uuid)
            except Exception as err:
                errors.append(err)

        concurrency.run_concurrently(*[drain] * THREADS, timeout=120)
        self.assertEqual([], errors)
        events = api.instance_events(self.admin, uuid, since=3)
        self.assertEqual(queued, [e["action"] for e in events])
        self.assertEqual("powering-off", api.instance_get(
            self.admin, uuid)["task_state"])
        self.assertEqual([], action_queue.entries(self.admin, [uuid])[uuid])


class TestLifecycleSQLite(LifecycleTests, base.TestCase):
    FIXTURE = base.SQLiteMigrated

    def assert_indexed(self, plan):
        self.assertIn("SEARCH instances USING INDEX "
                      "instances_task_state_task_heartbeat_at_idx "
                      "(task_state=? AND task_heartbeat_at<?)", plan)
        self.assertNotIn("SCAN instances", plan)

    def test_the_sweep_command_after_a_killed_worker(self):
        """The real command, on real time: before the timeout (an hour)
        nothing happens; once it has passed (a second), the task is
        cleared."""
        tmp = self.useFixture(fixtures.TempDir()).path

        def config(timeout):
            path = os.path.join(tmp, "vmstate-%s.conf" % timeout)
            with open(path, "w") as f:
                f.write("[database]\nconnection = %s\n[lifecycle]\n"
                        "task_timeouts = reboot_started:%s:clear\n"
                        % (self.url, timeout))
            return path

        uuid = self.create(self.admin)["uuid"]
        spawn = multiprocessing.get_context("spawn")
        started = spawn.Event()
        worker = spawn.Process(target=lifecycle_worker.reboot_forever,
                               args=(self.url, uuid, started))
        worker.start()
        self.addCleanup(worker.join, 10)
        self.assertTrue(started.wait(60), "the worker did not start")
        worker.kill()
        worker.join(30)
        self.assertEqual(-9, worker.exitcode)
        killed_at = timeutils.utcnow()

        def sweep_once(path):
            result = subprocess.run(
                [sys.executable, "-c", _MANAGE, "--config-file", path,
                 "lifecycle", "sweep", "--once"],
                capture_output=True, text=True, timeout=120)
            self.assertEqual(0, result.returncode, result.stderr)
            return result.stdout

        self.assertIn("fired 0", sweep_once(config(3600)))
        time.sleep(max(0.0, 1.1 - (timeutils.utcnow() -
                                   killed_at).total_seconds()))
        self.assertIn("fired 1 (clear 1)", sweep_once(config(1)))
        inst = api.instance_get(self.admin, uuid)
        self.assertEqual(("active", None, "TaskTimeout"),
                         (inst["vm_state"], inst["task_state"],
                          inst["fault"]["type"]))


class TestLifecyclePostgreSQL(LifecycleTests, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated

    def assert_indexed(self, plan):
        self.assertIn("instances_task_state_task_heartbeat_at_idx", plan)
        self.assertIn("task_heartbeat_at <=", plan)
        # Sequential scans are priced out: one that remains would mean
        # no index can serve the query.
        self.assertNotIn("Seq Scan", plan)

    def test_processes_racing_fire_each_timeout_once(self):
        clock = self.useFixture(lifecycle_fixtures.Clock())
        uuids = self.rebooting(INSTANCES)
        now = clock.advance(61)
        spawn = multiprocessing.get_context("spawn")
        barrier = spawn.Barrier(PROCESSES, timeout=120)
        results = spawn.Queue()
        workers = [spawn.Process(target=lifecycle_worker.sweep,
                                 args=(self.url, TIMEOUTS, now.isoformat(),
                                       barrier, results))
                   for _ in range(PROCESSES)]
        for worker in workers:
            worker.start()
        rounds = [results.get(timeout=120) for _ in range(PROCESSES)]
        for worker in workers:
            worker.join(60)
            self.assertEqual(0, worker.exitcode)
        for fired, lost, failed, _ in rounds:
            self.assertNotEqual("error", fired, lost)
            self.assertEqual(0, failed)
        self.check_once(uuids, [u for r in rounds for u in r[3]])


class TestLifecycleMySQL(LifecycleTests, base.TestCase):
    FIXTURE = base.MySQLMigrated

    def assert_indexed(self, plan):
        # A range of one of the two (task_state, time) indexes; which one
        # is the optimizer's guess for a handful of rows.
        self.assertRegex(plan, r"type=range key=instances_task_state_task_"
                               r"(heartbeat|started)_at_idx")
        self.assertNotIn("type=ALL", plan)
