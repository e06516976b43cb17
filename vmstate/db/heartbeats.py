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


"""Expired tasks: finding them through an index, and firing each once.

:func:`expired` asks, for a group of task_states sharing one timeout,
``task_state IN (...) AND task_heartbeat_at <= :cutoff``: a range on the
``(task_state, task_heartbeat_at)`` index, so the cost follows the number
of expired tasks, never the number of instances.

:func:`expire` is the compare-and-swap that fires one timeout: ``UPDATE
.. WHERE uuid AND task_id AND task_state AND task_heartbeat_at <=
:cutoff``. Of several sweepers that found the same expired task, exactly
one matches; the others find a newer task, none, or a fresher heartbeat.
The winner's transaction also counts the failure (:mod:`vmstate.db.failures`)
and writes the history row, and the result goes to the after-commit
listeners like every transition.
"""

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
import datetime
from typing import Any

from oslo_serialization import jsonutils
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vmstate import exception
from vmstate.context import RequestContext
from vmstate.db import api
from vmstate.db import cas
from vmstate.db import connections
from vmstate.db import failures
from vmstate.db import listeners
from vmstate.db import models

_c = models.instances.c

#: What the sweeper reads of an expired task.
EXPIRED_COLUMNS = ("uuid", "project_id", "vm_state", "task_state",
                   "task_id", "task_action", "task_started_at",
                   "task_heartbeat_at", "version")

EXPIRED = (sa.select(*(_c[name] for name in EXPIRED_COLUMNS))
           .where(_c.task_state.in_(sa.bindparam("task_states",
                                                 expanding=True)),
                  _c.task_heartbeat_at <= sa.bindparam(
                      "cutoff", type_=_c.task_heartbeat_at.type))
           .order_by(_c.task_heartbeat_at)
           .limit(sa.bindparam("limit")))

#: ``decide(count) -> (values, reason)``: what a timeout does, given the
#: step's count of timeouts in a row including this one. ``values`` may
#: hold ``vm_state`` and ``fault``; the task is always cleared.
Decide = Callable[[int], tuple[Mapping[str, Any], str]]


@api._retry
def expired(context: RequestContext, task_states: Sequence[str],
            cutoff: datetime.datetime, limit: int
            ) -> list[dict[str, Any]]:
    """Up to ``limit`` tasks in ``task_states`` without progress since
    ``cutoff``, the oldest first.

    Every project's: the sweeper runs with an admin context.
    """
    if not task_states:
        return []
    with connections.reader(context) as conn:
        rows = conn.execute(EXPIRED, {"task_states": sorted(task_states),
                                      "cutoff": cutoff, "limit": limit})
        return [dict(row._mapping) for row in rows]


def _statement(set_vm_state: bool) -> tuple[cas.Assignments, list[Any]]:
    out: cas.Assignments = [
        (_c.task_id, None), (_c.task_action, None),
        (_c.task_started_at, None), (_c.task_heartbeat_at, None),
        (_c.task_state, None),
        (_c.fault, cas.param("fault", _c.fault)),
        (_c.state_changed_at, cas.param("now", _c.state_changed_at)),
    ]
    if set_vm_state:
        out.append((_c.vm_state, cas.param("vm_state", _c.vm_state)))
    where = [
        _c.task_id == sa.bindparam("e_task_id", type_=_c.task_id.type),
        _c.task_state == sa.bindparam("e_task_state",
                                      type_=_c.task_state.type),
        _c.task_heartbeat_at <= sa.bindparam(
            "e_cutoff", type_=_c.task_heartbeat_at.type),
    ]
    return out, where


def expire(context: RequestContext, uuid: str, task_id: str, task_state: str,
           task_action: str | None, cutoff: datetime.datetime,
           decide: Decide, action: str = failures.TIMEOUT
           ) -> dict[str, Any]:
    """Fire the timeout of task ``task_id``, if it is still expired.

    In one transaction: the step's failure count is read and incremented,
    ``decide`` chooses the values from it, and the compare-and-swap ends
    the task with them and writes the history row (action ``timeout``).
    The result carries ``"failures"``: the count, this timeout included.

    :raises StateConflict: the task is no longer the one that expired (it
        ended, moved on, or showed progress); nothing was changed.
    :raises InstanceNotFound: the instance is gone.
    """
    expected = {"task_id": task_id, "task_state": task_state,
                "task_heartbeat_at": cutoff}
    transition_id = uuidutils.generate_uuid()
    now = timeutils.utcnow()
    attempts = [0]

    @api._retry
    def attempt() -> dict[str, Any]:
        attempts[0] += 1
        with connections.writer(context) as conn:
            if attempts[0] > 1:
                probe = cas.Change(uuid, action, None, _no_build, {},
                                   expected, now,
                                   transition_id=transition_id)
                done = cas.committed(conn, context, probe)
                if done is not None:
                    return done
            count, row_id = failures.current(conn, uuid, task_state)
            count += 1
            values, reason = decide(count)
            fault = values.get("fault")
            params: dict[str, Any] = {
                "p_fault": None if fault is None else jsonutils.dumps(fault),
                "e_task_id": task_id, "e_task_state": task_state,
                "e_cutoff": cutoff}
            set_vm_state = "vm_state" in values
            if set_vm_state:
                params["p_vm_state"] = values["vm_state"]
            change = cas.Change(
                uuid, action, ("expire", set_vm_state),
                lambda: _statement(set_vm_state), params, expected, now,
                reason, transition_id=transition_id)
            result = cas.apply(conn, context, change)
            failures.record(conn, uuid, task_state, count, row_id,
                            result["version"], task_action, now)
            result["failures"] = count
            return result

    result = attempt()
    listeners.committed(result)
    return result


def _heartbeat_statement(with_task_state: bool
                         ) -> tuple[cas.Assignments, list[Any]]:
    where = [_c.task_id == sa.bindparam("e_task_id", type_=_c.task_id.type)]
    if with_task_state:
        where.append(_c.task_state == sa.bindparam(
            "e_task_state", type_=_c.task_state.type))
    return ([(_c.task_heartbeat_at, cas.param("now",
                                              _c.task_heartbeat_at))],
            where)


def heartbeat(context: RequestContext, uuid: str, task_id: str,
              task_state: str | None = None) -> dict[str, Any]:
    """A sign of progress from a worker that is no :class:`Task` object
    (a REST client): the heartbeat of task ``task_id`` is now.

    Not a transition (no version, no history; ``"event"`` is ``None``):
    it only postpones the task's timeout, like a checkpoint. The task is
    named by its id: a task_state alone cannot tell the worker's task from
    the one that took it over (a rebuild's and an evacuation's are both
    ``rebuilding``).

    :param task_state: when given, the task must also still be in it.
    :raises Invalid: an empty task id or task_state.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises TaskAborted: the task is over (or not in ``task_state``).
    """
    if not isinstance(task_id, str) or not task_id:
        raise exception.Invalid("task_id must be a non-empty string")
    if task_state is not None and (not isinstance(task_state, str)
                                   or not task_state):
        raise exception.Invalid("task_state must be a non-empty string")

    def aborted(uuid: str, expected: dict[str, Any],
                actual: dict[str, Any]) -> Exception:
        return exception.TaskAborted(uuid, "task", expected, actual)

    expected: dict[str, Any] = {"task_id": task_id}
    params = {"e_task_id": task_id}
    if task_state is not None:
        expected["task_state"] = task_state
        params["e_task_state"] = task_state
    with_state = task_state is not None
    change = cas.Change(uuid, None, ("heartbeat", with_state),
                        lambda: _heartbeat_statement(with_state), params,
                        expected, timeutils.utcnow(), record=False,
                        conflict=aborted)
    return _apply_heartbeat(context, change)


@api._retry
def _apply_heartbeat(context: RequestContext,
                     change: cas.Change) -> dict[str, Any]:
    with connections.writer(context) as conn:
        return cas.apply(conn, context, change)


def _no_build() -> tuple[cas.Assignments, list[Any]]:
    raise AssertionError("only used to find a committed attempt")


def lost(err: Exception) -> bool:
    """Whether ``err`` means another sweeper (or a worker) got there first.
    """
    return isinstance(err, (exception.StateConflict,
                            exception.InstanceNotFound))
