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

"""The ``serialized`` plugin against ``nova``, cell for cell."""

from tests import base
from vmstate import exception
from vmstate import matrix
from vmstate import states
from vmstate.matrix.plugins import nova
from vmstate.matrix.plugins import serialized

ATTACHMENTS = tuple(serialized.TASKS)
# A task_state Nova's vocabulary does not know: what nova alone answers
# for the new task_states, which only its "*" rules cover.
FOREIGN = "somebody-elses-task"


class TestSerialized(base.TestCase):

    def setUp(self):
        super().setUp()
        self.nova = matrix.load(["nova"])
        self.both = matrix.load(["nova", "serialized"])

    def test_installed_entry_point(self):
        self.assertEqual(("nova", "serialized"), self.both.plugins)
        self.assertIn("serialized", matrix.installed_plugins())

    def test_every_nova_cell_is_unchanged(self):
        # Wherever no attachment runs, the composition is nova's.
        for vm in self.nova.vm_states:
            for task in (None, *self.nova.task_states):
                self.assertEqual(self.nova.allowed_actions(vm, task),
                                 self.both.allowed_actions(vm, task),
                                 (vm, task))

    def test_while_an_attachment_runs_only_novas_any_task_actions(self):
        for vm in self.nova.vm_states:
            expected = self.nova.allowed_actions(vm, FOREIGN)
            for task in serialized.TASKS.values():
                self.assertEqual(expected,
                                 self.both.allowed_actions(vm, task),
                                 (vm, task))
            # delete preempts; no attachment and no long task starts.
            if vm != states.DELETED:
                self.assertIn("delete", expected)
            self.assertFalse(expected & set(ATTACHMENTS))
            self.assertFalse(expected & {"rebuild", "resize", "snapshot",
                                         "shelve", "live_migrate"})

    def test_attachments_exclude_each_other_and_long_tasks(self):
        long_tasks = [a for a, (_, tasks, begins, *_rest)
                      in nova.GUARDS.items()
                      if begins is not None and tasks == nova.IDLE]
        self.assertIn("rebuild", long_tasks)
        for first in (*ATTACHMENTS, *long_tasks):
            running = self.both.definition(first).begins
            for vm in self.both.vm_states:
                if not self.both.is_allowed(first, vm, None):
                    continue
                for second in (*ATTACHMENTS, *long_tasks):
                    self.assertFalse(
                        self.both.is_allowed(second, vm, running),
                        "%s beside %s in %s" % (second, first, vm))

    def test_nova_alone_leaves_the_conflict_open(self):
        # What the plugin is for: Nova gives a detach no task, so a
        # rebuild may start while it runs.
        self.assertIsNone(self.nova.definition("detach_volume").begins)
        self.assertTrue(self.nova.is_allowed("rebuild", "active", None))
        self.assertEqual("detaching_volume",
                         self.both.definition("detach_volume").begins)
        self.assertFalse(self.both.is_allowed("rebuild", "active",
                                              "detaching_volume"))

    def test_attachments_keep_novas_guards_and_state(self):
        for action, task in serialized.TASKS.items():
            definition = self.both.definition(action)
            self.assertEqual((task, None, None),
                             (definition.begins, definition.completes,
                              definition.fails_to))
            for vm in self.nova.vm_states:
                self.assertEqual(self.nova.is_allowed(action, vm, None),
                                 self.both.is_allowed(action, vm, None))
            self.assertEqual(serialized.TIMEOUT,
                             self.both.timeouts[task].seconds)
            self.assertEqual(states.TIMEOUT_CLEAR,
                             self.both.timeouts[task].reaction)

    def test_needs_nova_first(self):
        err = self.assertRaises(exception.MatrixError, matrix.load,
                                ["serialized"])
        self.assertIn("serialized", str(err))
        self.assertIn("attach_volume", str(err))
