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


"""An administrator's way out: reset the state, clear an error.

Both override the matrix (that is their point) and preempt any running
task, whose next checkpoint then fails; both are transitions like any
other, recorded in the history with the admin's user, project, request id
and reason. Both also forget the instance's failure counters, in the
same transaction: a reset is a fresh start. Neither brings back a
deleted instance.
"""

from collections.abc import Collection
from collections.abc import Mapping
from typing import Any

from oslo_serialization import jsonutils
from oslo_utils import timeutils
import sqlalchemy as sa

from vmstate import exception
from vmstate import states
from vmstate.context import RequestContext
from vmstate.db import api
from vmstate.db import cas
from vmstate.db import connections
from vmstate.db import failures
from vmstate.db import listeners
from vmstate.db import models

#: The history actions.
RESET_STATE = "reset_state"
CLEAR_ERROR = "clear_error"

_c = models.instances.c
_e = models.instance_events.c


def _statement(expect: str) -> tuple[cas.Assignments, list[Any]]:
    """Set vm_state and fault, end any task; WHERE by ``expect``."""
    out: cas.Assignments = [
        (_c.task_id, None), (_c.task_action, None),
        (_c.task_started_at, None), (_c.task_heartbeat_at, None),
        (_c.task_state, None),
        (_c.vm_state, cas.param("vm_state", _c.vm_state)),
        (_c.fault, cas.param("fault", _c.fault)),
        (_c.state_changed_at, cas.param("now", _c.state_changed_at)),
    ]
    if expect == "not_deleted":
        where = [_c.vm_state != states.DELETED]
    else:
        where = [_c.vm_state == states.ERROR,
                 _c.version == sa.bindparam("e_version",
                                            type_=_c.version.type)]
    return out, where


def _forget_failures(uuid: str) -> cas.Claim:
    def forget(conn: sa.Connection) -> None:
        failures.delete(conn, uuid)
    return forget


def reset_state(context: RequestContext, uuid: str, vm_state: str, reason: str,
                fault: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Set ``vm_state`` and clear the task, whatever the state (Nova's
    os-resetState), unless the instance is deleted.

    :param fault: recorded as the last fault (``None`` clears it).
    :raises Invalid: an empty vm_state or reason.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises StateConflict: the instance is deleted.
    """
    if not isinstance(vm_state, str) or not vm_state:
        raise exception.Invalid("vm_state must be a non-empty string")
    _check_reason(reason)
    change = cas.Change(
        uuid, RESET_STATE, ("reset", "not_deleted"),
        lambda: _statement("not_deleted"),
        {"p_vm_state": vm_state,
         "p_fault": None if fault is None else jsonutils.dumps(fault)},
        {"vm_state": "not %s" % states.DELETED}, timeutils.utcnow(), reason,
        claim=_forget_failures(uuid))
    return api._apply(context, change)


# The vm_state an instance had when it last went into error.
_BEFORE_ERROR = (sa.select(_e.from_vm_state)
                 .where(_e.instance_uuid == sa.bindparam("uuid"),
                        _e.to_vm_state == states.ERROR,
                        _e.from_vm_state.is_not(None),
                        _e.from_vm_state != states.ERROR)
                 .order_by(_e.version.desc())
                 .limit(1))


def clear_error(context: RequestContext, uuid: str, reason: str,
                transient: Collection[str] = ()) -> dict[str, Any]:
    """Take an instance out of ``error``, back to the vm_state it had
    before, with no task and no fault (the RUG's CLEAR_ERROR).

    :param transient: vm_states never to return to: held only while a
        task runs (``building``), an instance idle there would be stuck
        with no task whose timeout could fire.
    :raises Invalid: an empty reason.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises StateConflict: the instance is not in error, its history
        does not say what it was before, or that vm_state is transient
        (then reset it instead).
    """
    _check_reason(reason)
    now = timeutils.utcnow()
    holder: dict[str, cas.Change] = {}

    @api._retry
    def attempt() -> dict[str, Any]:
        with connections.writer(context) as conn:
            change = holder.get("change")
            if change is not None:
                done = cas.committed(conn, context, change)
                if done is not None:
                    return done
            row = cas.read_instance(conn, context, uuid)
            if row is None:
                raise exception.InstanceNotFound(uuid)
            current = row._mapping
            if current["vm_state"] != states.ERROR:
                raise exception.StateConflict(
                    uuid, {"vm_state": states.ERROR},
                    {"vm_state": current["vm_state"],
                     "task_state": current["task_state"]},
                    message="Instance %s is in vm_state %s, not in error: "
                            "there is no error to clear" % (
                                uuid, current["vm_state"]))
            before = conn.execute(_BEFORE_ERROR, {"uuid": uuid}).scalar()
            if before is None:
                raise exception.StateConflict(
                    uuid, {"vm_state": "the vm_state before the error"},
                    {"vm_state": current["vm_state"]},
                    message="The history of instance %s does not say "
                            "which vm_state it had before its error; "
                            "reset its state instead" % uuid)
            if before in transient:
                raise exception.StateConflict(
                    uuid, {"vm_state": "a vm_state that is not transient"},
                    {"vm_state": current["vm_state"],
                     "task_state": current["task_state"],
                     "before_error": before},
                    message="Instance %s was %s before its error, a "
                            "vm_state only a task holds: clear_error would "
                            "leave it there with no task; reset its state "
                            "instead (POST /v1/instances/%s/reset)" % (
                                uuid, before, uuid))
            change = cas.Change(
                uuid, CLEAR_ERROR, ("reset", "error"),
                lambda: _statement("error"),
                {"p_vm_state": before, "p_fault": None,
                 "e_version": current["version"]},
                {"vm_state": states.ERROR, "version": current["version"]},
                now, reason, claim=_forget_failures(uuid))
            if "change" in holder:
                change.transition_id = holder["change"].transition_id
            holder["change"] = change
            return cas.apply(conn, context, change)

    result = attempt()
    listeners.committed(result)
    return result


def _check_reason(reason: Any) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise exception.Invalid("A reason is required: the history "
                                "records who reset the instance and why")
