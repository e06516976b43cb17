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

"""Nova's user-visible status, as the fake compute API shows it."""

from tests import base
from vmstate.fake import status


class TestStatus(base.TestCase):

    def test_novas_table(self):
        # shared/reference/nova-guards.md, "User-visible status".
        cases = {
            ("active", None): "ACTIVE",
            ("active", "rebooting"): "REBOOT",
            ("active", "reboot_started"): "REBOOT",
            ("active", "rebooting_hard"): "HARD_REBOOT",
            ("active", "reboot_pending_hard"): "HARD_REBOOT",
            ("active", "resize_prep"): "RESIZE",
            ("active", "updating_password"): "PASSWORD",
            ("building", "spawning"): "BUILD",
            ("building", None): "BUILD",
            ("stopped", None): "SHUTOFF",
            ("stopped", "powering-on"): "SHUTOFF",
            ("resized", None): "VERIFY_RESIZE",
            ("resized", "resize_reverting"): "REVERT_RESIZE",
            ("rescued", None): "RESCUE",
            ("soft-delete", None): "SOFT_DELETED",
            ("shelved", None): "SHELVED",
            ("shelved_offloaded", None): "SHELVED_OFFLOADED",
            ("error", None): "ERROR",
            ("error", "rebuilding"): "REBUILD",
            ("paused", None): "PAUSED",
            ("paused", "migrating"): "MIGRATING",
            ("suspended", None): "SUSPENDED",
            ("deleted", None): "DELETED",
        }
        for (vm_state, task_state), expected in cases.items():
            self.assertEqual(expected, status.status(vm_state, task_state),
                             (vm_state, task_state))

    def test_every_vm_state_has_a_status(self):
        from vmstate import states
        for vm_state in states.VM_STATES:
            self.assertNotEqual("UNKNOWN", status.status(vm_state, None))
        self.assertEqual("UNKNOWN", status.status("rebuilding", None))
