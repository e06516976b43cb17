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


"""Observed power states and the drift rule, on a controllable clock."""

import threading

from tests import base as tests_base
from tests import concurrency
from tests import lifecycle_fixtures
from tests.unit.db import base
from vmstate import exception
from vmstate import states
from vmstate.db import api
from vmstate.lifecycle import power
from vmstate.matrix import loader
from vmstate.matrix.plugins import nova

OBSERVERS = 8


class PowerTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = self.useFixture(lifecycle_fixtures.Clock())
        self.flags(group="lifecycle", power_drift_grace=60)
        self.uuid = self.create(power_state=states.RUNNING)["uuid"]

    def report(self, power_state, ctx=None):
        return power.report(ctx or self.admin, self.uuid, power_state)

    def actions(self):
        return [e["action"] for e in api.instance_events(self.admin,
                                                         self.uuid)]

    def observers(self, count=OBSERVERS):
        """``count`` observers report shutdown at the same moment."""
        barrier = threading.Barrier(count, timeout=30)
        results, errors = [], []

        def observe():
            barrier.wait()
            try:
                results.append(self.report(states.SHUTDOWN))
            except Exception as err:
                errors.append(err)

        concurrency.run_concurrently(*[observe] * count, timeout=60)
        self.assertEqual([], errors)
        return results


class TestReport(PowerTestCase):

    def test_a_change_is_a_transition_a_repeat_is_not(self):
        first = self.report(states.SHUTDOWN)
        self.assertTrue(first.changed)
        self.assertEqual("observe_power", first.instance["event"]["action"])
        self.assertEqual({"vm_state": "active", "task_state": None,
                          "power_state": states.SHUTDOWN},
                         first.instance["event"]["to"])
        second = self.report(states.SHUTDOWN)
        self.assertFalse(second.changed)
        self.assertIsNone(second.instance["event"])
        self.assertEqual(first.instance["version"],
                         second.instance["version"])
        self.assertEqual(["create", "observe_power"], self.actions())

    def test_bad_values(self):
        for value in (2, 5, -1, True, "4"):
            self.assertRaises(exception.Invalid, self.report, value)

    def test_another_project(self):
        self.assertRaises(exception.InstanceNotFound, self.report,
                          states.SHUTDOWN, ctx=self.other)


class TestDrift(PowerTestCase):

    def test_within_the_grace_period(self):
        self.report(states.SHUTDOWN)
        self.clock.advance(59)
        self.assertIsNone(self.report(states.SHUTDOWN).reaction)
        self.assertIsNone(api.instance_get(self.admin, self.uuid)["fault"])

    def test_fault_once(self):
        self.report(states.SHUTDOWN)
        self.clock.advance(61)
        done = self.report(states.SHUTDOWN)
        self.assertEqual("fault", done.reaction)
        fault = api.instance_get(self.admin, self.uuid)["fault"]
        self.assertEqual(("PowerStateDrift", states.SHUTDOWN, "active"),
                         (fault["type"], fault["power_state"],
                          fault["vm_state"]))
        self.assertIn("for 61 s (grace 60 s)", fault["message"])
        self.clock.advance(600)
        self.assertIsNone(self.report(states.SHUTDOWN).reaction)
        self.assertEqual(["create", "observe_power", "power_drift"],
                         self.actions())

    def test_a_new_drift_is_a_new_reaction(self):
        self.report(states.SHUTDOWN)
        self.clock.advance(61)
        self.assertEqual("fault", self.report(states.SHUTDOWN).reaction)
        self.report(states.RUNNING)
        self.report(states.CRASHED)
        self.clock.advance(61)
        self.assertEqual("fault", self.report(states.CRASHED).reaction)

    def test_stop_like_nova(self):
        self.flags(group="lifecycle", power_drift_reaction="stop")
        self.report(states.SHUTDOWN)
        self.clock.advance(61)
        done = self.report(states.SHUTDOWN, ctx=self.ctx)
        self.assertEqual("stop", done.reaction)
        self.assertEqual(("active", "powering-off"),
                         (done.instance["vm_state"],
                          done.instance["task_state"]))
        event = api.instance_events(self.admin, self.uuid)[-1]
        self.assertEqual(("stop", "u1"), (event["action"],
                                          event["user_id"]))
        self.assertIn("power-state drift", event["reason"])
        self.assertIsNone(self.report(states.SHUTDOWN).reaction)

    def test_stop_refused_by_the_matrix_records_a_fault(self):
        def no_stop(builder):
            builder.deny("stop", "active")
        self.useFixture(tests_base.MatrixFixture(loader.from_plugins(
            ("nova", nova.configure), ("site", no_stop))))
        self.flags(group="lifecycle", power_drift_reaction="stop")
        self.report(states.SHUTDOWN)
        self.clock.advance(61)
        self.assertEqual("fault", self.report(states.SHUTDOWN).reaction)

    def test_no_reaction(self):
        self.flags(group="lifecycle", power_drift_reaction="none")
        self.report(states.SHUTDOWN)
        self.clock.advance(61)
        self.assertIsNone(self.report(states.SHUTDOWN).reaction)
        self.assertIsNone(api.instance_get(self.admin, self.uuid)["fault"])

    def test_no_drift(self):
        self.report(states.RUNNING)
        self.clock.advance(61)
        self.assertIsNone(self.report(states.RUNNING).reaction)
        # Stopped and shut down: as expected.
        api.transition(self.admin, self.uuid, {"vm_state": "stopped"})
        self.report(states.SHUTDOWN)
        self.clock.advance(61)
        self.assertIsNone(self.report(states.SHUTDOWN).reaction)
        # A task runs: the worker is on it.
        api.transition(self.admin, self.uuid, {"vm_state": "active",
                                               "task_state": "rebooting"})
        self.clock.advance(61)
        self.assertIsNone(self.report(states.SHUTDOWN).reaction)


class TestManyObservers(PowerTestCase):

    def test_one_fault(self):
        self.report(states.SHUTDOWN)
        self.clock.advance(61)
        results = self.observers()
        self.assertEqual(["fault"], [r.reaction for r in results
                                     if r.reaction])
        self.assertEqual(1, self.actions().count("power_drift"))

    def test_one_stop(self):
        self.flags(group="lifecycle", power_drift_reaction="stop")
        self.report(states.SHUTDOWN)
        self.clock.advance(61)
        results = self.observers()
        self.assertEqual(["stop"], [r.reaction for r in results
                                    if r.reaction])
        self.assertEqual(1, self.actions().count("stop"))

    def test_one_change_and_no_reaction_within_grace(self):
        results = self.observers()
        self.assertEqual(1, sum(r.changed for r in results))
        self.assertEqual([None] * OBSERVERS, [r.reaction for r in results])
        self.assertEqual(["create", "observe_power"], self.actions())

    def test_grace_zero_one_reaction_from_the_first_reports(self):
        self.flags(group="lifecycle", power_drift_grace=0)
        results = self.observers()
        self.assertEqual(1, sum(r.changed for r in results))
        self.assertEqual(["fault"], [r.reaction for r in results
                                     if r.reaction])
