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


"""Queued actions: stored per instance in request order, taken off once.

:func:`push` changes a queue under the instance's row lock (``SELECT ..
FOR UPDATE``; SQLite serializes writers anyway), so the rules that shape
a queue (coalescing, its bound: the lifecycle layer passes them in as a
``plan``) see every other push and every task that ends in order.

A queued action starts through :func:`vmstate.db.api.begin` with
:func:`claim` of its entry: the entry's DELETE runs in the begin's
transaction, so the action starts exactly when it leaves the queue; two
processes draining the same queue cannot both start it, nor start the
next one first.
"""

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from oslo_utils import timeutils
import sqlalchemy as sa

from vmstate import exception
from vmstate import states
from vmstate.context import RequestContext
from vmstate.db import api
from vmstate.db import cas
from vmstate.db import conditions
from vmstate.db import connections
from vmstate.db import models

_q = models.action_queue.c
_i = models.instances.c

ENTRY_COLUMNS = ("id", "instance_uuid", "action", "reason", "request_id",
                 "user_id", "project_id", "created_at")
_ENTRY = tuple(_q[name] for name in ENTRY_COLUMNS)

_QUEUE = (sa.select(*_ENTRY)
          .where(_q.instance_uuid == sa.bindparam("uuid"))
          .order_by(_q.id))

# Instances with queued actions and no task: the sweeper's safety net
# for a drain that never happened (a process that died after ending a
# task). One statement driven from the queue alone (small: pending
# requests), never from the instances (most of which are idle): the
# heads of the queues (each queue's oldest entry) in the order they were
# queued, each kept when its instance has no task, which is a lookup by
# uuid (the unique index) in a scalar subquery, which no planner turns
# into a join that scans the instances. The LIMIT bounds it: the walk
# stops at the limit-th idle head.
_heads = models.action_queue.alias("heads")
PENDING = (
    sa.select(_q.instance_uuid)
    .where(_q.id == sa.select(sa.func.min(_heads.c.id))
           .where(_heads.c.instance_uuid == _q.instance_uuid)
           .scalar_subquery(),
           sa.select(sa.literal(1))
           .where(_i.uuid == _q.instance_uuid, _i.task_state.is_(None))
           .scalar_subquery() == 1)
    .order_by(_q.id)
    .limit(sa.bindparam("limit")))


class ClaimLost(exception.Conflict):
    """The queued action was taken off its queue by someone else."""

    def __init__(self, entry_id: int) -> None:
        super().__init__("Queued action %d was already taken" % entry_id)
        self.entry_id = entry_id


class Plan:
    """What a push does to a queue: entries to drop, and whether to add.

    Built by the lifecycle layer's coalescing rules (it may also raise a
    :class:`~vmstate.exception.Conflict` to refuse the request).
    """

    def __init__(self, add: bool, drop: Sequence[int] = ()) -> None:
        self.add = add
        self.drop = tuple(drop)


#: ``plan(instance, queue) -> Plan``: called under the row lock with the
#: instance as it is and its queued entries in order.
Planner = Callable[[Mapping[str, Any], list[dict[str, Any]]], Plan]


def _entries(conn: sa.Connection, uuid: str) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(_QUEUE,
                                                       {"uuid": uuid})]


@api._retry
def push(context: RequestContext, uuid: str, action: str, reason: str | None,
         plan: Planner) -> dict[str, Any]:
    """Queue ``action`` for ``uuid`` as ``plan`` decides, atomically.

    The entry records ``context``'s user, project and request id.

    :returns: ``{"instance": ..., "queue": [entries after], "entry": the
        new entry or None, "dropped": [entries removed]}``.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises Conflict: what ``plan`` raises; nothing was changed.
    """
    select = sa.select(*(_i[name] for name in cas.INSTANCE_COLUMNS)).where(
        _i.uuid == uuid, *cas.scope(context)).with_for_update()
    with connections.writer(context) as conn:
        row = conn.execute(select).first()
        if row is None:
            raise exception.InstanceNotFound(uuid)
        instance = cas.instance_dict(row._mapping)
        queue = _entries(conn, uuid)
        decision = plan(instance, queue)
        dropped = [e for e in queue if e["id"] in decision.drop]
        if dropped:
            conn.execute(sa.delete(models.action_queue).where(
                _q.id.in_([e["id"] for e in dropped])))
        entry = None
        if decision.add:
            values = {
                "instance_uuid": uuid, "action": action, "reason": reason,
                "request_id": getattr(context, "request_id", None),
                "user_id": getattr(context, "user_id", None),
                "project_id": getattr(context, "project_id", None),
                "created_at": timeutils.utcnow(),
            }
            key = conn.execute(sa.insert(models.action_queue)
                               .values(values)).inserted_primary_key
            assert key is not None  # an INSERT's
            new_id = key[0]
            entry = dict(values, id=new_id)
        return {"instance": instance, "queue": _entries(conn, uuid),
                "entry": entry, "dropped": dropped}


@api._retry
def entries(context: RequestContext, uuids: Sequence[str]
            ) -> dict[str, list[dict[str, Any]]]:
    """The queues of ``uuids`` (each oldest first), in one query.

    For instances the caller has already read: no project scoping here.
    """
    found: dict[str, list[dict[str, Any]]] = {u: [] for u in uuids}
    if not uuids:
        return found
    stmt = (sa.select(*_ENTRY).where(_q.instance_uuid.in_(list(uuids)))
            .order_by(_q.id))
    with connections.reader(context) as conn:
        for row in conn.execute(stmt):
            found[row.instance_uuid].append(dict(row._mapping))
    return found


# The instance and its queue in one statement: a row per queued entry
# (entry columns NULL when the queue is empty), oldest entry first.
_ENTRY_LABELS = tuple(col.label("q_" + col.name) for col in _ENTRY)
_WITH_QUEUE = (
    sa.select(*(_i[name] for name in cas.INSTANCE_COLUMNS),
              conditions.launched_condition(True).label("launched"),
              *_ENTRY_LABELS)
    .select_from(models.instances.outerjoin(
        models.action_queue, _q.instance_uuid == _i.uuid))
    .where(_i.uuid == sa.bindparam("uuid"))
    .order_by(_q.id))
_WITH_QUEUE_SCOPED = _WITH_QUEUE.where(
    _i.project_id == sa.bindparam("project_id"))


@api._retry
def instance_with_queue(context: RequestContext, uuid: str) -> dict[str, Any]:
    """The instance ``uuid`` with its ``queue`` (oldest first), read in
    one statement.

    :returns: the instance as :func:`vmstate.db.api.instance_get` gives
        it, plus ``"queue"``: its queued entries (``[]`` when idle), and
        ``"launched"``: whether it ever launched.
    :raises InstanceNotFound: when there is none, or it belongs to another
        project and ``context`` is not admin.
    """
    params: dict[str, str | None] = {"uuid": uuid}
    stmt = _WITH_QUEUE
    if cas.scope(context):
        stmt = _WITH_QUEUE_SCOPED
        params["project_id"] = context.project_id
    with connections.reader(context) as conn:
        rows = conn.execute(stmt, params).all()
    if not rows:
        raise exception.InstanceNotFound(uuid)
    instance = cas.instance_dict(rows[0]._mapping)
    instance["launched"] = bool(rows[0]._mapping["launched"])
    instance["queue"] = [
        {name: row._mapping["q_" + name] for name in ENTRY_COLUMNS}
        for row in rows if row._mapping["q_id"] is not None]
    return instance


@api._retry
def instances_with_queues(context: RequestContext,
                          filters: Mapping[str, Any] | None = None,
                          limit: int | None = None,
                          marker: str | None = None
                          ) -> list[dict[str, Any]]:
    """A page of instances, each with its ``queue`` and ``launched``
    (whether it ever launched), in one statement.

    The page is :func:`vmstate.db.api.page_statement` (creation order),
    as a subquery, LEFT JOINed to the queue: a row per queued entry, one
    for an idle instance. Arguments and errors as
    :func:`vmstate.db.api.instance_list`.
    """
    page = api.page_statement(context, filters, limit, marker).subquery(
        "page")
    ev = models.instance_events.c
    launched = sa.exists().where(
        ev.instance_uuid == page.c.uuid,
        ev.to_vm_state.notin_(states.UNLAUNCHED_VM_STATES)).label("launched")
    stmt = (sa.select(*(page.c[name] for name in cas.INSTANCE_COLUMNS),
                      launched, *_ENTRY_LABELS)
            .select_from(page.outerjoin(
                models.action_queue, _q.instance_uuid == page.c.uuid))
            .order_by(page.c.created_at, page.c.id, _q.id))
    with connections.reader(context) as conn:
        rows = conn.execute(stmt).all()
        if not rows and marker is not None:
            api.check_marker(conn, context, marker)
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        m = row._mapping
        instance = found.get(m["uuid"])
        if instance is None:
            instance = found[m["uuid"]] = cas.instance_dict(m)
            instance["launched"] = bool(m["launched"])
            instance["queue"] = []
        if m["q_id"] is not None:
            instance["queue"].append(
                {name: m["q_" + name] for name in ENTRY_COLUMNS})
    return list(found.values())


@api._retry
def head(context: RequestContext, uuid: str) -> dict[str, Any] | None:
    """The oldest queued action of ``uuid``, or ``None``."""
    with connections.reader(context) as conn:
        row = conn.execute(_QUEUE.limit(1), {"uuid": uuid}).first()
    return None if row is None else dict(row._mapping)


def claim(entry_id: int) -> cas.Claim:
    """The claim that takes entry ``entry_id`` off its queue, for
    :func:`vmstate.db.api.begin`.

    :raises ClaimLost: (when run) the entry is gone already.
    """
    def take(conn: sa.Connection) -> None:
        done = conn.execute(sa.delete(models.action_queue).where(
            _q.id == entry_id))
        if done.rowcount != 1:
            raise ClaimLost(entry_id)
    return take


@api._retry
def drop(context: RequestContext, entry_id: int) -> bool:
    """Remove one entry (an action that can no longer start).

    :returns: whether this call removed it (``False``: someone else did).
    """
    with connections.writer(context) as conn:
        done = conn.execute(sa.delete(models.action_queue).where(
            _q.id == entry_id))
        return done.rowcount == 1


@api._retry
def clear(context: RequestContext, uuid: str) -> list[dict[str, Any]]:
    """Remove every queued action of ``uuid``; return what was removed.

    :raises InstanceNotFound: no such instance visible to ``context``.
    """
    with connections.writer(context) as conn:
        found = conn.execute(sa.select(_i.id).where(
            _i.uuid == uuid, *cas.scope(context))).first()
        if found is None:
            raise exception.InstanceNotFound(uuid)
        removed = _entries(conn, uuid)
        if removed:
            conn.execute(sa.delete(models.action_queue).where(
                _q.id.in_([e["id"] for e in removed])))
        return removed


@api._retry
def pending(context: RequestContext, limit: int) -> list[str]:
    """Up to ``limit`` instances with queued actions and no task running,
    those waiting longest first: one bounded statement (:data:`PENDING`).
    """
    with connections.reader(context) as conn:
        return [row.instance_uuid for row in
                conn.execute(PENDING, {"limit": limit})]
