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


"""A hypothesis state machine against the lifecycle, on SQLite, PostgreSQL
and MariaDB (issue 11).

Random sequences of actions, workers' fenced and unfenced reports (stale
ones included), admin resets and clear_error, power reports, timeout
sweeps, queued actions and drains, and reservations (the compute guard's
begin-then-release) run against a few instances, with the lifecycle
engine's after-commit reactions installed. After every step the
histories are audited with ``tools/history_check``'s own rules: nothing
leaves ``deleted``, only a task's owner (or a preempting matrix action,
the sweeper on that task, an admin) changes a running task, and one
resize is confirmed or reverted at most once; besides, the chain of
versions is whole and a deleted instance's row never changes again.
"""

from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import stateful
from hypothesis import strategies as st

from tests import lifecycle_fixtures
from tests.functional.db import base
from tools import history_check as hc
from vmstate import context
from vmstate import exception
from vmstate import lifecycle
from vmstate import states
from vmstate.db import api
from vmstate.lifecycle import updates
from vmstate.matrix import loader

INSTANCES = 3
MATRIX = loader.load(["nova"])
ACTIONS = sorted(MATRIX.actions)
# Expected, lost races and refusals: what a caller may be told.
REFUSED = (exception.StateConflict, exception.Conflict, exception.Invalid)
FENCES = ("task_id", "version", "task_state", "none")


class Promises(stateful.RuleBasedStateMachine):
    """The machine; ``clock`` is set by the test that runs it."""

    clock: lifecycle_fixtures.Clock

    def __init__(self) -> None:
        super().__init__()
        self.admin = context.get_admin_context()
        self.ledger = hc.Ledger()
        self.uuids: list[str] = []
        self.workers: list[lifecycle.Task] = []    # stale ones included
        self.deleted: dict[str, int] = {}          # uuid -> its version

    @stateful.initialize()
    def create(self) -> None:
        for values in ({}, {"vm_state": states.ACTIVE, "task_state": None,
                            "power_state": states.RUNNING},
                       {"vm_state": states.STOPPED, "task_state": None,
                        "power_state": states.SHUTDOWN}):
            self.uuids.append(api.instance_create(self.admin,
                                                  values)["uuid"])
        self.workers.append(lifecycle.adopt(self.admin, self.uuids[0]))

    def _uuid(self, i: int) -> str:
        return self.uuids[i % len(self.uuids)]

    @stateful.rule(i=st.integers(0, INSTANCES - 1),
                   action=st.sampled_from(ACTIONS))
    def act(self, i: int, action: str) -> None:
        try:
            task = lifecycle.begin(self.admin, self._uuid(i), action)
        except REFUSED:
            return
        if task.task_id is not None:
            self.workers.append(task)

    @stateful.rule(w=st.integers(0, 50), ok=st.booleans())
    def worker_ends(self, w: int, ok: bool) -> None:
        if not self.workers:
            return
        task = self.workers[w % len(self.workers)]
        try:
            task.finish() if ok else task.fail(RuntimeError("boom"))
        except exception.TaskAborted:
            pass

    @stateful.rule(w=st.integers(0, 50))
    def worker_checkpoints(self, w: int) -> None:
        if not self.workers:
            return
        try:
            self.workers[w % len(self.workers)].checkpoint()
        except (exception.TaskAborted, exception.Invalid):
            pass

    @stateful.rule(i=st.integers(0, INSTANCES - 1),
                   fence=st.sampled_from(FENCES),
                   vm_state=st.sampled_from(MATRIX.vm_states),
                   end=st.booleans())
    def report(self, i: int, fence: str, vm_state: str, end: bool) -> None:
        uuid = self._uuid(i)
        seen = api.instance_get(self.admin, uuid)
        values: dict = {"vm_state": vm_state}
        if end:
            values["task_state"] = None
        expected = {"task_id": {"task_id": seen["task_id"]},
                    "version": {"version": seen["version"]},
                    "task_state": {"task_state": seen["task_state"]},
                    "none": {}}[fence]
        try:
            done = updates.update(self.admin, uuid, values, expected)
        except REFUSED:
            return
        self.ledger.acknowledged[(uuid, done["version"])] = "update"
        self.ledger.fences[(uuid, done["version"])] = expected

    @stateful.rule(i=st.integers(0, INSTANCES - 1),
                   vm_state=st.sampled_from([states.ACTIVE, states.ERROR]))
    def reset(self, i: int, vm_state: str) -> None:
        try:
            lifecycle.reset_state(self.admin, self._uuid(i), vm_state, "x")
        except REFUSED:
            pass

    @stateful.rule(i=st.integers(0, INSTANCES - 1))
    def clear_error(self, i: int) -> None:
        try:
            lifecycle.clear_error(self.admin, self._uuid(i), "x")
        except REFUSED:
            pass

    @stateful.rule(i=st.integers(0, INSTANCES - 1),
                   power=st.sampled_from(states.POWER_STATES))
    def power_report(self, i: int, power: int) -> None:
        lifecycle.report_power_state(self.admin, self._uuid(i), power)

    @stateful.rule(seconds=st.sampled_from([1, 30, 120]))
    def sweep(self, seconds: int) -> None:
        self.clock.advance(seconds)
        lifecycle.Sweeper(MATRIX).sweep()

    @stateful.rule(i=st.integers(0, INSTANCES - 1),
                   action=st.sampled_from(ACTIONS))
    def queue(self, i: int, action: str) -> None:
        try:
            requested = lifecycle.request(self.admin, self._uuid(i), action,
                                          matrix=MATRIX, queue=True)
        except REFUSED:
            return
        if requested.task is not None and requested.task.task_id:
            self.workers.append(requested.task)

    @stateful.rule(i=st.integers(0, INSTANCES - 1))
    def drain(self, i: int) -> None:
        for task in lifecycle.drain(self._uuid(i), MATRIX):
            if task.task_id is not None:
                self.workers.append(task)

    @stateful.rule(i=st.integers(0, INSTANCES - 1),
                   action=st.sampled_from(ACTIONS))
    def reservation(self, i: int, action: str) -> None:
        # The compute guard's reserve path: begin before the service
        # runs, release when it refuses.
        try:
            task = lifecycle.begin(self.admin, self._uuid(i), action)
        except REFUSED:
            return
        try:
            task.release("the service refused")
        except exception.TaskAborted:
            pass

    @stateful.invariant()
    def promises_kept(self) -> None:
        for uuid in self.uuids:
            row = api.instance_get(self.admin, uuid)
            events = api.instance_events(self.admin, uuid)
            self.ledger.violations.clear()
            hc._audit_promises(uuid, events, MATRIX, self.ledger)
            assert not self.ledger.violations, self.ledger.violations
            versions = [e["version"] for e in events]
            assert versions == list(range(1, len(events) + 1)), versions
            assert events[-1]["version"] == row["version"]
            if uuid in self.deleted:
                assert row["version"] == self.deleted[uuid], (uuid, row)
                assert row["task_id"] is None, row
            elif row["vm_state"] == states.DELETED:
                assert row["task_id"] is None, row
                self.deleted[uuid] = row["version"]


class StateMachineTests:

    def test_random_sequences_keep_the_promises(self):
        self.flags(group="lifecycle", task_timeouts={
            "rebooting": "60:retry:3", "powering-off": "60:clear",
            "resize_confirming": "60:clear", "rebuilding": "60:error",
            "deleting": "60:retry"}, power_drift_reaction="stop",
            power_drift_grace=0)
        Promises.clock = self.useFixture(lifecycle_fixtures.Clock())
        self.useFixture(lifecycle_fixtures.Engine())
        stateful.run_state_machine_as_test(
            Promises, settings=settings(
                max_examples=12, stateful_step_count=30, deadline=None,
                database=None, suppress_health_check=list(HealthCheck)))


class TestStateMachineSQLite(StateMachineTests, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestStateMachinePostgreSQL(StateMachineTests, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestStateMachineMySQL(StateMachineTests, base.TestCase):
    FIXTURE = base.MySQLMigrated
