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

"""Nova's ``must_have_launched`` in the matrix, cell for cell."""

from tests import base
from vmstate import matrix
from vmstate.matrix.plugins import nova

# nova/compute/api.py: the two check_instance_state decorators that pass
# must_have_launched=False.
NOT_LAUNCHED_OK = {"delete", "force_delete"}


class TestLaunched(base.TestCase):

    def setUp(self):
        super().setUp()
        self.matrix = matrix.load(["nova"])

    def test_novas_data(self):
        self.assertEqual(set(nova.GUARDS) - NOT_LAUNCHED_OK,
                         set(self.matrix.needs_launched))

    def test_every_cell(self):
        for vm in self.matrix.vm_states:
            for task in (None, *self.matrix.task_states):
                launched = self.matrix.allowed_actions(vm, task)
                never = self.matrix.allowed_actions(vm, task, launched=False)
                expected = launched & NOT_LAUNCHED_OK
                if "delete" in launched and "soft_delete" in launched:
                    # Nova deletes a never-launched instance instead.
                    expected |= {"soft_delete"}
                self.assertEqual(expected, never, (vm, task))
                for action in self.matrix.actions:
                    self.assertEqual(action in never, self.matrix.is_allowed(
                        action, vm, task, launched=False))

    def test_refusal_names_launched_at_after_the_states(self):
        err = self.matrix.refusal("stop", "U", "active", None,
                                  launched=False)
        self.assertEqual("launched_at", err.attribute)
        self.assertEqual("Cannot 'stop' instance U while it is in "
                         "launched_at None", err.message)
        err = self.matrix.refusal("start", "U", "active", None,
                                  launched=False)
        self.assertEqual("vm_state", err.attribute)

    def test_a_redefinition_keeps_the_requirement(self):
        both = matrix.load(["nova", "serialized"])
        self.assertIn("attach_volume", both.needs_launched)
