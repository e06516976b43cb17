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
"""

from collections.abc import Callable
from collections.abc import Mapping
import dataclasses
import datetime
from typing import Any

from oslo_serialization import jsonutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vmstate import exception
from vmstate.db import models

instances = models.instances
events = models.instance_events

# What every read of an instance returns, and UPDATE .. RETURNING too.
INSTANCE_COLUMNS = (
    "uuid", "project_id", "user_id", "vm_state", "task_state", "power_state",
    "version", "task_id", "task_action", "created_at", "updated_at",
    "state_changed_at", "task_started_at", "task_heartbeat_at", "fault",
)
_RETURNING = tuple(instances.c[name] for name in INSTANCE_COLUMNS) + (
    instances.c.prev_vm_state, instances.c.prev_task_state,
    instances.c.prev_power_state)
_SELECT_INSTANCE = tuple(instances.c[name] for name in INSTANCE_COLUMNS)

# What a failed compare reports as "actual" besides the expected keys.
_ACTUAL = ("vm_state", "task_state", "power_state", "version")

Conflict = Callable[[str, dict[str, Any], dict[str, Any]], Exception]


def state_conflict(uuid: str, expected: dict[str, Any],
                   actual: dict[str, Any]) -> Exception:
    return exception.StateConflict(uuid, expected, actual)


@dataclasses.dataclass
class Change:
    """A requested transition, prepared before the first attempt.

    ``where`` holds the compare terms beyond uuid and project scope;
    ``assignments`` the ordered SET terms after the ``prev_*`` copies (MySQL
    evaluates SET left to right, so terms reading a column's old value
    come before the term that assigns it). ``record`` is False for a plain
    heartbeat: no version bump, no history. ``transition_id`` is generated
    once, so a retry can tell whether an earlier attempt committed.
    """

    uuid: str
    action: str | None
    where: list[Any]
    assignments: list[tuple[Any, Any]]
    expected: dict[str, Any]
    now: datetime.datetime
    reason: str | None = None
    record: bool = True
    conflict: Conflict = state_conflict
    transition_id: str = dataclasses.field(
        default_factory=uuidutils.generate_uuid)
    attempts: int = 0


def scope(context: Any) -> list[Any]:
    """Terms restricting a non-admin context to its own project's rows."""
    if getattr(context, "is_admin", False):
        return []
    return [instances.c.project_id == context.project_id]


def instance_dict(m: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict of an instance row (``fault`` decoded from JSON)."""
    data = {name: m[name] for name in INSTANCE_COLUMNS}
    if data["fault"] is not None:
        data["fault"] = jsonutils.loads(data["fault"])
    return data


def event_dict(m: Mapping[str, Any]) -> dict[str, Any]:
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
        "created_at": m["created_at"],
        "request_id": m["request_id"],
        "user_id": m["user_id"],
        "project_id": m["project_id"],
        "reason": m["reason"],
    }


def read_instance(conn: sa.Connection, context: Any, uuid: str,
                  for_update: bool = False) -> Any:
    stmt = sa.select(*_SELECT_INSTANCE).where(instances.c.uuid == uuid,
                                              *scope(context))
    if for_update:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def apply(conn: sa.Connection, context: Any, change: Change
          ) -> dict[str, Any]:
    """Apply ``change`` in the caller's transaction; return the instance.

    The result carries ``"event"``: the history row written (``None`` for
    a heartbeat), for publishing after commit.

    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises StateConflict: (or what ``change.conflict`` builds) the
        instance is not as expected; nothing was changed.
    """
    c = instances.c
    values: list[tuple[Any, Any]] = []
    if change.record:
        # First: they must read the state before this UPDATE changes it.
        values += [(c.prev_vm_state, c.vm_state),
                   (c.prev_task_state, c.task_state),
                   (c.prev_power_state, c.power_state)]
    values += change.assignments
    if change.record:
        values += [(c.version, c.version + 1), (c.updated_at, change.now)]
    stmt = (sa.update(instances)
            .where(c.uuid == change.uuid, *scope(context), *change.where)
            .ordered_values(*values))
    if conn.dialect.update_returning:
        row = conn.execute(stmt.returning(*_RETURNING)).first()
        if row is None:
            raise _miss(conn, context, change)
    else:
        if conn.execute(stmt).rowcount != 1:
            raise _miss(conn, context, change)
        # Under the row lock the UPDATE took: nobody changed it since.
        stmt = sa.select(*_RETURNING).where(c.uuid == change.uuid)
        row = conn.execute(stmt.with_for_update()).first()
    result = instance_dict(row._mapping)
    result["event"] = None
    if change.record:
        result["event"] = record(conn, context, change, row)
    return result


def record(conn: sa.Connection, context: Any, change: Change,
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
        "request_id": getattr(context, "request_id", None),
        "user_id": getattr(context, "user_id", None),
        "project_id": getattr(context, "project_id", None),
        "reason": change.reason,
        "transition_id": change.transition_id,
        "created_at": change.now,
    }
    conn.execute(sa.insert(events).values(values))
    return event_dict(values)


def committed(conn: sa.Connection, context: Any, change: Change
              ) -> dict[str, Any] | None:
    """The result of an earlier attempt of ``change`` if it committed.

    Called before a retry: a commit whose answer was lost (a dropped
    connection) may have been applied; its history row says so.
    """
    if not change.record:
        return None
    stmt = sa.select(events).where(
        events.c.transition_id == change.transition_id)
    event = conn.execute(stmt).first()
    if event is None:
        return None
    row = read_instance(conn, context, change.uuid)
    if row is None:
        raise exception.InstanceNotFound(change.uuid)
    result = instance_dict(row._mapping)
    result["event"] = event_dict(event._mapping)
    return result


def _miss(conn: sa.Connection, context: Any, change: Change) -> Exception:
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

