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



"""The failure rule of waits: which vm_states can still reach a target."""

from tests import base
from vmstate.lifecycle import reachability
from vmstate.matrix import loader


def narrow(builder):
    """A matrix where some states are dead ends and one detour fails."""
    builder.declare_vm_state("new", "up", "down", "retired", "broken",
                             "error", "deleted")
    builder.declare_task_state("starting", "stopping", "retiring")
    builder.declare_action("start", begins="starting", completes="up")
    builder.declare_action("stop", begins="stopping", completes="down")
    builder.declare_action("retire", begins="retiring", completes="retired")
    builder.declare_action("crash", completes="broken")
    builder.declare_action("break_more", completes="error")
    builder.declare_action("repair", completes="up")
    builder.declare_action("delete", completes="deleted")
    builder.allow("start", ["new", "down"])
    builder.allow("stop", "up")
    builder.allow("retire", "down")
    builder.allow("crash", "up")
    builder.allow("break_more", "broken")
    builder.allow("repair", "error")
    builder.allow("delete", ["new", "up", "down", "error"], "*")


class TestHopeless(base.TestCase):

    def setUp(self):
        super().setUp()
        self.matrix = loader.from_plugins(("narrow", narrow))
        self.nova = loader.load(["nova"])

    def hopeless(self, vm_state, target, matrix=None):
        return reachability.hopeless(matrix or self.matrix, vm_state,
                                     target)

    def test_error_and_deleted_fail_unless_awaited(self):
        for matrix in (self.matrix, self.nova):
            self.assertTrue(self.hopeless("error", "up" if matrix is
                                          self.matrix else "active", matrix))
            self.assertTrue(self.hopeless("deleted", "error", matrix))
            self.assertTrue(self.hopeless("error", "deleted", matrix))
            self.assertFalse(self.hopeless("error", "error", matrix))
            self.assertFalse(self.hopeless("deleted", "deleted", matrix))

    def test_paths_of_actions(self):
        self.assertFalse(self.hopeless("down", "up"))
        self.assertFalse(self.hopeless("new", "down"))   # start, then stop
        self.assertFalse(self.hopeless("up", "retired"))  # stop, retire

    def test_dead_end_is_hopeless(self):
        # Nothing leaves retired.
        self.assertTrue(self.hopeless("retired", "up"))
        self.assertTrue(self.hopeless("retired", "down"))

    def test_a_way_only_through_error_is_no_way(self):
        # broken -> error -> up exists, but error ends the wait first.
        self.assertTrue(self.hopeless("broken", "up"))
        self.assertFalse(self.hopeless("broken", "error"))

    def test_unknown_states_are_never_judged(self):
        self.assertFalse(self.hopeless("limbo", "up"))

    def test_nova(self):
        for vm_state in ("active", "stopped", "paused", "suspended",
                         "rescued", "resized", "soft-delete", "shelved",
                         "shelved_offloaded", "building"):
            self.assertFalse(self.hopeless(vm_state, "active", self.nova),
                             vm_state)
        self.assertFalse(self.hopeless("active", "stopped", self.nova))
        # No action of Nova's leads back to building.
        self.assertTrue(self.hopeless("active", "building", self.nova))
        self.assertEqual({"building"},
                         reachability.can_reach(self.nova, "building"))
