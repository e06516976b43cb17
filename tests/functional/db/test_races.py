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


"""Racing begins: exactly one winner per round, every loser a conflict.

Threads on every backend, and processes on PostgreSQL, start conflicting
actions on one active, idle instance at the same moment, round after
round; once all have tried, the winner finishes its task (back to
active) before the next round. The history must be complete and
consecutive.
"""

import functools
import multiprocessing
import threading

from tests import concurrency
from tests.functional.db import base
from tests.functional.db import race_worker
from vmstate import exception
from vmstate.db import api

THREADS = 6
ROUNDS = 12
PROCESSES = 4
PROCESS_ROUNDS = 10


class RaceTests:

    def check(self, uuid, outcomes, rounds, contenders):
        for number in range(rounds):
            got = sorted(o for r, _, o in outcomes if r == number)
            self.assertEqual(contenders, len(got), number)
            self.assertEqual(1, got.count("won"), (number, got))
            self.assertEqual(["InstanceInvalidState"] * (contenders - 1),
                             [o for o in got if o != "won"], number)
        events = api.instance_events(self.admin, uuid)
        self.assertEqual(list(range(1, 2 * rounds + 2)),
                         [e["version"] for e in events])
        for before, after in zip(events, events[1:], strict=False):
            self.assertEqual(before["to"], after["from"])
        for begun, finished in zip(events[1::2], events[2::2], strict=True):
            self.assertEqual(begun["action"], finished["action"])
            self.assertIsNotNone(begun["to"]["task_state"])
            self.assertEqual({"vm_state": "active", "task_state": None,
                              "power_state": 0}, finished["to"])

    def test_threads_begin_conflicting_actions(self):
        uuid = self.create(self.admin)["uuid"]
        barrier = threading.Barrier(THREADS, timeout=60)
        outcomes = []

        concurrency.run_concurrently(*(
            functools.partial(race_worker.contend, self.admin, uuid, i,
                              ROUNDS, barrier, outcomes.append)
            for i in range(THREADS)))
        self.check(uuid, outcomes, ROUNDS, THREADS)

    def test_threads_compare_the_same_version(self):
        uuid = self.create(self.admin)["uuid"]
        barrier = threading.Barrier(THREADS, timeout=60)
        outcomes = []

        def contender(worker):
            for number in range(ROUNDS):
                seen = api.instance_get(self.admin, uuid)["version"]
                barrier.wait()
                try:
                    api.transition(self.admin, uuid,
                                   {"power_state": worker},
                                   expected={"version": seen})
                except exception.StateConflict as err:
                    outcome = type(err).__name__
                except Exception as err:
                    outcome = "error: %r" % err
                else:
                    outcome = "won"
                outcomes.append((number, worker, outcome))
                barrier.wait()

        concurrency.run_concurrently(
            *(functools.partial(contender, i) for i in range(THREADS)))
        for number in range(ROUNDS):
            got = sorted(o for r, _, o in outcomes if r == number)
            self.assertEqual(["StateConflict"] * (THREADS - 1) + ["won"],
                             got, number)
        versions = [e["version"] for e in api.instance_events(self.admin,
                                                              uuid)]
        self.assertEqual(list(range(1, ROUNDS + 2)), versions)


class TestRacesSQLite(RaceTests, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestRacesPostgreSQL(RaceTests, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated

    def test_processes_begin_conflicting_actions(self):
        uuid = self.create(self.admin)["uuid"]
        spawn = multiprocessing.get_context("spawn")
        barrier = spawn.Barrier(PROCESSES, timeout=120)
        results = spawn.Queue()
        workers = [spawn.Process(target=race_worker.race,
                                 args=(self.url, uuid, i, PROCESS_ROUNDS,
                                       barrier, results))
                   for i in range(PROCESSES)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=120)
                    for _ in range(PROCESSES * PROCESS_ROUNDS)]
        for worker in workers:
            worker.join(60)
            self.assertEqual(0, worker.exitcode)
        self.check(uuid, outcomes, PROCESS_ROUNDS, PROCESSES)


class TestRacesMySQL(RaceTests, base.TestCase):
    FIXTURE = base.MySQLMigrated
