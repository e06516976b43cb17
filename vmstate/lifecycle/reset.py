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


"""Admin overrides: Nova's os-resetState, and clearing an error.

``reset_state`` sets the vm_state (``active`` or ``error``, as Nova
allows) and clears the task, whatever the instance's state but
``deleted``; ``clear_error`` returns an instance in ``error`` to the
vm_state it had before, with no task and no fault, unless that vm_state
is transient (``building``: then only a reset helps). Both preempt a running
task (its worker's next checkpoint raises ``TaskAborted``), forget the
failure counters, and are recorded in the history with the admin's user,
project and request id and the reason given. Who may call them is the
API's policy (admin only by default).
"""

from typing import Any

from oslo_utils import timeutils

from vmstate import exception
from vmstate import states
from vmstate.context import RequestContext
from vmstate.db import overrides
from vmstate.matrix import Matrix
from vmstate.matrix import loader

#: The vm_states a reset may set (Nova's os-resetState).
RESET_VM_STATES = (states.ACTIVE, states.ERROR)

#: The fault recorded by a reset to error.
RESET_FAULT = "ResetState"


def reset_state(context: RequestContext, uuid: str, vm_state: str, reason: str,
                matrix: Matrix | None = None) -> dict[str, Any]:
    """Set ``vm_state`` and clear the task.

    A reset to ``active`` clears the fault; a reset to ``error`` records
    one naming the admin and the reason.

    :raises Invalid: ``vm_state`` is not ``active`` or ``error`` (or not
        in the matrix), or the reason is empty.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises StateConflict: the instance is deleted.
    """
    matrix = matrix or loader.get()
    allowed = [s for s in RESET_VM_STATES if s in matrix.vm_states]
    if vm_state not in allowed:
        raise exception.Invalid("An instance can be reset to %s, not %r" % (
            " or ".join(allowed), vm_state))
    fault = None
    if vm_state == states.ERROR:
        fault = {"type": RESET_FAULT,
                 "message": "Reset to error by %s: %s" % (
                     getattr(context, "user_id", None) or "an admin",
                     reason),
                 "user_id": getattr(context, "user_id", None),
                 "created_at": timeutils.utcnow().isoformat()}
    return overrides.reset_state(context, uuid, vm_state, reason, fault)


def clear_error(context: RequestContext, uuid: str, reason: str,
                matrix: Matrix | None = None) -> dict[str, Any]:
    """Return an instance in error to its vm_state before the error.

    Never to a vm_state the matrix calls transient (``building``: held
    only while a task runs, so an instance idle there could never leave
    it): that answers 409 and names ``reset``.

    :raises Invalid: the reason is empty.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises StateConflict: not in error, no vm_state to return to, or a
        transient one.
    """
    matrix = matrix or loader.get()
    return overrides.clear_error(context, uuid, reason,
                                 transient=matrix.transient)
