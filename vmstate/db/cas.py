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


"""One compare-and-swap transition: a guarded UPDATE and its history row.

A transition is ``UPDATE instances SET prev_* = <current>, <new values>,
version = version + 1 WHERE uuid = :uuid AND <expected>`` followed by the
INSERT of its history row, in one transaction. The UPDATE copies the old
state into ``prev_*`` and, where the dialect has UPDATE .. RETURNING
(PostgreSQL, SQLite >= 3.35), returns the whole row, so the history row is
written without a read: two statements per successful transition. MariaDB
and MySQL have no UPDATE .. RETURNING; there the row is read back under
the lock the UPDATE holds (three statements).

When the UPDATE matches nothing, one read says why: the instance does not
exist (or belongs to another project) or it is not as expected.

Every UPDATE also requires ``vm_state NOT IN`` the terminal vm_states
(:data:`vmstate.states.TERMINAL_VM_STATES`): whatever a caller expects,
nothing changes a deleted instance again. This is the store's own
integrity rule, under every path (actions, updates, resets, timeouts,
queued actions, power reports), not a check each caller must remember.
"""

from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Mapping
import dataclasses
import datetime
from typing import Any

from oslo_serialization import jsonutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vmstate import exception
from vmstate import states
from vmstate.context import RequestContext
from vmstate.db import conditions
from vmstate.db import models

instances = models.instances
events = models.instance_events

# What every read of an instance returns, and UPDATE .. RETURNING too.
INSTANCE_COLUMNS = (
    "uuid", "project_id", "user_id", "vm_state", "task_state", "power_state",
    "version", "task_id", "task_action", "created_at", "updated_at",
    "state_changed_at", "task_started_at", "task_heartbeat_at", "fault",
)
# Whether the instance has queued actions, read with the change itself so
# that the answer's view needs no read of an empty queue (the usual case).
_QUEUED = sa.exists().where(
    models.action_queue.c.instance_uuid == instances.c.uuid).label("queued")
# Whether it ever launched (Nova's launched_at), from its history as the
# change found it, for the allowed actions of the answer's view. A change
# that launches it is recorded after the UPDATE; its new vm_state says so.
_LAUNCHED = sa.exists().where(
    events.c.instance_uuid == instances.c.uuid,
    events.c.to_vm_state.notin_(states.UNLAUNCHED_VM_STATES)
).label("launched")
_RETURNING = tuple(instances.c[name] for name in INSTANCE_COLUMNS) + (
    instances.c.prev_vm_state, instances.c.prev_task_state,
    instances.c.prev_power_state, instances.c.prev_task_id, _QUEUED,
    _LAUNCHED)
_SELECT_INSTANCE = tuple(instances.c[name] for name in INSTANCE_COLUMNS)
_SELECT_LAUNCHED = (*_SELECT_INSTANCE,
                    conditions.launched_condition(True).label("launched"))

# What a failed compare reports as "actual" besides the expected keys.
_ACTUAL = ("vm_state", "task_state", "power_state", "version")

Conflict = Callable[[str, dict[str, Any], dict[str, Any]], Exception]
#: More work for the transaction of a change whose UPDATE matched (see
#: :attr:`Change.claim`); it raises to undo the whole change.
Claim = Callable[[sa.Connection], None]
Assignments = list[tuple[Any, Any]]
Builder = Callable[[], tuple[Assignments, list[Any]]]


def state_conflict(uuid: str, expected: dict[str, Any],
                   actual: dict[str, Any]) -> Exception:
    """The default conflict: expected against actual; for a terminal
    instance, a message that says nothing will change it any more."""
    if actual.get("vm_state") in states.TERMINAL_VM_STATES:
        return exception.StateConflict(
            uuid, expected, actual,
            message="Instance %s is %s: nothing changes it any more" % (
                uuid, actual["vm_state"]))
    return exception.StateConflict(uuid, expected, actual)


def param(name: str, column: Any) -> Any:
    """A bound parameter typed like ``column`` (``p_<name>`` in params)."""
    return sa.bindparam("p_" + name, type_=column.type)


@dataclasses.dataclass
class Change:
    """A requested transition, prepared before the first attempt.

    The UPDATE is built once per ``shape`` by ``build``, which returns its
    SET terms (after the ``prev_*`` copies; MySQL evaluates SET left to
    right, so a term reading a column's old value comes before the term
    that assigns it) and WHERE terms beyond uuid and project, written with
    bound parameters only; ``params`` holds their values. ``record`` is
    False for a plain heartbeat: no version bump, no history. ``claim``,
    when set, runs in the same transaction right after the UPDATE matched;
    if it raises, nothing of the change is committed.
    ``transition_id`` is generated once, so that a retry can tell whether
    an earlier attempt committed.
    """

    uuid: str
    action: str | None
    shape: Hashable
    build: Builder
    params: dict[str, Any]
    expected: dict[str, Any]
    now: datetime.datetime
    reason: str | None = None
    record: bool = True
    conflict: Conflict = state_conflict
    claim: Claim | None = None
    transition_id: str = dataclasses.field(
        default_factory=uuidutils.generate_uuid)
    attempts: int = 0


# Built statements by shape. Filling it twice from two threads builds the
# same statement twice; either is fine.
_statements: dict[Hashable, Any] = {}


def _update(change: Change, scoped: bool, returning: bool) -> Any:
    key = (change.shape, change.record, scoped, returning)
    stmt = _statements.get(key)
    if stmt is not None:
        return stmt
    c = instances.c
    assignments, where = change.build()
    values: Assignments = []
    if change.record:
        # First: they must read the state before this UPDATE changes it.
        values += [(c.prev_vm_state, c.vm_state),
                   (c.prev_task_state, c.task_state),
                   (c.prev_power_state, c.power_state),
                   (c.prev_task_id, c.task_id)]
    values += assignments
    if change.record:
        values += [(c.version, c.version + 1),
                   (c.updated_at, param("now", c.updated_at))]
    if scoped:
        where = [*where, c.project_id == param("scope", c.project_id)]
    # Terminal means terminal, whatever the change expects.
    where = [*where, c.vm_state.notin_(states.TERMINAL_VM_STATES)]
    stmt = (sa.update(instances)
            .where(c.uuid == param("uuid", c.uuid), *where)
            .ordered_values(*values))
    if returning:
        stmt = stmt.returning(*_RETURNING)
    _statements[key] = stmt
    return stmt


def _select(scoped: bool, for_update: bool, columns: Any) -> Any:
    key = ("select", scoped, for_update, columns)
    stmt = _statements.get(key)
    if stmt is None:
        c = instances.c
        stmt = sa.select(*columns).where(c.uuid == param("uuid", c.uuid))
        if scoped:
            stmt = stmt.where(c.project_id == param("scope", c.project_id))
        if for_update:
            stmt = stmt.with_for_update()
        _statements[key] = stmt
    return stmt


_INSERT_EVENT = sa.insert(events)
_SELECT_EVENT = sa.select(events).where(
    events.c.transition_id == sa.bindparam("p_transition_id"))


def scope(context: RequestContext) -> list[Any]:
    """Terms restricting a non-admin context to its own project's rows."""
    if getattr(context, "is_admin", False):
        return []
    return [instances.c.project_id == context.project_id]


class Changed(dict[str, Any]):
    """The instance as a change left it: a plain dict of the row, and
    :attr:`queued`, whether it had queued actions then (read in the same
    statement as the change), so that a view can skip reading an empty
    queue. Equal to the dict :func:`vmstate.db.api.instance_get` gives;
    a copy (``dict(changed)``) is a plain dict without the attribute."""

    queued: bool | None = None
    #: Whether it ever launched (Nova's ``launched_at`` set).
    launched: bool | None = None

    @classmethod
    def of(cls, instance: Mapping[str, Any]) -> "Changed":
        """A copy of ``instance``, with its hints when it has them."""
        copied = cls(instance)
        copied.queued = getattr(instance, "queued", None)
        copied.launched = getattr(instance, "launched", None)
        return copied


def instance_dict(m: Mapping[str, Any] | sa.RowMapping) -> dict[str, Any]:
    """A plain dict of an instance row (``fault`` decoded from JSON)."""
    data = {name: m[name] for name in INSTANCE_COLUMNS}
    if data["fault"] is not None:
        data["fault"] = jsonutils.loads(data["fault"])
    return data


def event_dict(m: Mapping[str, Any] | sa.RowMapping) -> dict[str, Any]:
    """A plain dict of a history row, ``from``/``to`` as full snapshots."""
    return {
        "version": m["version"],
        "action": m["action"],
        "from": {"vm_state": m["from_vm_state"],
                 "task_state": m["from_task_state"],
                 "power_state": m["from_power_state"]},
        "to": {"vm_state": m["to_vm_state"],
               "task_state": m["to_task_state"],
               "power_state": m["to_power_state"]},
        "task_id": m["task_id"],
        "created_at": m["created_at"],
        "request_id": m["request_id"],
        "user_id": m["user_id"],
        "project_id": m["project_id"],
        "reason": m["reason"],
    }


def _scoped(context: RequestContext) -> bool:
    return not getattr(context, "is_admin", False)


def read_instance(conn: sa.Connection, context: RequestContext, uuid: str,
                  launched: bool = False) -> Any:
    """The instance's row as ``context`` may see it, or ``None``; with
    ``launched``, its column ``launched`` too (whether it ever launched,
    from its history: :func:`vmstate.db.conditions.launched_condition`),
    in the same statement."""
    scoped = _scoped(context)
    params: dict[str, str | None] = {"p_uuid": uuid}
    if scoped:
        params["p_scope"] = context.project_id
    stmt = _select(scoped, False,
                   _SELECT_LAUNCHED if launched else _SELECT_INSTANCE)
    return conn.execute(stmt, params).first()


def apply(conn: sa.Connection, context: RequestContext, change: Change
          ) -> dict[str, Any]:
    """Apply ``change`` in the caller's transaction; return the instance.

    The result carries ``"event"``: the history row written (``None`` for
    a heartbeat), for publishing after commit.

    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises StateConflict: (or what ``change.conflict`` builds) the
        instance is not as expected; nothing was changed.
    """
    scoped = _scoped(context)
    returning = conn.dialect.update_returning
    params = dict(change.params, p_uuid=change.uuid, p_now=change.now)
    if scoped:
        params["p_scope"] = context.project_id
    stmt = _update(change, scoped, returning)
    if returning:
        row = conn.execute(stmt, params).first()
        if row is None:
            raise _miss(conn, context, change)
    else:
        if conn.execute(stmt, params).rowcount != 1:
            raise _miss(conn, context, change)
        # Under the row lock the UPDATE took: nobody changed it since.
        row = conn.execute(_select(False, True, _RETURNING),
                           {"p_uuid": change.uuid}).first()
        assert row is not None  # the row the UPDATE matched
    if change.claim is not None:
        change.claim(conn)
    result = Changed(instance_dict(row._mapping))
    # A claim may have emptied the queue since: then the hint only costs
    # the view one read.
    result.queued = bool(row._mapping["queued"])
    result.launched = (bool(row._mapping["launched"])
                       or result["vm_state"] not in
                       states.UNLAUNCHED_VM_STATES)
    result["event"] = None
    if change.record:
        result["event"] = record(conn, context, change, row)
    return result


def record(conn: sa.Connection, context: RequestContext, change: Change,
           row: Any) -> dict[str, Any]:
    """Insert the history row of a transition whose UPDATE returned ``row``.
    """
    m = row._mapping
    values = {
        "instance_uuid": change.uuid,
        "version": m["version"],
        "action": change.action or m["task_action"] or "update",
        "from_vm_state": m["prev_vm_state"],
        "from_task_state": m["prev_task_state"],
        "from_power_state": m["prev_power_state"],
        "to_vm_state": m["vm_state"],
        "to_task_state": m["task_state"],
        "to_power_state": m["power_state"],
        # The task it belongs to: started or continued, else ended.
        "task_id": m["task_id"] or m["prev_task_id"],
        "request_id": getattr(context, "request_id", None),
        "user_id": getattr(context, "user_id", None),
        "project_id": getattr(context, "project_id", None),
        "reason": change.reason,
        "transition_id": change.transition_id,
        "created_at": change.now,
    }
    conn.execute(_INSERT_EVENT, values)
    return event_dict(values)


def committed(conn: sa.Connection, context: RequestContext, change: Change
              ) -> dict[str, Any] | None:
    """The result of an earlier attempt of ``change`` if it committed.

    Called before a retry: a commit whose answer was lost (a dropped
    connection) may have been applied; its history row says so.
    """
    if not change.record:
        return None
    event = conn.execute(_SELECT_EVENT, {
        "p_transition_id": change.transition_id}).first()
    if event is None:
        return None
    row = read_instance(conn, context, change.uuid)
    if row is None:
        raise exception.InstanceNotFound(change.uuid)
    result = instance_dict(row._mapping)
    result["event"] = event_dict(event._mapping)
    return result


def _miss(conn: sa.Connection, context: RequestContext,
          change: Change) -> Exception:
    """The exception explaining why ``change`` matched no row."""
    wanted = {k for k in set(_ACTUAL) | set(change.expected)
              if k in instances.c}
    stmt = sa.select(*(instances.c[k] for k in sorted(wanted))).where(
        instances.c.uuid == change.uuid, *scope(context))
    row = conn.execute(stmt).first()
    if row is None:
        return exception.InstanceNotFound(change.uuid)
    return change.conflict(change.uuid, printable(change.expected),
                           dict(row._mapping))


def printable(expected: dict[str, Any]) -> dict[str, Any]:
    """``expected`` with collections as sorted lists (JSON bodies)."""
    out = {}
    for key, value in expected.items():
        if isinstance(value, (set, frozenset, tuple, list)):
            value = sorted(value, key=lambda v: (v is not None, v or ""))
        out[key] = value
    return out

