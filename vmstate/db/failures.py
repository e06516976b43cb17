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


"""Failure counters: how many times in a row one step of an instance
timed out (Mozilla lifeguard's permanent-failure count).

A counter is per instance and task_state. It grows in the transaction
that fires a timeout (:mod:`vmstate.db.heartbeats`), so a timeout counts
exactly once, and it is deleted when the step succeeds (the lifecycle
engine's after-commit listener calls :func:`clear`) or when an admin
resets the instance. Because a process can die between a success and
that deletion, :func:`current` also looks in the history: a success of
the step recorded after the last counted timeout starts the count again.
The history, not the deletion, is the authority.
"""

import datetime
from typing import Any

import sqlalchemy as sa

from vmstate import states
from vmstate.context import RequestContext
from vmstate.db import api
from vmstate.db import connections
from vmstate.db import models

#: The history action of a transition made by a timeout.
TIMEOUT = "timeout"

_f = models.instance_failures.c
_e = models.instance_events.c

_CURRENT = sa.select(_f.id, _f.count, _f.last_version).where(
    _f.instance_uuid == sa.bindparam("uuid"),
    _f.task_state == sa.bindparam("task_state"))

# A success of the step after the last counted timeout: the task moved
# on from that task_state, not by a timeout and not into error.
_SUCCEEDED_SINCE = sa.select(_e.id).where(
    _e.instance_uuid == sa.bindparam("uuid"),
    _e.version > sa.bindparam("version"),
    _e.from_task_state == sa.bindparam("task_state"),
    sa.or_(_e.to_task_state.is_(None),
           _e.to_task_state != sa.bindparam("task_state")),
    _e.action != TIMEOUT,
    _e.to_vm_state != states.ERROR,
).limit(1)


def current(conn: sa.Connection, uuid: str, task_state: str
            ) -> tuple[int, int | None]:
    """The step's count of timeouts in a row, and its row's id.

    In the caller's transaction. A count whose step has succeeded since
    (see the module's docstring) is 0, though its row still exists.
    """
    row = conn.execute(_CURRENT, {"uuid": uuid,
                                  "task_state": task_state}).first()
    if row is None:
        return 0, None
    succeeded = conn.execute(_SUCCEEDED_SINCE, {
        "uuid": uuid, "task_state": task_state,
        "version": row.last_version}).first()
    # By key: a Row's attribute "count" is also the tuple method's name.
    count: int = row._mapping["count"]
    return (0 if succeeded is not None else count), row.id


def record(conn: sa.Connection, uuid: str, task_state: str, count: int,
           row_id: int | None, version: int, action: str | None,
           now: datetime.datetime) -> None:
    """Store ``count`` for the step, in the caller's transaction.

    ``row_id`` is what :func:`current` returned in the same transaction;
    ``version`` the instance's version after the timeout's transition.
    """
    table = models.instance_failures
    if row_id is None:
        conn.execute(sa.insert(table).values(
            instance_uuid=uuid, task_state=task_state, count=count,
            last_version=version, last_action=action, created_at=now,
            updated_at=now))
        return
    conn.execute(sa.update(table).where(_f.id == row_id).values(
        count=count, last_version=version, last_action=action,
        updated_at=now))


def delete(conn: sa.Connection, uuid: str) -> None:
    """Forget every counter of the instance, in the caller's transaction.
    """
    conn.execute(sa.delete(models.instance_failures).where(
        _f.instance_uuid == uuid))


@api._retry
def clear(context: RequestContext, uuid: str, task_state: str | None = None,
          before: datetime.datetime | None = None) -> int:
    """Forget the counters of ``uuid`` (of one ``task_state``): a success.

    :param before: only counters last changed at or before this time, so
        that a late call cannot erase a timeout counted after the success
        it reports.
    :returns: how many counters were deleted.
    """
    stmt = sa.delete(models.instance_failures).where(
        _f.instance_uuid == uuid)
    if task_state is not None:
        stmt = stmt.where(_f.task_state == task_state)
    if before is not None:
        stmt = stmt.where(_f.updated_at <= before)
    with connections.writer(context) as conn:
        return int(conn.execute(stmt).rowcount)


@api._retry
def for_instance(context: RequestContext,
                 uuid: str) -> dict[str, dict[str, Any]]:
    """The counters of ``uuid``: ``{task_state: {"count", "last_action",
    "updated_at"}}``, as stored (a count whose step has succeeded since
    is still shown until its deletion)."""
    stmt = sa.select(_f.task_state, _f.count, _f.last_action,
                     _f.updated_at).where(_f.instance_uuid == uuid)
    with connections.reader(context) as conn:
        return {row.task_state: {"count": row.count,
                                 "last_action": row.last_action,
                                 "updated_at": row.updated_at}
                for row in conn.execute(stmt)}
