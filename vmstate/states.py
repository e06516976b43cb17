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

"""The vocabulary of instance state, with Nova's exact strings.

Three attributes describe an instance: ``vm_state`` (the stable state the
user expects), ``task_state`` (the transient step of the action under way,
``None`` when no task runs) and ``power_state`` (what the hypervisor
reports, an integer). The strings are Nova's, so that rows, API answers and
notifications mean the same thing on both sides.
"""

from typing import Final

# vm_state ------------------------------------------------------------------

ACTIVE: Final = "active"
BUILDING: Final = "building"
PAUSED: Final = "paused"
SUSPENDED: Final = "suspended"
STOPPED: Final = "stopped"
RESCUED: Final = "rescued"
RESIZED: Final = "resized"
SOFT_DELETED: Final = "soft-delete"
DELETED: Final = "deleted"
ERROR: Final = "error"
SHELVED: Final = "shelved"
SHELVED_OFFLOADED: Final = "shelved_offloaded"

VM_STATES: Final = (
    ACTIVE, BUILDING, PAUSED, SUSPENDED, STOPPED, RESCUED, RESIZED,
    SOFT_DELETED, DELETED, ERROR, SHELVED, SHELVED_OFFLOADED,
)

#: vm_states nothing moves an instance out of: no action, update, reset,
#: clear_error, queued action, timeout or power report. The store refuses
#: every change of a row in one of them; the matrix allows no action
#: there. (``soft-delete`` is not one: ``restore`` leaves it.)
TERMINAL_VM_STATES: Final = (DELETED,)

#: vm_states an instance had before it ever launched: an instance whose
#: history never reached another vm_state never launched (Nova's
#: ``launched_at`` is unset), and Nova deletes rather than soft-deletes it.
UNLAUNCHED_VM_STATES: Final = (BUILDING, ERROR)

# task_state ----------------------------------------------------------------

NO_TASK: Final = None

SCHEDULING: Final = "scheduling"
BLOCK_DEVICE_MAPPING: Final = "block_device_mapping"
NETWORKING: Final = "networking"
SPAWNING: Final = "spawning"
IMAGE_SNAPSHOT: Final = "image_snapshot"
IMAGE_SNAPSHOT_PENDING: Final = "image_snapshot_pending"
IMAGE_PENDING_UPLOAD: Final = "image_pending_upload"
IMAGE_UPLOADING: Final = "image_uploading"
IMAGE_BACKUP: Final = "image_backup"
UPDATING_PASSWORD: Final = "updating_password"  # noqa: S105
RESIZE_PREP: Final = "resize_prep"
RESIZE_MIGRATING: Final = "resize_migrating"
RESIZE_MIGRATED: Final = "resize_migrated"
RESIZE_FINISH: Final = "resize_finish"
RESIZE_REVERTING: Final = "resize_reverting"
RESIZE_CONFIRMING: Final = "resize_confirming"
REBOOTING: Final = "rebooting"
REBOOT_PENDING: Final = "reboot_pending"
REBOOT_STARTED: Final = "reboot_started"
REBOOTING_HARD: Final = "rebooting_hard"
REBOOT_PENDING_HARD: Final = "reboot_pending_hard"
REBOOT_STARTED_HARD: Final = "reboot_started_hard"
PAUSING: Final = "pausing"
UNPAUSING: Final = "unpausing"
SUSPENDING: Final = "suspending"
RESUMING: Final = "resuming"
POWERING_OFF: Final = "powering-off"
POWERING_ON: Final = "powering-on"
RESCUING: Final = "rescuing"
UNRESCUING: Final = "unrescuing"
REBUILDING: Final = "rebuilding"
REBUILD_BLOCK_DEVICE_MAPPING: Final = "rebuild_block_device_mapping"
REBUILD_SPAWNING: Final = "rebuild_spawning"
MIGRATING: Final = "migrating"
DELETING: Final = "deleting"
SOFT_DELETING: Final = "soft-deleting"
RESTORING: Final = "restoring"
SHELVING: Final = "shelving"
SHELVING_IMAGE_PENDING_UPLOAD: Final = "shelving_image_pending_upload"
SHELVING_IMAGE_UPLOADING: Final = "shelving_image_uploading"
SHELVING_OFFLOADING: Final = "shelving_offloading"
UNSHELVING: Final = "unshelving"

TASK_STATES: Final = (
    SCHEDULING, BLOCK_DEVICE_MAPPING, NETWORKING, SPAWNING,
    IMAGE_SNAPSHOT, IMAGE_SNAPSHOT_PENDING, IMAGE_PENDING_UPLOAD,
    IMAGE_UPLOADING, IMAGE_BACKUP, UPDATING_PASSWORD,
    RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED, RESIZE_FINISH,
    RESIZE_REVERTING, RESIZE_CONFIRMING,
    REBOOTING, REBOOT_PENDING, REBOOT_STARTED,
    REBOOTING_HARD, REBOOT_PENDING_HARD, REBOOT_STARTED_HARD,
    PAUSING, UNPAUSING, SUSPENDING, RESUMING,
    POWERING_OFF, POWERING_ON, RESCUING, UNRESCUING,
    REBUILDING, REBUILD_BLOCK_DEVICE_MAPPING, REBUILD_SPAWNING,
    MIGRATING, DELETING, SOFT_DELETING, RESTORING,
    SHELVING, SHELVING_IMAGE_PENDING_UPLOAD, SHELVING_IMAGE_UPLOADING,
    SHELVING_OFFLOADING, UNSHELVING,
)

# power_state ---------------------------------------------------------------
# Integers as the hypervisor drivers report them; 2 and 5 are unused.

NOSTATE: Final = 0
RUNNING: Final = 1
POWER_PAUSED: Final = 3
SHUTDOWN: Final = 4
CRASHED: Final = 6
POWER_SUSPENDED: Final = 7

POWER_STATE_NAMES: Final = {
    NOSTATE: "pending",
    RUNNING: "running",
    POWER_PAUSED: "paused",
    SHUTDOWN: "shutdown",
    CRASHED: "crashed",
    POWER_SUSPENDED: "suspended",
}
POWER_STATES: Final = tuple(POWER_STATE_NAMES)

# Wildcard spelled out: in vmstate ``None`` always means "no task running"
# and "any state" is always written ``ANY`` (see Nova bug 1225659).
ANY: Final = "*"

# Reactions to a task timeout ------------------------------------------------
# What happens when a task_state sees no sign of progress for its timeout.

#: vm_state ``error``, the task cleared, a fault recorded.
TIMEOUT_ERROR: Final = "error"
#: The task cleared, then its action begun again (a new task).
TIMEOUT_RETRY: Final = "retry"
#: The task cleared, the vm_state kept (a fault recorded).
TIMEOUT_CLEAR: Final = "clear"

TIMEOUT_REACTIONS: Final = (TIMEOUT_ERROR, TIMEOUT_RETRY, TIMEOUT_CLEAR)
