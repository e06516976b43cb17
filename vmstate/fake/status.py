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

"""Nova's user-visible ``status`` of a server, from its two states.

The table of ``nova/api/openstack/common.py``: the vm_state gives the
status, except where a running task names a more specific one (REBOOT,
RESIZE, ...).
"""

from vmstate import states as s

_DEFAULT = "default"

STATUS_MAP: dict[str, dict[str | None, str]] = {
    s.ACTIVE: {
        _DEFAULT: "ACTIVE",
        s.REBOOTING: "REBOOT",
        s.REBOOT_PENDING: "REBOOT",
        s.REBOOT_STARTED: "REBOOT",
        s.REBOOTING_HARD: "HARD_REBOOT",
        s.REBOOT_PENDING_HARD: "HARD_REBOOT",
        s.REBOOT_STARTED_HARD: "HARD_REBOOT",
        s.UPDATING_PASSWORD: "PASSWORD",
        s.REBUILDING: "REBUILD",
        s.REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
        s.REBUILD_SPAWNING: "REBUILD",
        s.MIGRATING: "MIGRATING",
        s.RESIZE_PREP: "RESIZE",
        s.RESIZE_MIGRATING: "RESIZE",
        s.RESIZE_MIGRATED: "RESIZE",
        s.RESIZE_FINISH: "RESIZE",
    },
    s.BUILDING: {_DEFAULT: "BUILD"},
    s.STOPPED: {
        _DEFAULT: "SHUTOFF",
        s.RESIZE_PREP: "RESIZE",
        s.RESIZE_MIGRATING: "RESIZE",
        s.RESIZE_MIGRATED: "RESIZE",
        s.RESIZE_FINISH: "RESIZE",
        s.REBUILDING: "REBUILD",
        s.REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
        s.REBUILD_SPAWNING: "REBUILD",
    },
    s.RESIZED: {_DEFAULT: "VERIFY_RESIZE",
                s.RESIZE_REVERTING: "REVERT_RESIZE"},
    s.PAUSED: {_DEFAULT: "PAUSED", s.MIGRATING: "MIGRATING"},
    s.SUSPENDED: {_DEFAULT: "SUSPENDED"},
    s.RESCUED: {_DEFAULT: "RESCUE"},
    s.ERROR: {_DEFAULT: "ERROR", s.REBUILDING: "REBUILD"},
    s.DELETED: {_DEFAULT: "DELETED"},
    s.SOFT_DELETED: {_DEFAULT: "SOFT_DELETED"},
    s.SHELVED: {_DEFAULT: "SHELVED"},
    s.SHELVED_OFFLOADED: {_DEFAULT: "SHELVED_OFFLOADED"},
}


def status(vm_state: str, task_state: str | None) -> str:
    """Nova's status for the pair (UNKNOWN for a vm_state Nova lacks)."""
    by_task = STATUS_MAP.get(vm_state)
    if by_task is None:
        return "UNKNOWN"
    return by_task.get(task_state, by_task[_DEFAULT])
