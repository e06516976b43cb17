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

"""The ``blueprint`` matrix plugin: the 2011 "VM state management" table.

The blueprint that started Nova's state guards had its own vocabulary:
rebuilding, migrating and resizing were vm_states, and resize_verify a
task_state. Its rule: the most specific row wins, so a task in progress
allows only terminate, except the Active/Resize_verify row.
"""

from vmstate.matrix.builder import Builder

ANY = "*"

VM_STATES = ("active", "building", "rebuilding", "paused", "suspended",
             "rescued", "deleted", "stopped", "migrating", "resizing",
             "error")
TRANSIENT = ("building", "rebuilding", "migrating", "resizing")
# The create sequence the blueprint describes, and its resize step.
TASK_STATES = ("scheduling", "networking", "block_device_mapping",
               "spawning", "resize_verify")

# action: (completes, fails_to); no blueprint action names its task.
ACTIONS = {
    "terminate": ("deleted", "error"),
    "reboot": ("active", "error"),
    "stop": ("stopped", "error"),
    "start": ("active", "error"),
    "rebuild": ("active", "error"),
    "pause": ("paused", "error"),
    "unpause": ("active", "error"),
    "suspend": ("suspended", "error"),
    "resume": ("active", "error"),
    "rescue": ("rescued", "error"),
    "unrescue": ("active", "error"),
    "create_snapshot": (None, None),
    "resize": ("resizing", "error"),
    "confirm_resize": ("active", "error"),
    "revert_resize": ("active", "error"),
}

_ACTIVE = ("terminate", "reboot", "stop", "rebuild", "pause", "suspend",
           "rescue", "create_snapshot", "resize")

# vm_state -> valid actions, for the rows whose task_state is "any".
ROWS = {
    "active": _ACTIVE,
    "building": ("terminate",),
    "rebuilding": ("terminate",),
    "paused": ("terminate", "unpause", "rescue"),
    "suspended": ("terminate", "resume", "rescue"),
    "rescued": ("terminate", "reboot", "stop", "rebuild", "pause",
                "suspend", "unrescue"),
    "deleted": ("terminate",),
    "stopped": ("terminate", "start"),
    "migrating": ("terminate",),
    "resizing": ("terminate",),
    "error": ("terminate",),
}
RESIZE_VERIFY_ROW = (*_ACTIVE, "confirm_resize", "revert_resize")


def configure(builder: Builder) -> None:
    """Declare the blueprint's vocabulary and its table of valid actions."""
    builder.declare_vm_state(*VM_STATES)
    # Its vm_states that name an operation under way.
    builder.declare_vm_state(*TRANSIENT, transient=True)
    builder.declare_task_state(*TASK_STATES)
    for action, (completes, fails_to) in ACTIONS.items():
        builder.declare_action(action, completes=completes,
                               fails_to=fails_to)
    # <any>, task_state != None: Terminate only, so the rows below (task
    # "any" in the table) take effect only while no task runs.
    builder.allow("terminate", ANY, ANY)
    # ... but not while no task runs: there only the rows below decide, so
    # a vm_state outside the table allows nothing.
    builder.deny("terminate", ANY, None)
    for vm_state, actions in ROWS.items():
        for action in actions:
            builder.allow(action, vm_state, None)
    # Active, Resize_verify: the one row more specific than <any>/!=None.
    for action in RESIZE_VERIFY_ROW:
        builder.allow(action, "active", "resize_verify")
