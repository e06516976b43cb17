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

"""The ``blueprint`` plugin against the 2011 blueprint's table.

The table is transcribed as written (seed ``002_e2b18ecde3b0789a``) and
evaluated here with the blueprint's rule: of the rows matching a cell,
the most specific wins, and a task in progress (``!=None``) is more
specific than a vm_state row whose task is ``<Any>``; so a running task
allows only Terminate, except the Active/Resize_verify row.
"""

from tests import base
from vmstate import matrix

BLUEPRINT_TABLE = """
| <Any>      | !=None        | Terminate |
| Active     | Resize_verify | Terminate, Reboot, Stop, Rebuild, Pause, Suspend, Rescue, Create_Snapshot, Resize, Confirm_Resize, Revert_Resize |
| Active     | None          | Terminate, Reboot, Stop, Rebuild, Pause, Suspend, Rescue, Create_Snapshot, Resize |
| Building   | <Any>         | Terminate |
| ReBuilding | <Any>         | Terminate |
| Paused     | <Any>         | Terminate, Unpause, Rescue |
| Suspended  | <Any>         | Terminate, Resume, Rescue |
| Rescued    | <Any>         | Terminate, Reboot, Stop, Rebuild, Pause, Suspend, UnRescue |
| Deleted    | <Any>         | Terminate |
| Stopped    | <Any>         | Terminate, Start |
| Migrating  | <Any>         | Terminate |
| Resizing   | <Any>         | Terminate |
| Error      | <Any>         | Terminate |
"""  # noqa: E501

# The actions the blueprint names, besides those in the table: Start and
# Unpause etc. all appear there; this is the full list in lower case.
BLUEPRINT_ACTIONS = {
    "terminate", "reboot", "stop", "rebuild", "pause", "suspend", "rescue",
    "create_snapshot", "resize", "confirm_resize", "revert_resize",
    "unpause", "resume", "unrescue", "start",
}
# The create sequence the blueprint walks through (Scheduling,
# Networking, Block_Device_Mapping, Spawning) and its resize step.
BLUEPRINT_TASK_STATES = {"scheduling", "networking", "block_device_mapping",
                         "spawning", "resize_verify"}

FOREIGN_VM_STATE = "shelved"    # a vm_state of later Novas, not of 2011
FOREIGN_TASK_STATE = "image_uploading"

ANY = "<any>"
NOT_NONE = "!=none"


def parse_table(table):
    rows = []
    for line in table.strip().splitlines():
        vm, task, actions = (c.strip() for c in line.strip(" |").split("|"))
        rows.append((vm.lower(), task.lower(),
                     frozenset(a.strip().lower() for a in actions.split(","))))
    return rows


ROWS = parse_table(BLUEPRINT_TABLE)
VM_STATES = [vm for vm, _, _ in ROWS if vm != ANY]
VM_STATES = sorted(set(VM_STATES), key=VM_STATES.index)


def _specificity(vm_column, task_column):
    # The task column first: "!=None" beats a vm_state with task "<Any>".
    task_rank = {ANY: 0, NOT_NONE: 1}.get(task_column, 2)
    return (task_rank, 0 if vm_column == ANY else 1)


def _matches(vm_column, task_column, vm_state, task_state):
    if vm_column not in (ANY, vm_state):
        return False
    if task_column == ANY:
        return True
    if task_column == NOT_NONE:
        return task_state is not None
    if task_column == "none":
        return task_state is None
    return task_column == task_state


def expected_actions(vm_state, task_state):
    # vmstate's one rule over the table: deleted is terminal (the table's
    # "terminate a deleted instance" is refused).
    if vm_state == "deleted":
        return frozenset()
    matching = [(_specificity(vm, task), actions)
                for vm, task, actions in ROWS
                if _matches(vm, task, vm_state, task_state)]
    if not matching:
        return frozenset()
    best = max(rank for rank, _ in matching)
    winners = {actions for rank, actions in matching if rank == best}
    # Two rows equally specific and disagreeing: the table is ambiguous.
    assert len(winners) == 1, (vm_state, task_state, winners)
    return winners.pop()


class TestTranscription(base.TestCase):

    def test_rows_and_states(self):
        self.assertEqual(13, len(ROWS))
        self.assertEqual(
            ["active", "building", "rebuilding", "paused", "suspended",
             "rescued", "deleted", "stopped", "migrating", "resizing",
             "error"], VM_STATES)

    def test_actions_named_by_the_table(self):
        named = set().union(*(actions for _, _, actions in ROWS))
        self.assertEqual(BLUEPRINT_ACTIONS, named)

    def test_rule_of_the_most_specific_row(self):
        self.assertEqual({"terminate"},
                         expected_actions("paused", "spawning"))
        self.assertEqual({"terminate", "unpause", "rescue"},
                         expected_actions("paused", None))
        self.assertIn("confirm_resize",
                      expected_actions("active", "resize_verify"))
        self.assertEqual(frozenset(), expected_actions("shelved", None))


class TestBlueprintPlugin(base.TestCase):

    def setUp(self):
        super().setUp()
        self.matrix = matrix.load(["blueprint"])

    def test_vocabulary(self):
        self.assertEqual(("blueprint",), self.matrix.plugins)
        self.assertEqual(sorted(VM_STATES), sorted(self.matrix.vm_states))
        self.assertEqual(BLUEPRINT_TASK_STATES,
                         set(self.matrix.task_states))
        self.assertEqual(BLUEPRINT_ACTIONS, set(self.matrix.actions))

    def test_every_cell(self):
        wrong = []
        checked = 0
        for vm_state in [*VM_STATES, FOREIGN_VM_STATE]:
            for task_state in [None, *sorted(BLUEPRINT_TASK_STATES),
                               FOREIGN_TASK_STATE]:
                expected = expected_actions(vm_state, task_state)
                got = self.matrix.allowed_actions(vm_state, task_state)
                if got != expected:
                    wrong.append((vm_state, task_state, sorted(got),
                                  sorted(expected)))
                for action in BLUEPRINT_ACTIONS:
                    checked += 1
                    if (self.matrix.is_allowed(action, vm_state, task_state)
                            != (action in expected)):
                        wrong.append((action, vm_state, task_state))
        self.assertEqual([], wrong)
        self.assertEqual(15 * 12 * 7, checked)

    def test_no_action_sets_a_task(self):
        # The blueprint's table names no task per action.
        for action in BLUEPRINT_ACTIONS:
            self.assertIsNone(self.matrix.definition(action).begins, action)

    def test_where_actions_complete(self):
        completes = {a: self.matrix.definition(a).completes
                     for a in ("terminate", "stop", "start", "pause",
                               "unpause", "suspend", "resume", "rescue",
                               "unrescue", "resize", "confirm_resize")}
        self.assertEqual(
            {"terminate": "deleted", "stop": "stopped", "start": "active",
             "pause": "paused", "unpause": "active",
             "suspend": "suspended", "resume": "active",
             "rescue": "rescued", "unrescue": "active",
             "resize": "resizing", "confirm_resize": "active"}, completes)

    def test_nova_and_blueprint_vocabularies_differ(self):
        nova = matrix.load(["nova"])
        self.assertIn("resizing", self.matrix.vm_states)
        self.assertNotIn("resizing", nova.vm_states)
        self.assertIn("resize_verify", self.matrix.task_states)
        self.assertNotIn("resize_verify", nova.task_states)
        self.assertNotIn("terminate", nova.actions)
