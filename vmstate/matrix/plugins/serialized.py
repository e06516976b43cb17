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

"""The ``serialized`` matrix plugin: attachments take a task.

Nova's volume and interface operations (``attach_volume``,
``detach_volume``, ``swap_volume``, ``attach_interface``,
``detach_interface``) check for no task running but set none themselves,
so while one runs anything else that checks for no task may start beside
it: a ``rebuild`` beside a ``detach_volume``, two detaches of the same
server at once. Applied after ``nova`` (``[matrix] plugins = nova,
serialized``), this plugin gives each of them a task_state of its own
(:data:`TASKS`): they keep Nova's guards (their vm_states, no task
running), and because they now hold a task while they run, they exclude
each other and every long task (every action that needs no task
running: rebuild, resize, migrate, live_migrate, snapshot, backup,
shelve, rescue, ...). What Nova allows with any task running stays so
(delete, force_delete, evacuate, the metadata updates): a delete still
preempts an attachment.

An attachment that gives no sign of progress for :data:`TIMEOUT` seconds
is cleared (``clear``: the task ends, the vm_state stays, a fault is
recorded), so that an attachment whose worker died does not hold the
server for ever; ``[lifecycle] task_timeouts`` overrides it.
"""

from vmstate import states as s
from vmstate.matrix.builder import Builder

#: action -> the task_state it holds while it runs.
TASKS = {
    "attach_volume": "attaching_volume",
    "detach_volume": "detaching_volume",
    "swap_volume": "swapping_volume",
    "attach_interface": "attaching_interface",
    "detach_interface": "detaching_interface",
}
#: Seconds without a sign of progress before an attachment is cleared.
TIMEOUT = 600.0


def configure(builder: Builder) -> None:
    """Give each attachment its own task_state (needs ``nova`` first).

    :raises MatrixError: from the builder, naming this plugin, when an
        attachment action is not declared (``nova`` not applied before).
    """
    builder.declare_task_state(*TASKS.values())
    for action, task_state in TASKS.items():
        if action not in builder.actions:
            # Let the builder report it, against this plugin.
            builder.allow(action, s.ANY)
        # Nova keeps the vm_state and only clears the task on failure.
        builder.declare_action(action, begins=task_state, completes=None,
                               fails_to=None)
        builder.timeout(task_state, TIMEOUT, s.TIMEOUT_CLEAR)
