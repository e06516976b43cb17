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


"""The coalescing rules of queued actions, table-driven, on Nova's matrix.
"""

from tests import base
from vmstate import exception
from vmstate.lifecycle import queue
from vmstate.matrix import loader

Q = queue.QUEUED
C = queue.COLLAPSED

# (vm_state, running action or None, queued actions, new action, limit,
#  expected): expected is (QUEUED, positions dropped), (COLLAPSED,) or
#  ("refused", a fragment of the message).
CASES = {
    # Queued behind a running task, when the task's outcome allows it.
    "stop after reboot": ("active", "reboot", [], "stop", 5, (Q, ())),
    "start never after reboot": (
        "active", "reboot", [], "start", 5,
        ("refused", "none of the vm_states the instance can be in after "
                    "the running reboot (active, error); it needs "
                    "stopped")),
    "start after a queued stop": (
        "active", "reboot", ["stop"], "start", 5, (Q, ())),
    "unpause never": ("active", "reboot", ["stop", "start"], "unpause", 5,
                      ("refused", "it needs paused")),
    "a failed outcome counts": (
        # rebuild fails to error; stop is allowed from error.
        "stopped", "rebuild", [], "rescue", 5, (Q, ())),
    # Repeats collapse into the last queued action only.
    "repeat collapses": ("active", "reboot", ["stop"], "stop", 5, (C,)),
    "not a consecutive repeat": (
        "active", "reboot", ["stop", "start"], "stop", 5, (Q, ())),
    "a repeat of the running task is queued": (
        "active", "reboot", [], "reboot", 5, (Q, ())),
    "repeats collapse in a full queue": (
        "active", "reboot", ["stop", "start"], "start", 2, (C,)),
    # A delete supersedes everything and nothing follows it.
    "delete drops what is queued": (
        "active", "reboot", ["stop", "start"], "delete", 5, (Q, (0, 1))),
    "force_delete too": (
        "active", "resize", ["reboot"], "force_delete", 5, (Q, (0,))),
    "delete in a full queue": (
        "active", "reboot", ["stop", "start"], "delete", 2, (Q, (0, 1))),
    "nothing after a queued delete": (
        "active", "reboot", ["delete"], "reboot", 5,
        ("refused", "it would follow the queued 'delete'")),
    "a repeated delete collapses": (
        "active", "reboot", ["delete"], "delete", 5, (C,)),
    "nothing while deleting": (
        "active", "delete", [], "stop", 5,
        ("refused", "the instance is being deleted")),
    "soft_delete does not end it": (
        "active", "reboot", ["soft_delete"], "restore", 5, (Q, ())),
    # Bounded.
    "full": ("active", "reboot", ["stop", "start"], "reboot", 2,
             ("refused", "2 actions are queued already")),
    # Tasks whose outcome the matrix describes differently.
    "behind a build": ("building", "create", [], "reboot", 5, (Q, ())),
    "never behind a build": ("building", "create", [], "unshelve", 5,
                             ("refused", "it needs shelved")),
    "behind a snapshot (vm_state kept)": (
        "paused", "snapshot", [], "unpause", 5, (Q, ())),
    "behind a resize": ("active", "resize", [], "confirm_resize", 5,
                        (Q, ())),
    "behind a task no action describes": (
        "active", "update", [], "unshelve", 5, (Q, ())),
    # Idle, with queued actions still to start.
    "idle with a queue": ("stopped", None, ["start"], "reboot", 5, (Q, ())),
    "idle, impossible": ("stopped", None, ["start"], "unrescue", 5,
                         ("refused", "it needs rescued")),
    "a queued action the matrix no longer knows": (
        "active", "reboot", ["vanished"], "stop", 5, (Q, ())),
}


class TestCoalesce(base.TestCase):

    def test_cases(self):
        matrix = loader.get()
        for name, (vm_state, running, queued, action, limit,
                   expected) in CASES.items():
            with self.subTest(name):
                if expected[0] == "refused":
                    err = self.assertRaises(
                        exception.Conflict, queue.coalesce, matrix,
                        vm_state, running, queued, action, limit)
                    self.assertEqual(409, err.code, name)
                    self.assertIn(expected[1], err.message, name)
                    self.assertEqual(action, err.details["action"], name)
                    continue
                decision = queue.coalesce(matrix, vm_state, running,
                                          queued, action, limit)
                self.assertEqual(expected[0], decision.kind, name)
                if expected[0] == Q:
                    self.assertEqual(expected[1], decision.drop, name)

    def test_unknown_action(self):
        self.assertRaises(exception.UnknownAction, queue.coalesce,
                          loader.get(), "active", "reboot", [],
                          "explode", 5)

    def test_reachable(self):
        matrix = loader.get()
        self.assertEqual({"active", "error"},
                         queue.reachable(matrix, "active", "reboot", []))
        self.assertEqual({"active", "error", "stopped"},
                         queue.reachable(matrix, "active", "reboot",
                                         ["stop"]))
        self.assertIsNone(queue.reachable(matrix, "active", "update", []))
        self.assertEqual({"stopped"},
                         queue.reachable(matrix, "stopped", None, []))
