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

"""Property tests: any composition of plugins compiles to what its rules say.

Hypothesis builds random plugins (new states and actions, allow and deny
rules with wildcards and ``None``) and composes them; the compiled matrix
must agree, cell for cell, with a naive evaluation of the rules (the last
rule that covers a cell decides; only wildcards cover states outside the
vocabulary), and its lookups must agree with one another.
"""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests import base
from vmstate.matrix import loader

VMS = ["vm%d" % i for i in range(5)]
TASKS = ["t%d" % i for i in range(5)]
ACTIONS = ["a%d" % i for i in range(4)]
OUTSIDE = ("nowhere", "never")


def _spec(values, allow_none):
    choices = st.lists(st.sampled_from(values + ([None] if allow_none
                                                 else [])),
                       min_size=1, max_size=4, unique=True)
    return st.one_of(st.just("*"), choices)


rules = st.lists(st.tuples(
    st.sampled_from(["allow", "deny"]), st.sampled_from(ACTIONS),
    _spec(VMS, False), _spec(TASKS, True)), max_size=12)
plugins = st.lists(rules, min_size=1, max_size=3)


def _compose(plugin_rules):
    def make(rule_list, first):
        def plugin(builder):
            if first:
                builder.declare_vm_state(*VMS)
                builder.declare_task_state(*TASKS)
                for action in ACTIONS:
                    builder.declare_action(action, fails_to=None)
            for verb, action, vms, tasks in rule_list:
                getattr(builder, verb)(action, vms, tasks)
        return plugin
    return loader.from_plugins(*[
        ("p%d" % n, make(r, n == 0)) for n, r in enumerate(plugin_rules)])


def _naive(plugin_rules, action, vm, task):
    allowed, decided_by = False, None
    for n, rule_list in enumerate(plugin_rules):
        for verb, rule_action, vms, tasks in rule_list:
            if rule_action != action:
                continue
            vm_ok = vms == "*" or vm in vms
            task_ok = tasks == "*" or task in tasks
            if vm_ok and task_ok:
                allowed, decided_by = verb == "allow", "p%d" % n
    return allowed, decided_by


class TestCompositionProperties(base.TestCase):

    @settings(max_examples=150, deadline=None)
    @given(plugins)
    def test_compiled_equals_the_rules(self, plugin_rules):
        matrix = _compose(plugin_rules)
        for vm in VMS + [OUTSIDE[0]]:
            for task in [None] + TASKS + [OUTSIDE[1]]:
                allowed = matrix.allowed_actions(vm, task)
                for action in ACTIONS:
                    expected, by = _naive(plugin_rules, action, vm, task)
                    self.assertEqual(expected,
                                     matrix.is_allowed(action, vm, task),
                                     (action, vm, task))
                    self.assertEqual(expected, action in allowed)
                    explained = matrix.explain(action, vm, task)
                    self.assertEqual(expected, explained.allowed)
                    self.assertEqual(by, explained.plugin)

    @settings(max_examples=100, deadline=None)
    @given(plugins)
    def test_lookups_agree(self, plugin_rules):
        matrix = _compose(plugin_rules)
        for action in ACTIONS:
            by_vm = matrix.action_cells(action)
            cells = matrix.cells(action)
            self.assertEqual(cells, frozenset(
                (vm, task) for vm, tasks in by_vm.items()
                for task in tasks))
            for vm, task in cells:
                self.assertIn(action, matrix.allowed_actions(vm, task))
        listed = {(c["vm_state"], c["task_state"]): set(c["actions"])
                  for c in matrix.as_dict()["allowed"]}
        for vm in VMS:
            for task in [None] + TASKS:
                self.assertEqual(listed.get((vm, task), set()),
                                 set(matrix.allowed_actions(vm, task)))

    @settings(max_examples=60, deadline=None)
    @given(plugins, plugins)
    def test_a_later_plugin_that_denies_everything_wins(self, first, _):
        matrix = _compose(first + [[("deny", a, "*", "*")
                                    for a in ACTIONS]])
        for vm in VMS + [OUTSIDE[0]]:
            for task in [None] + TASKS + [OUTSIDE[1]]:
                self.assertEqual(frozenset(),
                                 matrix.allowed_actions(vm, task))
