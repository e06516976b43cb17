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


"""The blueprint's bug: an instance deleted while it spawns must stay deleted.

A build worker walks the build task through its steps (networking, block
device mapping, spawning, then finish: active) with random pauses; a
delete arrives at a random moment during the build. Whatever the
interleaving, the delete's task finishes (deleted), the build learns at
its next checkpoint that it was preempted (TaskAborted) and writes
nothing more, and the instance is never active after the delete began.
"""

import os
import random
import threading
import time

from tests import concurrency
from tests.functional.db import base
from vmstate import exception
from vmstate import lifecycle
from vmstate import states
from vmstate.db import api

LOOPS = 20
STEPS = (states.NETWORKING, states.BLOCK_DEVICE_MAPPING, states.SPAWNING)
MAX_PAUSE = 0.004


class DeleteDuringSpawnTests:

    def run_once(self, rng):
        uuid = api.instance_create(self.ctx, {})["uuid"]
        # Signalled as the build reaches each step and its finish.
        reached = [threading.Event() for _ in range(len(STEPS) + 1)]
        arrival = rng.randrange(len(reached))
        pauses = [rng.uniform(0, MAX_PAUSE) for _ in range(len(reached))]
        delay = rng.uniform(0, 2 * MAX_PAUSE)
        deleting = rng.uniform(0, MAX_PAUSE)
        outcome = {}

        def build():
            try:
                with lifecycle.adopt(self.ctx, uuid) as task:
                    for number, step in enumerate(STEPS):
                        reached[number].set()
                        time.sleep(pauses[number])
                        task.checkpoint(step)
                    reached[-1].set()
                    time.sleep(pauses[-1])
                outcome["build"] = "finished"
            except exception.TaskAborted:
                outcome["build"] = "aborted"
            except Exception as err:
                outcome["build"] = err
            finally:
                for event in reached:
                    event.set()

        def delete():
            try:
                reached[arrival].wait(30)
                time.sleep(delay)
                with lifecycle.begin(self.ctx, uuid, "delete"):
                    time.sleep(deleting)
                outcome["delete"] = "finished"
            except Exception as err:
                outcome["delete"] = err

        concurrency.run_concurrently(build, delete, timeout=60)
        return uuid, outcome

    def test_delete_always_wins(self):
        seed = int(os.environ.get("VMSTATE_TEST_SEED", time.time_ns()))
        rng = random.Random(seed)
        seen = {"aborted": 0, "finished": 0}
        for loop in range(LOOPS):
            uuid, outcome = self.run_once(rng)
            where = "loop %d, seed %d, %s" % (loop, seed, outcome)
            self.assertEqual("finished", outcome.get("delete"), where)
            self.assertIn(outcome.get("build"), seen, where)
            seen[outcome["build"]] += 1
            inst = api.instance_get(self.ctx, uuid)
            self.assertEqual((states.DELETED, None, None),
                             (inst["vm_state"], inst["task_state"],
                              inst["fault"]), where)
            events = api.instance_events(self.ctx, uuid)
            self.assertEqual(list(range(1, len(events) + 1)),
                             [e["version"] for e in events], where)
            begun = [e["version"] for e in events
                     if e["action"] == "delete"
                     and e["to"]["task_state"] == states.DELETING]
            self.assertEqual(1, len(begun), where)
            after = [e for e in events if e["version"] > begun[0]]
            self.assertEqual(["delete"], [e["action"] for e in after],
                             where)
            self.assertNotIn(states.ACTIVE,
                             [e["to"]["vm_state"] for e in after], where)
            self.assertNotIn(states.ERROR,
                             [e["to"]["vm_state"] for e in events], where)
            if outcome["build"] == "finished":
                # The build ended before the delete began: then it was
                # active, and the delete followed.
                self.assertEqual(states.ACTIVE,
                                 events[begun[0] - 2]["to"]["vm_state"],
                                 where)
        # The interleavings did include deletes in the middle of builds.
        self.assertGreater(seen["aborted"], 0, seen)


class TestDeleteDuringSpawnSQLite(DeleteDuringSpawnTests, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestDeleteDuringSpawnPostgreSQL(DeleteDuringSpawnTests, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestDeleteDuringSpawnMySQL(DeleteDuringSpawnTests, base.TestCase):
    FIXTURE = base.MySQLMigrated
