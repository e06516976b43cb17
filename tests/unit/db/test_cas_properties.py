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

"""Property tests of the compare-and-swap layer against a model.

Hypothesis generates sequences of transitions with random expectations
and random begins on one instance; a pure-Python model says which must
apply. The database must agree at every step, and the history must end
as a chain that replays to the row.
"""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests import base
from tests import db_fixture
from vmstate import context
from vmstate import exception
from vmstate import lifecycle
from vmstate.db import api
from vmstate.matrix import loader

VM_STATES = ["active", "stopped", "paused", "error"]
TASK_STATES = [None, "rebooting", "powering-off", "deleting"]
ACTIONS = ["reboot", "stop", "pause", "unpause", "start", "delete"]

expectation = st.fixed_dictionaries({}, optional={
    "vm_state": st.sampled_from(VM_STATES),
    "task_state": st.sampled_from(TASK_STATES),
    "version": st.integers(min_value=1, max_value=12),
})
change = st.fixed_dictionaries({}, optional={
    "vm_state": st.sampled_from(VM_STATES),
    "task_state": st.sampled_from(TASK_STATES),
    "power_state": st.sampled_from([0, 1, 4]),
}).filter(bool)
steps = st.lists(st.one_of(
    st.tuples(st.just("transition"), change, expectation),
    st.tuples(st.just("begin"), st.sampled_from(ACTIONS), st.just(None)),
), min_size=1, max_size=12)


class TestCASProperties(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(db_fixture.Database())
        self.ctx = context.get_admin_context()
        self.matrix = loader.load(["nova"])

    @settings(max_examples=60, deadline=None)
    @given(steps)
    def test_database_agrees_with_the_model(self, sequence):
        row = api.instance_create(self.ctx, {"vm_state": "active",
                                             "task_state": None,
                                             "power_state": 1})
        model = {k: row[k] for k in ("vm_state", "task_state",
                                     "power_state", "version")}
        uuid = row["uuid"]
        for kind, what, expected in sequence:
            if kind == "transition":
                applies = all(model[k] == v for k, v in expected.items())
                try:
                    after = api.transition(self.ctx, uuid, what,
                                           expected=expected)
                except exception.StateConflict as err:
                    self.assertFalse(applies, (what, expected, model))
                    self.assertEqual(model["version"],
                                     err.actual["version"])
                    continue
                self.assertTrue(applies, (what, expected, model))
                model.update(what)
            else:
                applies = self.matrix.is_allowed(what, model["vm_state"],
                                                 model["task_state"])
                try:
                    after = lifecycle.begin(self.ctx, uuid, what,
                                            matrix=self.matrix).instance
                except exception.InstanceInvalidState:
                    self.assertFalse(applies, (what, model))
                    continue
                self.assertTrue(applies, (what, model))
                begins = self.matrix.definition(what).begins
                if begins is not None:
                    model["task_state"] = begins
            model["version"] += 1
            self.assertEqual(model, {k: after[k] for k in model})
        events = api.instance_events(self.ctx, uuid)
        self.assertEqual(list(range(1, model["version"] + 1)),
                         [e["version"] for e in events])
        for before, after in zip(events, events[1:], strict=False):
            self.assertEqual(before["to"], after["from"])
        self.assertEqual({k: model[k] for k in events[-1]["to"]},
                         events[-1]["to"])
