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

"""The ``nova`` matrix plugin: today's Nova, guard for guard.

Each row restates one ``check_instance_state`` decorator of Nova's
``compute/api.py``: the vm_states and task_states it admits (``ANY`` where
Nova does not check), the task_state the action sets when it begins, the
vm_state it reaches when it completes, and the vm_state it leaves on
failure (``None``: the vm_state is kept and only the task is cleared, as
Nova does for snapshots, backups and attachments).

It gives no task_state a timeout (``builder.timeout``): Nova's own
(``instance_build_timeout``, ``reboot_timeout``, ``rescue_timeout``) are
off by default; deployers set theirs in ``[lifecycle] task_timeouts``.
"""

from vmstate import states as s
from vmstate.matrix.builder import Builder

ANY = s.ANY
IDLE = (None,)

_REBOOT_HARD_TASKS = (
    None, s.REBOOTING, s.REBOOT_PENDING, s.REBOOT_STARTED, s.RESUMING,
    s.REBOOTING_HARD, s.UNPAUSING, s.PAUSING, s.SUSPENDING,
)
_ATTACHABLE = (s.ACTIVE, s.PAUSED, s.STOPPED, s.RESIZED, s.SOFT_DELETED,
               s.SHELVED, s.SHELVED_OFFLOADED)
_RUNNING_OR_NOT = (s.ACTIVE, s.STOPPED, s.PAUSED, s.SUSPENDED)

# action: (vm_states, task_states, begins, completes, fails_to)
GUARDS = {
    "attach_interface": ((s.ACTIVE, s.PAUSED, s.STOPPED), IDLE,
                         None, None, None),
    "attach_volume": (_ATTACHABLE, IDLE, None, None, None),
    "backup": (_RUNNING_OR_NOT, IDLE, s.IMAGE_BACKUP, None, None),
    # A task, so that one resize is confirmed or reverted once: Nova marks
    # the migration "confirming" instead (the guard is the same).
    "confirm_resize": ((s.RESIZED,), IDLE, s.RESIZE_CONFIRMING, s.ACTIVE,
                       s.ERROR),
    "delete": (ANY, ANY, s.DELETING, s.DELETED, s.ERROR),
    "delete_instance_metadata": (_RUNNING_OR_NOT, ANY, None, None, None),
    "detach_interface": ((s.ACTIVE, s.PAUSED, s.STOPPED), IDLE,
                         None, None, None),
    "detach_volume": (_ATTACHABLE, IDLE, None, None, None),
    "evacuate": ((s.ACTIVE, s.STOPPED, s.ERROR), ANY, s.REBUILDING,
                 s.ACTIVE, s.ERROR),
    "force_delete": (ANY, ANY, s.DELETING, s.DELETED, s.ERROR),
    "live_migrate": ((s.ACTIVE, s.PAUSED), IDLE, s.MIGRATING, None, None),
    "live_migrate_abort": (ANY, (s.MIGRATING,), None, None, None),
    "live_migrate_force_complete": ((s.ACTIVE,), (s.MIGRATING,),
                                    None, None, None),
    "migrate": ((s.ACTIVE, s.STOPPED), IDLE, s.RESIZE_PREP, s.RESIZED,
                None),
    "pause": ((s.ACTIVE,), IDLE, s.PAUSING, s.PAUSED, s.ERROR),
    "reboot": ((s.ACTIVE,), IDLE, s.REBOOTING, s.ACTIVE, s.ERROR),
    "reboot_hard": ((s.ACTIVE, s.STOPPED, s.PAUSED, s.SUSPENDED, s.ERROR),
                    _REBOOT_HARD_TASKS, s.REBOOTING_HARD, s.ACTIVE,
                    s.ERROR),
    "rebuild": ((s.ACTIVE, s.STOPPED, s.ERROR), IDLE, s.REBUILDING,
                s.ACTIVE, s.ERROR),
    "rescue": ((s.ACTIVE, s.STOPPED, s.ERROR), IDLE, s.RESCUING,
               s.RESCUED, s.ERROR),
    "resize": ((s.ACTIVE, s.STOPPED), IDLE, s.RESIZE_PREP, s.RESIZED,
               None),
    "restore": ((s.SOFT_DELETED,), IDLE, s.RESTORING, s.ACTIVE, s.ERROR),
    "resume": ((s.SUSPENDED,), IDLE, s.RESUMING, s.ACTIVE, s.ERROR),
    "revert_resize": ((s.RESIZED,), IDLE, s.RESIZE_REVERTING, s.ACTIVE,
                      s.ERROR),
    "set_admin_password": ((s.ACTIVE,), IDLE, s.UPDATING_PASSWORD, None,
                           None),
    "shelve": (_RUNNING_OR_NOT, IDLE, s.SHELVING, s.SHELVED, s.ERROR),
    "shelve_offload": ((s.SHELVED,), IDLE, s.SHELVING_OFFLOADING,
                       s.SHELVED_OFFLOADED, s.ERROR),
    "snapshot": (_RUNNING_OR_NOT, IDLE, s.IMAGE_SNAPSHOT_PENDING, None,
                 None),
    "soft_delete": (ANY, ANY, s.SOFT_DELETING, s.SOFT_DELETED, s.ERROR),
    "start": ((s.STOPPED,), IDLE, s.POWERING_ON, s.ACTIVE, s.ERROR),
    "stop": ((s.ACTIVE, s.ERROR), IDLE, s.POWERING_OFF, s.STOPPED, s.ERROR),
    "suspend": ((s.ACTIVE,), IDLE, s.SUSPENDING, s.SUSPENDED, s.ERROR),
    "swap_volume": ((s.ACTIVE, s.PAUSED, s.RESIZED), IDLE, None, None, None),
    "trigger_crash_dump": ((s.ACTIVE, s.PAUSED, s.RESCUED, s.RESIZED,
                            s.ERROR), IDLE, None, None, None),
    "unpause": ((s.PAUSED,), IDLE, s.UNPAUSING, s.ACTIVE, s.ERROR),
    "unrescue": ((s.RESCUED,), IDLE, s.UNRESCUING, s.ACTIVE, s.ERROR),
    "unshelve": ((s.SHELVED, s.SHELVED_OFFLOADED), IDLE, s.UNSHELVING,
                 s.ACTIVE, s.ERROR),
    "update_instance_metadata": (_RUNNING_OR_NOT, ANY, None, None, None),
}


_RESIZES = ("resize", "migrate")

# Completion rules: action -> (resumes, origin). A stopped server that is
# rebuilt, evacuated, or resized (then confirmed or reverted) ends stopped,
# as Nova does (``_rebuild_default_impl``, ``confirm_resize``,
# ``finish_revert_resize`` keep the vm_state from before).
COMPLETION = {
    "rebuild": ((s.STOPPED,), ()),
    "evacuate": ((s.STOPPED,), ()),
    "confirm_resize": ((s.STOPPED,), _RESIZES),
    "revert_resize": ((s.STOPPED,), _RESIZES),
}

# Nova deletes an instance that never launched instead of soft-deleting it.
UNLAUNCHED = {"soft_delete": "delete"}

#: The actions Nova starts only on an instance that launched once
#: (``check_instance_state``'s ``must_have_launched``, true by default;
#: ``delete`` and ``force_delete`` pass ``must_have_launched=False``).
MUST_HAVE_LAUNCHED = frozenset(GUARDS) - {"delete", "force_delete"}


def configure(builder: Builder) -> None:
    """Declare Nova's vocabulary and allow each action where Nova does."""
    builder.declare_vm_state(*s.VM_STATES)
    # Nova's one vm_state that only a task (the build) holds.
    builder.declare_vm_state(s.BUILDING, transient=True)
    builder.declare_task_state(*s.TASK_STATES)
    for action, (vm_states, task_states, begins, completes,
                 fails_to) in GUARDS.items():
        resumes, origin = COMPLETION.get(action, ((), ()))
        builder.declare_action(action, begins=begins, completes=completes,
                               fails_to=fails_to, resumes=resumes,
                               origin=origin,
                               unlaunched=UNLAUNCHED.get(action),
                               needs_launched=action in MUST_HAVE_LAUNCHED)
        builder.allow(action, vm_states, task_states)
