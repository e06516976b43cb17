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

"""The ``nova`` plugin against Nova's guards, cell for cell.

The reference is transcribed here from ``nova-guards.md`` (Nova's
``check_instance_state`` decorators, vm_states.py, task_states.py and
power_state.py) as the table it is written as, and parsed by this test:
nothing is imported from the plugin, so a mistake in either shows up as a
difference.
"""

from tests import base
from vmstate import matrix
from vmstate import states

# Transcribed from the reference's vocabulary section.
REFERENCE_VM_STATES = """
active, building, paused, suspended, stopped, rescued, resized, soft-delete,
deleted, error, shelved, shelved_offloaded
"""
REFERENCE_TASK_STATES = """
scheduling, block_device_mapping, networking, spawning, image_snapshot,
image_snapshot_pending, image_pending_upload, image_uploading, image_backup,
updating_password, resize_prep, resize_migrating, resize_migrated,
resize_finish, resize_reverting, resize_confirming, rebooting,
reboot_pending, reboot_started, rebooting_hard, reboot_pending_hard,
reboot_started_hard, pausing, unpausing, suspending, resuming, powering-off,
powering-on, rescuing, unrescuing, rebuilding, rebuild_block_device_mapping,
rebuild_spawning, migrating, deleting, soft-deleting, restoring, shelving,
shelving_image_pending_upload, shelving_image_uploading, shelving_offloading,
unshelving
"""
REFERENCE_POWER_STATES = {0: "pending", 1: "running", 3: "paused",
                          4: "shutdown", 6: "crashed", 7: "suspended"}

# Transcribed from the reference's "Guards per action" table. Columns:
# action | allowed vm_states | allowed task_states | task_state set when
# the action begins | vm_state when it completes.
REFERENCE_GUARDS = """
| `attach_interface` | `active`, `paused`, `stopped` | None | — | unchanged |
| `attach_volume` | `active`, `paused`, `stopped`, `resized`, `soft-delete`, `shelved`, `shelved_offloaded` | None | — | unchanged |
| `backup` | `active`, `stopped`, `paused`, `suspended` | None | `image_backup` | unchanged |
| `confirm_resize` | `resized` | None | — | active (stopped if it was stopped) |
| `delete` | ANY | ANY | `deleting` | deleted |
| `delete_instance_metadata` | `active`, `paused`, `suspended`, `stopped` | ANY | — | unchanged |
| `detach_interface` | `active`, `paused`, `stopped` | None | — | unchanged |
| `detach_volume` | `active`, `paused`, `stopped`, `resized`, `soft-delete`, `shelved`, `shelved_offloaded` | None | — | unchanged |
| `evacuate` | `active`, `stopped`, `error` | ANY | `rebuilding` | active (or the requested target, stopped) |
| `force_delete` | ANY | ANY | `deleting` | deleted |
| `live_migrate` | `active`, `paused` | None | `migrating` | unchanged |
| `live_migrate_abort` | ANY | `migrating` | — | unchanged |
| `live_migrate_force_complete` | `active` | `migrating` | — | unchanged |
| `migrate` | `active`, `stopped` | None | `resize_prep` | resized |
| `pause` | `active` | None | `pausing` | paused |
| `reboot` | `active` | None | `rebooting` | active |
| `reboot_hard` | `active`, `stopped`, `paused`, `suspended`, `error` | None, `rebooting`, `reboot_pending`, `reboot_started`, `resuming`, `rebooting_hard`, `unpausing`, `pausing`, `suspending` | `rebooting_hard` | active |
| `rebuild` | `active`, `stopped`, `error` | None | `rebuilding` | active (stopped if it was stopped) |
| `rescue` | `active`, `stopped`, `error` | None | `rescuing` | rescued |
| `resize` | `active`, `stopped` | None | `resize_prep` | resized |
| `restore` | `soft-delete` | None | `restoring` | active |
| `resume` | `suspended` | None | `resuming` | active |
| `revert_resize` | `resized` | None | `resize_reverting` | active (stopped if it was stopped) |
| `set_admin_password` | `active` | None | `updating_password` | unchanged |
| `shelve` | `active`, `stopped`, `paused`, `suspended` | None | `shelving` | shelved (shelved_offloaded when offloading at once) |
| `shelve_offload` | `shelved` | None | `shelving_offloading` | shelved_offloaded |
| `snapshot` | `active`, `stopped`, `paused`, `suspended` | None | `image_snapshot_pending` | unchanged |
| `soft_delete` | ANY | ANY | `soft-deleting` | soft-delete |
| `start` | `stopped` | None | `powering-on` | active |
| `stop` | `active`, `error` | None | `powering-off` | stopped |
| `suspend` | `active` | None | `suspending` | suspended |
| `swap_volume` | `active`, `paused`, `resized` | None | — | unchanged |
| `trigger_crash_dump` | `active`, `paused`, `rescued`, `resized`, `error` | None | — | unchanged |
| `unpause` | `paused` | None | `unpausing` | active |
| `unrescue` | `rescued` | None | `unrescuing` | active |
| `unshelve` | `shelved`, `shelved_offloaded` | None | `unshelving` | active |
| `update_instance_metadata` | `active`, `paused`, `suspended`, `stopped` | ANY | — | unchanged |
"""  # noqa: E501

# States no vocabulary has: the reference's ANY (Nova does not check the
# attribute) admits them, a list of states does not.
FOREIGN_VM_STATE = "hibernated-by-someone-else"
FOREIGN_TASK_STATE = "defragmenting"

ANY = object()


def _words(text):
    return [w.strip() for w in text.replace("\n", " ").split(",")
            if w.strip()]


def _states_column(text):
    text = text.strip()
    if text == "ANY":
        return ANY
    values = set()
    for word in _words(text):
        values.add(None if word == "None" else word.strip("`"))
    return frozenset(values)


def _begins_column(text):
    text = text.strip()
    return None if text == "—" else text.strip("`")


def _completes_column(text):
    # "active (stopped if it was stopped)": the vm_state named first.
    text = text.strip()
    return None if text == "unchanged" else text.split()[0].strip("`")


def parse_guards(table):
    guards = {}
    for line in table.strip().splitlines():
        cols = line.strip().strip("|").split("|")
        action = cols[0].strip().strip("`")
        if action in guards:
            raise AssertionError("%s transcribed twice" % action)
        guards[action] = (_states_column(cols[1]), _states_column(cols[2]),
                          _begins_column(cols[3]),
                          _completes_column(cols[4]))
    return guards


GUARDS = parse_guards(REFERENCE_GUARDS)
VM_STATES = _words(REFERENCE_VM_STATES)
TASK_STATES = _words(REFERENCE_TASK_STATES)


def _admits(column, value):
    return column is ANY or value in column


def expected_allowed(action, vm_state, task_state):
    # vmstate's one rule over Nova's table: deleted is terminal. (Nova
    # hides a deleted instance, so its guards never see one; vmstate
    # keeps it, with its history, and allows nothing on it.)
    if vm_state == "deleted":
        return False
    vm_states, task_states, _, _ = GUARDS[action]
    return _admits(vm_states, vm_state) and _admits(task_states, task_state)


def expected_attribute(action, vm_state, task_state):
    """The attribute Nova's decorator names when it refuses, or None."""
    vm_states, task_states, _, _ = GUARDS[action]
    if vm_state == "deleted" or not _admits(vm_states, vm_state):
        return "vm_state"
    if not _admits(task_states, task_state):
        return "task_state"
    return None


class TestTranscription(base.TestCase):
    """The transcription itself, so the comparisons below mean something."""

    def test_every_action_of_the_reference(self):
        self.assertEqual(37, len(GUARDS))

    def test_columns_use_only_the_vocabulary(self):
        for action, (vms, tasks, begins, completes) in GUARDS.items():
            if vms is not ANY:
                self.assertLessEqual(vms, set(VM_STATES), action)
            if tasks is not ANY:
                self.assertLessEqual(tasks, {None, *TASK_STATES}, action)
            self.assertIn(begins, {None, *TASK_STATES}, action)
            self.assertIn(completes, {None, *VM_STATES}, action)

    def test_sizes_of_the_vocabulary(self):
        self.assertEqual(12, len(set(VM_STATES)))
        self.assertEqual(42, len(set(TASK_STATES)))


class TestVocabulary(base.TestCase):

    def test_vm_states(self):
        self.assertEqual(sorted(VM_STATES), sorted(states.VM_STATES))
        self.assertEqual(len(states.VM_STATES), len(set(states.VM_STATES)))

    def test_task_states(self):
        self.assertEqual(sorted(TASK_STATES), sorted(states.TASK_STATES))
        self.assertEqual(len(states.TASK_STATES),
                         len(set(states.TASK_STATES)))

    def test_exact_strings_of_the_odd_ones(self):
        # The strings Nova spells with a hyphen, easy to "fix" by mistake.
        self.assertEqual("soft-delete", states.SOFT_DELETED)
        self.assertEqual("powering-off", states.POWERING_OFF)
        self.assertEqual("powering-on", states.POWERING_ON)
        self.assertEqual("soft-deleting", states.SOFT_DELETING)
        self.assertEqual("shelved_offloaded", states.SHELVED_OFFLOADED)

    def test_no_task_is_none_and_any_is_spelled_out(self):
        self.assertIsNone(states.NO_TASK)
        self.assertEqual("*", states.ANY)
        self.assertNotIn(states.ANY, states.VM_STATES)
        self.assertNotIn(states.ANY, states.TASK_STATES)

    def test_power_states(self):
        self.assertEqual(REFERENCE_POWER_STATES, states.POWER_STATE_NAMES)
        self.assertEqual(sorted(REFERENCE_POWER_STATES),
                         sorted(states.POWER_STATES))
        self.assertEqual((0, 1, 3, 4, 6, 7),
                         (states.NOSTATE, states.RUNNING,
                          states.POWER_PAUSED, states.SHUTDOWN,
                          states.CRASHED, states.POWER_SUSPENDED))


class TestNovaPlugin(base.TestCase):

    def setUp(self):
        super().setUp()
        self.matrix = matrix.load(["nova"])

    def test_vocabulary_of_the_matrix(self):
        self.assertEqual(("nova",), self.matrix.plugins)
        self.assertEqual(sorted(VM_STATES), sorted(self.matrix.vm_states))
        self.assertEqual(sorted(TASK_STATES),
                         sorted(self.matrix.task_states))

    def test_actions(self):
        self.assertEqual(sorted(GUARDS), sorted(self.matrix.actions))

    def test_every_cell(self):
        vm_states = [*VM_STATES, FOREIGN_VM_STATE]
        task_states = [None, *TASK_STATES, FOREIGN_TASK_STATE]
        wrong = []
        checked = 0
        for vm_state in vm_states:
            for task_state in task_states:
                allowed = self.matrix.allowed_actions(vm_state, task_state)
                for action in GUARDS:
                    checked += 1
                    expected = expected_allowed(action, vm_state, task_state)
                    if (self.matrix.is_allowed(action, vm_state, task_state)
                            != expected or (action in allowed) != expected):
                        wrong.append((action, vm_state, task_state,
                                      "expected allowed=%s" % expected))
        self.assertEqual([], wrong)
        self.assertEqual(37 * 13 * 44, checked)

    def test_every_refusal_names_nova_s_attribute(self):
        # Nova checks the vm_state first, then the task_state; the 409
        # message names the first that fails.
        wrong = []
        for vm_state in [*VM_STATES, FOREIGN_VM_STATE]:
            for task_state in [None, *TASK_STATES, FOREIGN_TASK_STATE]:
                for action in GUARDS:
                    explanation = self.matrix.explain(action, vm_state,
                                                      task_state)
                    expected = expected_attribute(action, vm_state,
                                                  task_state)
                    if explanation.attribute != expected:
                        wrong.append((action, vm_state, task_state,
                                      explanation.attribute, expected))
        self.assertEqual([], wrong)

    def test_allowed_cells_per_action(self):
        # The same comparison from the other side: the number of known
        # cells each action may start from.
        for action, (vms, tasks, _, _) in GUARDS.items():
            # ANY: every vm_state but the terminal deleted.
            n_vm = len(VM_STATES) - 1 if vms is ANY else len(vms)
            n_task = len(TASK_STATES) + 1 if tasks is ANY else len(tasks)
            known = {(vm, task) for vm, task in self.matrix.cells(action)
                     if vm != matrix.OTHER and task != matrix.OTHER}
            self.assertEqual(n_vm * n_task, len(known), action)

    def test_task_state_set_when_each_action_begins(self):
        # vmstate's one difference: confirm_resize runs a task, so that a
        # resize is confirmed or reverted once (Nova marks the migration
        # "confirming" instead; the guard is the same).
        reference = {a: begins for a, (_, _, begins, _) in GUARDS.items()}
        reference["confirm_resize"] = "resize_confirming"
        wrong = {a: (self.matrix.definition(a).begins, begins)
                 for a, begins in reference.items()
                 if self.matrix.definition(a).begins != begins}
        self.assertEqual({}, wrong)

    def test_completion_rules(self):
        # "active (stopped if it was stopped)" in the reference.
        for action in ("rebuild", "evacuate", "confirm_resize",
                       "revert_resize"):
            definition = self.matrix.definition(action)
            self.assertEqual("stopped", definition.completion("stopped"))
            self.assertEqual("active", definition.completion("active"))
            self.assertEqual("active", definition.completion("error"))
            self.assertEqual("active", definition.completion(None))
        self.assertEqual(("resize", "migrate"),
                         self.matrix.definition("revert_resize").origin)
        self.assertEqual((), self.matrix.definition("rebuild").origin)
        self.assertEqual("resized",
                         self.matrix.definition("resize").completion(
                             "stopped"))
        self.assertEqual("delete",
                         self.matrix.definition("soft_delete").unlaunched)

    def test_vm_state_when_each_action_completes(self):
        wrong = {a: (self.matrix.definition(a).completes, completes)
                 for a, (_, _, _, completes) in GUARDS.items()
                 if self.matrix.definition(a).completes != completes}
        self.assertEqual({}, wrong)

    def test_definitions_are_attributed_to_the_plugin(self):
        for action in GUARDS:
            definition = self.matrix.definition(action)
            self.assertEqual(action, definition.name)
            self.assertEqual("nova", definition.plugin)

    def test_spot_checks(self):
        # A few cells written out, independent of the parser above.
        m = self.matrix
        self.assertTrue(m.is_allowed("reboot", "active", None))
        self.assertFalse(m.is_allowed("reboot", "active", "rebooting"))
        self.assertFalse(m.is_allowed("reboot", "stopped", None))
        self.assertTrue(m.is_allowed("reboot_hard", "paused", "pausing"))
        self.assertFalse(m.is_allowed("reboot_hard", "paused",
                                      "reboot_pending_hard"))
        self.assertTrue(m.is_allowed("delete", "building", "spawning"))
        self.assertTrue(m.is_allowed("delete", FOREIGN_VM_STATE,
                                     FOREIGN_TASK_STATE))
        self.assertTrue(m.is_allowed("live_migrate_abort", "paused",
                                     "migrating"))
        self.assertFalse(m.is_allowed("live_migrate_abort", "paused", None))
        self.assertTrue(m.is_allowed("evacuate", "error", "rebooting"))
        self.assertFalse(m.is_allowed("start", "active", None))
        self.assertEqual({"delete", "force_delete", "soft_delete"},
                         m.allowed_actions(FOREIGN_VM_STATE, None))
