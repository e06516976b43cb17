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


"""The state store's interface: the only way vmstate reads or writes state.

Every function takes a :class:`vmstate.context.RequestContext` first and
returns plain dicts, never ORM objects. A non-admin context sees only its
own project's instances: another project's instance is "not found", in
reads and writes alike, because the project is part of every query.

Instance dicts hold ``uuid, project_id, user_id, vm_state, task_state,
power_state, version, task_id, task_action, created_at, updated_at,
state_changed_at, task_started_at, task_heartbeat_at, fault`` (datetimes
are naive UTC; ``fault`` a dict or ``None``). Functions that change state
add ``"event"``: the history row they wrote (see :func:`instance_events`),
and hand the result to :mod:`vmstate.db.listeners` once the transaction
has committed (that is how :mod:`vmstate.events` publishes it).

``None`` as a task_state, in values, in ``expected`` and in filters,
always means "no task running"; a key left out means "do not care".

Deadlocks and lost connections are retried (oslo.db's
``wrap_db_retry``). A state change is never applied twice: each one gets a
``transition_id`` before its first attempt, and a retry first looks for
the history row carrying it, in case the lost answer was a commit.
"""

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
import functools
from typing import Any
from typing import ParamSpec
from typing import Protocol
from typing import TypeVar

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from vmstate import exception
from vmstate import states
from vmstate.context import RequestContext
from vmstate.db import cas
from vmstate.db import conditions
from vmstate.db import connections
from vmstate.db import listeners
from vmstate.db import models
from vmstate.db.conditions import AllowedCells

LOG = logging.getLogger(__name__)

__all__ = [
    "AllowedCells", "begin", "checkpoint", "instance_create",
    "instance_events", "instance_get", "instance_list", "transition",
]

#: The action recorded for an instance's creation and its build task.
CREATE = "create"

CREATE_FIELDS = frozenset(
    ("uuid", "project_id", "user_id", "vm_state", "task_state",
     "power_state"))
TRANSITION_FIELDS = frozenset(
    ("vm_state", "task_state", "power_state", "fault"))
LIST_FILTERS = frozenset(
    ("vm_state", "task_state", "project_id", "user_id"))
SORT_KEYS = frozenset(
    ("created_at", "updated_at", "state_changed_at", "uuid", "vm_state",
     "version"))
SORT_DIRS = frozenset(("asc", "desc"))

_c = models.instances.c


def _is_locked(exc: Exception) -> bool:
    # SQLite gives up after its busy timeout, or at once when a
    # transaction that has read must wait for another writer; both are
    # transient, like a deadlock.
    return "database is locked" in str(exc)


_P = ParamSpec("_P")
_R = TypeVar("_R")


class _Decorator(Protocol):
    def __call__(self, f: Callable[_P, _R], /) -> Callable[_P, _R]: ...


# oslo.db's retry decorator (untyped) keeps the signature it wraps.
_retry: _Decorator = oslo_db_api.wrap_db_retry(
    max_retries=5, retry_interval=0.05, inc_retry_interval=True,
    max_retry_interval=1, retry_on_deadlock=True, retry_on_disconnect=True,
    exception_checker=_is_locked)


# -- reading -----------------------------------------------------------------

@_retry
def instance_get(context: RequestContext, uuid: str,
                 with_launched: bool = False
                 ) -> dict[str, Any]:
    """The instance ``uuid``; ``with_launched``: also ``launched``,
    whether it ever launched (read in the same statement).

    :raises InstanceNotFound: when there is none, or it belongs to another
        project and ``context`` is not admin.
    """
    with connections.reader(context) as conn:
        row = cas.read_instance(conn, context, uuid, launched=with_launched)
    if row is None:
        raise exception.InstanceNotFound(uuid)
    found = cas.instance_dict(row._mapping)
    if with_launched:
        found["launched"] = bool(row._mapping["launched"])
    return found


@_retry
def instance_list(context: RequestContext,
                  filters: Mapping[str, Any] | None = None,
                  limit: int | None = None, marker: str | None = None,
                  sort_key: str = "created_at", sort_dir: str = "asc"
                  ) -> list[dict[str, Any]]:
    """A page of the instances ``context`` may see: one SELECT.

    :param filters: ``vm_state``, ``task_state``, ``project_id``,
        ``user_id``; each a value or a list of values. ``task_state: None``
        (or ``None`` in a list) selects instances with no task running.
        ``project_id`` narrows an admin's view; for anyone else the own
        project applies anyway, so another project's id finds nothing.
    :param limit: at most this many (``None``: all).
    :param marker: the uuid of the last instance of the previous page.
    :param sort_key: one of :data:`SORT_KEYS`; ties are broken by
        creation order, so pages never repeat or skip an instance.
    :raises Invalid: an unknown filter, sort key or direction, a negative
        limit, or a marker that is not a visible instance.
    """
    stmt = page_statement(context, filters, limit, marker, sort_key,
                          sort_dir)
    with connections.reader(context) as conn:
        rows = conn.execute(stmt).all()
        if not rows and marker is not None:
            check_marker(conn, context, marker)
    return [cas.instance_dict(row._mapping) for row in rows]


def page_statement(context: RequestContext, filters: Mapping[str, Any] | None,
                   limit: int | None, marker: str | None,
                   sort_key: str = "created_at", sort_dir: str = "asc"
                   ) -> Any:
    """The SELECT of one page of instances (see :func:`instance_list`).

    The marker's sort values are read by subqueries inside the same
    statement (the ``instances`` table aliased ``marker``), so a page is
    one statement; a marker that is not visible matches nothing (an empty
    page, which :func:`check_marker` then tells from a real end). The
    columns are :data:`vmstate.db.cas.INSTANCE_COLUMNS` and ``id``; the
    order is ``sort_key`` then ``id`` in ``sort_dir``.

    :raises Invalid: as :func:`instance_list`.
    """
    filters = dict(filters or {})
    unknown = sorted(set(filters) - LIST_FILTERS)
    if unknown:
        raise exception.Invalid("Unknown filter(s): %s" % ", ".join(unknown))
    if sort_key not in SORT_KEYS:
        raise exception.Invalid("Invalid sort key %r; valid: %s" % (
            sort_key, ", ".join(sorted(SORT_KEYS))))
    if sort_dir not in SORT_DIRS:
        raise exception.Invalid("Invalid sort direction %r" % (sort_dir,))
    if limit is not None and (isinstance(limit, bool)
                              or not isinstance(limit, int) or limit < 0):
        raise exception.Invalid("limit must be an integer >= 0")
    key, ident = _c[sort_key], _c.id
    stmt = sa.select(*(_c[name] for name in cas.INSTANCE_COLUMNS), ident)
    stmt = stmt.where(*cas.scope(context),
                      *conditions.expected_condition(filters))
    if marker is not None:
        found = models.instances.alias("marker")
        seen = [found.c.uuid == marker]
        if cas.scope(context):
            seen.append(found.c.project_id == context.project_id)
        marker_key = sa.select(found.c[sort_key]).where(
            *seen).scalar_subquery()
        marker_id = sa.select(found.c.id).where(*seen).scalar_subquery()
        if sort_dir == "asc":
            after = sa.or_(key > marker_key,
                           sa.and_(key == marker_key, ident > marker_id))
        else:
            after = sa.or_(key < marker_key,
                           sa.and_(key == marker_key, ident < marker_id))
        stmt = stmt.where(after)
    order = sa.asc if sort_dir == "asc" else sa.desc
    stmt = stmt.order_by(order(key), order(ident))
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt


def check_marker(conn: sa.Connection, context: RequestContext,
                 marker: str) -> None:
    """Raise ``Invalid`` when ``marker`` is not an instance ``context``
    sees (asked only after a page came back empty)."""
    if not visible(conn, context, marker):
        raise exception.Invalid("marker not found: %s" % marker)


def visible(conn: sa.Connection, context: RequestContext, uuid: str) -> bool:
    """Whether instance ``uuid`` exists and ``context`` may see it (its
    own project's, or any for an admin): one indexed read."""
    return conn.execute(sa.select(_c.id).where(
        _c.uuid == uuid, *cas.scope(context))).first() is not None


@_retry
def instance_events(context: RequestContext, uuid: str,
                    since: int | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
    """The history of ``uuid``, oldest first.

    Each event: ``version`` (the instance's version after it), ``action``,
    ``task_id`` (the task it started or continued, else the one it ended;
    ``None`` when no task was involved), ``from`` and ``to``
    (``{vm_state, task_state, power_state}``; ``from`` is all ``None``
    for the creation), ``created_at``, ``request_id``,
    ``user_id``, ``project_id``, ``reason``.

    :param since: only events with a version above this one (resuming a
        stream: pass the last version seen).
    :param limit: at most this many, the oldest first (``None``: all); the
        next page is ``since`` the last one's version.
    :raises InstanceNotFound: as :func:`instance_get`.
    :raises Invalid: ``since`` is not an integer >= 0.
    """
    if since is not None and (isinstance(since, bool)
                              or not isinstance(since, int) or since < 0):
        raise exception.Invalid("since must be an integer >= 0")
    if limit is not None and (isinstance(limit, bool)
                              or not isinstance(limit, int) or limit < 0):
        raise exception.Invalid("limit must be an integer >= 0")
    events = models.instance_events
    with connections.reader(context) as conn:
        if not visible(conn, context, uuid):
            raise exception.InstanceNotFound(uuid)
        stmt = (sa.select(events)
                .where(events.c.instance_uuid == uuid,
                       events.c.version > (since or 0))
                .order_by(events.c.version))
        if limit is not None:
            stmt = stmt.limit(limit)
        return [cas.event_dict(row._mapping) for row in conn.execute(stmt)]


@_retry
def origin_vm_state(context: RequestContext, uuid: str, actions: Sequence[str]
                    ) -> str | None:
    """The vm_state ``uuid`` had when the last of ``actions`` began, from
    its history (``None``: none of them ever ran).

    Every step of such an action's task (its start, checkpoints, end) is
    recorded from the vm_state it began in, so the latest of their rows
    tells it. This is where a completion rule's "as it was before the
    operation" comes from (a resize's confirmation ends stopped when the
    resize began stopped).

    :raises InstanceNotFound: as :func:`instance_get`.
    """
    events = models.instance_events
    with connections.reader(context) as conn:
        if not visible(conn, context, uuid):
            raise exception.InstanceNotFound(uuid)
        return conn.execute(
            sa.select(events.c.from_vm_state)
            .where(events.c.instance_uuid == uuid,
                   events.c.action.in_(sorted(actions)))
            .order_by(events.c.version.desc()).limit(1)).scalar()


# -- creating ----------------------------------------------------------------

def instance_create(context: RequestContext, values: Mapping[str, Any]
                    ) -> dict[str, Any]:
    """Create an instance and its first history row (version 1, "create").

    Defaults: a generated uuid, vm_state ``building``, task_state
    ``scheduling``, power_state 0, the context's project and user. Created
    with a task_state, the instance gets a task (``task_id``, action
    ``create``): the build, which a worker takes over with
    :func:`vmstate.lifecycle.adopt`. The values are not checked against
    the matrix's vocabulary; the API does that.

    :raises Invalid: an unknown field or a value of the wrong type.
    :raises Forbidden: a non-admin context creating in another project.
    :raises Conflict: an instance with this uuid exists already.
    """
    unknown = sorted(set(values) - CREATE_FIELDS)
    if unknown:
        raise exception.Invalid("Unknown field(s): %s" % ", ".join(unknown))
    uuid = values.get("uuid") or uuidutils.generate_uuid()
    project_id = values.get("project_id", context.project_id)
    vm_state = values.get("vm_state", states.BUILDING)
    task_state = values.get("task_state", states.SCHEDULING)
    power_state = values.get("power_state", states.NOSTATE)
    _check_state(vm_state, task_state, power_state)
    now = timeutils.utcnow()
    running = task_state is not None
    row = {
        "uuid": uuid, "project_id": project_id,
        "user_id": values.get("user_id", context.user_id),
        "vm_state": vm_state, "task_state": task_state,
        "power_state": power_state, "version": 1,
        "task_id": uuidutils.generate_uuid() if running else None,
        "task_action": CREATE if running else None,
        "state_changed_at": now,
        "task_started_at": now if running else None,
        "task_heartbeat_at": now if running else None,
        "fault": None, "created_at": now, "updated_at": now,
    }
    change = cas.Change(uuid, CREATE, shape=None, build=_no_update,
                        params={}, expected={}, now=now)
    try:
        return _create(context, row, change)
    except db_exc.DBDuplicateEntry:
        raise exception.Conflict("Instance %s already exists" % uuid,
                                 uuid=uuid)


def _create(context: RequestContext, row: dict[str, Any], change: cas.Change
            ) -> dict[str, Any]:
    def insert(conn: sa.Connection) -> dict[str, Any]:
        conn.execute(sa.insert(models.instances).values(row))
        created = dict(row, prev_vm_state=None, prev_task_state=None,
                       prev_power_state=None, prev_task_id=None)
        event = cas.record(conn, context, change, _Mapped(created))
        result = cas.instance_dict(row)
        result["event"] = event
        return result
    return _exactly_once(context, change, insert)


def _no_update() -> tuple[cas.Assignments, list[Any]]:
    raise AssertionError("a creation is an INSERT")  # pragma: no cover


class _Mapped:
    """A dict in the shape of a result row, for :func:`cas.record`."""

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping


def _check_state(vm_state: Any, task_state: Any, power_state: Any) -> None:
    if not isinstance(vm_state, str) or not vm_state:
        raise exception.Invalid("vm_state must be a non-empty string")
    if task_state is not None and (not isinstance(task_state, str)
                                   or not task_state):
        raise exception.Invalid("task_state must be a non-empty string "
                                "or null")
    if isinstance(power_state, bool) or not isinstance(power_state, int):
        raise exception.Invalid("power_state must be an integer")


# -- compare-and-swap --------------------------------------------------------

def transition(context: RequestContext, uuid: str, values: Mapping[str, Any],
               expected: Mapping[str, Any] | None = None,
               action: str = "update", reason: str | None = None
               ) -> dict[str, Any]:
    """Change the instance's state if it is as expected; record why.

    One ``UPDATE .. WHERE uuid AND <expected>`` that also increments
    ``version``, and the history row, in one transaction.

    :param values: new ``vm_state``, ``task_state``, ``power_state`` and
        ``fault`` (a dict recorded as the last fault, ``None`` to clear).
        Setting ``task_state`` to ``None`` ends the task (``task_id``
        cleared); setting it while no task runs starts one (a new
        ``task_id``, ``task_action`` = ``action``); changing it while a
        task runs continues that task. A change into a terminal vm_state
        (``deleted``) ends the task too: no task outlives its instance.
    :param expected: ``vm_state``, ``task_state``, ``power_state``,
        ``version``, ``task_id``: each a value (``None``: NULL, for
        task_state "no task") or a list of acceptable values. Absent keys
        are not compared; no ``expected`` at all changes unconditionally.
    :returns: the instance after the change, with ``"event"``.
    :raises Invalid: unknown keys, nothing to change, wrong types, a
        task_state with a terminal vm_state.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises StateConflict: the instance is not as expected (``expected``
        and ``actual`` say how), or it is deleted; nothing changed.
    """
    expected = dict(expected or {})
    _check_values(values)
    _check_expected(expected)
    values = _terminal_ends_task(values)
    expected_shape, params = conditions.expected_shape(expected)
    task = None
    if "task_state" in values:
        task = "end" if values["task_state"] is None else "run"
    shape = ("transition", tuple(sorted(values)), task, expected_shape)
    for key in ("vm_state", "task_state", "power_state"):
        if key in values:
            params["p_" + key] = values[key]
    if "fault" in values:
        fault = values["fault"]
        params["p_fault"] = None if fault is None else jsonutils.dumps(fault)
    if task == "run":
        params["p_action"] = action
        params["p_task_id"] = uuidutils.generate_uuid()
    change = cas.Change(
        uuid, action, shape,
        functools.partial(_transition_statement, *shape[1:]), params,
        expected, timeutils.utcnow(), reason)
    return _apply(context, change)


def begin(context: RequestContext, uuid: str, action: str,
          allowed: AllowedCells,
          begins: str | None, reason: str | None = None,
          expected: Mapping[str, Any] | None = None,
          claim: cas.Claim | None = None,
          launched: bool | None = None) -> dict[str, Any]:
    """Start ``action`` if the instance is in one of the ``allowed`` cells.

    The WHERE clause admits exactly those cells (no read before the
    write). With ``begins`` the action's task starts: task_state, a new
    ``task_id``, ``task_action``, start and heartbeat times; a task that was
    running is thereby preempted (its next checkpoint fails). Without, the
    action runs no task: only the version and history record it.

    Callers normally use :func:`vmstate.lifecycle.begin`, which builds
    ``allowed`` from the matrix and turns a conflict into Nova's
    ``InstanceInvalidState``.

    :param expected: more values the instance must have, as in
        :func:`transition` (a ``version``: nobody changed it since it was
        read), compared in the same WHERE clause.
    :param claim: run in the same transaction once the UPDATE matched
        (taking a queued action off its queue): the begin commits only if
        the claim succeeds, and the claim only if the begin does.
    :param launched: when not ``None``, the instance must (``True``) or
        must not (``False``) have launched ever (see
        :func:`vmstate.db.conditions.launched_condition`), compared in
        the same UPDATE.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises StateConflict: the instance's cell is not allowed, or it is
        not as ``expected``; ``expected`` is ``{"action": action}`` (and
        the expected values) and ``actual`` holds the instance's state.
    :raises Conflict: what ``claim`` raises when it fails; nothing was
        changed.
    """
    expected = dict(expected or {})
    _check_expected(expected)
    expected_shape, params = conditions.expected_shape(expected)
    if begins is not None:
        params.update({"p_task_state": begins, "p_action": action,
                       "p_task_id": uuidutils.generate_uuid()})
    shape = ("begin", allowed, begins is not None, expected_shape, launched)
    change = cas.Change(
        uuid, action, shape,
        functools.partial(_begin_statement, allowed, begins is not None,
                          expected_shape, launched),
        params, {"action": action, **expected}, timeutils.utcnow(), reason,
        claim=claim)
    return _apply(context, change)


def checkpoint(context: RequestContext, uuid: str, task_id: str,
               task_state: str,
               next_task_state: str | None = None,
               action: str | None = None) -> dict[str, Any]:
    """Prove that task ``task_id`` still owns the instance; maybe advance.

    ``UPDATE .. WHERE uuid AND task_id AND task_state``: without
    ``next_task_state`` it only refreshes ``task_heartbeat_at`` (a sign of
    progress, not a transition: no version, no history; ``"event"`` is
    ``None``); with it, the task moves to that task_state as a transition.

    :param action: the task's action, for the message of the exception.
    :raises Invalid: ``task_id`` or ``task_state`` missing.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises TaskAborted: another change took the instance over (a delete,
        a reset, a newer task); the worker must stop and clean up.
    """
    if not task_id or not task_state:
        raise exception.Invalid("A checkpoint needs the task's id and "
                                "task_state")
    if next_task_state is not None and (not isinstance(next_task_state, str)
                                        or not next_task_state):
        raise exception.Invalid("next_task_state must be a non-empty string")
    expected = {"task_id": task_id, "task_state": task_state}

    def aborted(uuid: str, expected: dict[str, Any],
                actual: dict[str, Any]) -> Exception:
        return exception.TaskAborted(uuid, action or "task", expected, actual)

    advance = next_task_state is not None
    params = {"e_task_id": task_id, "e_task_state": task_state,
              "p_task_state": next_task_state}
    change = cas.Change(
        uuid, action, ("checkpoint", advance),
        functools.partial(_checkpoint_statement, advance), params,
        expected, timeutils.utcnow(), record=advance, conflict=aborted)
    return _apply(context, change)


def release(context: RequestContext, uuid: str, task_id: str,
            task_state: str | None, begun_version: int, action: str,
            reason: str | None = None) -> dict[str, Any]:
    """Give back task ``task_id`` (a reservation) to the state its begin
    found, the preempted task included.

    ``begun_version`` is the version the reservation's begin wrote; its
    history row says what the begin found. When that was another task
    (the reservation preempted it, as a delete preempts a build), that
    task is put back as it was: its ``task_id``, ``task_action`` and start
    time (from the first history row of that task), a fresh heartbeat. Its
    worker's next checkpoint then succeeds, as if the reservation had
    never happened. When the history no longer holds that task (purged),
    the task_state is put back under a new task id, which the sweeper's
    timeout ends like any task without a worker. When the begin found no
    task, the instance ends up idle in the vm_state it had.

    One ``UPDATE .. WHERE uuid AND task_id AND task_state`` with its
    history row, like every change (:mod:`vmstate.db.cas`): once anything
    else changed the instance, nothing is written.

    :param task_state: the reservation's task_state now.
    :returns: the instance after the release, with ``"event"``.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises StateConflict: the instance is no longer in task ``task_id``
        at ``task_state`` (a newer decision stands); nothing changed.
    :raises Invalid: ``begun_version`` is not in the history.
    """
    before = _begun_from(context, uuid, begun_version)
    values = {"vm_state": before["vm_state"],
              "task_state": before["task_state"]}
    expected = {"task_id": task_id, "task_state": task_state}
    if before["task_state"] is None or before["task"] is None:
        # Back to idle; or a preempted task the history no longer knows:
        # a new task id (transition's "run" keeps the running one, which
        # is the reservation's and must not survive it).
        if before["task_state"] is not None:
            LOG.warning("Releasing %s on %s: the preempted task is not in "
                        "the history; its task_state is put back under a "
                        "new task", action, uuid)
            return _restore(context, uuid, values, expected, action, reason,
                            {"task_id": uuidutils.generate_uuid(),
                             "task_action": action,
                             "task_started_at": timeutils.utcnow()})
        return transition(context, uuid, values, expected=expected,
                          action=action, reason=reason)
    return _restore(context, uuid, values, expected, action, reason,
                    before["task"])


def _restore(context: RequestContext, uuid: str, values: dict[str, Any],
             expected: dict[str, Any], action: str, reason: str | None,
             task: dict[str, Any]) -> dict[str, Any]:
    expected_shape, params = conditions.expected_shape(expected)
    params.update({"p_vm_state": values["vm_state"],
                   "p_task_state": values["task_state"],
                   "p_task_id": task["task_id"],
                   "p_action": task["task_action"],
                   "p_started": task["task_started_at"]})
    shape = ("restore", expected_shape)
    change = cas.Change(
        uuid, action, shape,
        functools.partial(_restore_statement, expected_shape), params,
        expected, timeutils.utcnow(), reason)
    return _apply(context, change)


@_retry
def _begun_from(context: RequestContext, uuid: str,
                version: int) -> dict[str, Any]:
    """What the change to ``version`` found: ``vm_state``, ``task_state``
    and ``task`` (the running task's ``task_id``, ``task_action``,
    ``task_started_at``, from its first history row; ``None`` when no task
    ran or the history no longer has it). History rows never change, so
    this read needs no lock."""
    events = models.instance_events
    ev = events.c
    with connections.reader(context) as conn:
        if not visible(conn, context, uuid):
            raise exception.InstanceNotFound(uuid)
        rows = {row.version: row for row in conn.execute(
            sa.select(ev.version, ev.from_vm_state, ev.from_task_state,
                      ev.task_id)
            .where(ev.instance_uuid == uuid,
                   ev.version.in_([version - 1, version])))}
        if version not in rows:
            raise exception.Invalid("version %d of %s is not in the history"
                                    % (version, uuid))
        begun = rows[version]
        result: dict[str, Any] = {"vm_state": begun.from_vm_state,
                                  "task_state": begun.from_task_state,
                                  "task": None}
        previous = rows.get(version - 1)
        if (begun.from_task_state is None or previous is None
                or previous.task_id is None):
            return result
        first = conn.execute(
            sa.select(ev.action, ev.created_at)
            .where(ev.instance_uuid == uuid, ev.task_id == previous.task_id)
            .order_by(ev.version).limit(1)).first()
        if first is not None:
            result["task"] = {"task_id": previous.task_id,
                              "task_action": first.action,
                              "task_started_at": first.created_at}
        return result


def _apply(context: RequestContext, change: cas.Change) -> dict[str, Any]:
    return _exactly_once(context, change,
                         functools.partial(cas.apply, context=context,
                                           change=change))


@_retry
def _exactly_once(context: RequestContext, change: cas.Change,
                  write: Callable[[sa.Connection], dict[str, Any]]
                  ) -> dict[str, Any]:
    """Run ``write`` in a writer transaction, once however often it is
    retried (a deadlock, a lost connection, a Galera certification
    failure): a retry first looks for ``change``'s transition id in the
    history and returns what that commit did. Then tells the listeners.
    """
    change.attempts += 1
    result: dict[str, Any] | None = None
    with connections.writer(context) as conn:
        if change.attempts > 1:
            result = cas.committed(conn, context, change)
        if result is None:
            result = write(conn)
    # Committed (the writer block has ended): now others may hear of it.
    listeners.committed(result)
    return result


# The statement builders: bound parameters only, so that each form is built
# and compiled once (cas.Change.build).

def _now() -> Any:
    return cas.param("now", _c.updated_at)


def _begin_statement(allowed: AllowedCells, runs_task: bool,
                     expected_shape: Any = (), launched: bool | None = None
                     ) -> tuple[cas.Assignments, list[Any]]:
    cond = conditions.condition(allowed)
    where = [] if cond is None else [cond]
    where += conditions.expected_terms(expected_shape)
    if launched is not None:
        where.append(conditions.launched_condition(launched))
    if not runs_task:
        return [], where
    return [
        (_c.task_state, cas.param("task_state", _c.task_state)),
        (_c.task_id, cas.param("task_id", _c.task_id)),
        (_c.task_action, cas.param("action", _c.task_action)),
        (_c.task_started_at, _now()),
        (_c.task_heartbeat_at, _now()),
        (_c.state_changed_at, _now()),
    ], where


def _restore_statement(expected_shape: Any
                       ) -> tuple[cas.Assignments, list[Any]]:
    """Put a preempted task back: its id, action and start, and state."""
    return [
        (_c.task_id, cas.param("task_id", _c.task_id)),
        (_c.task_action, cas.param("action", _c.task_action)),
        (_c.task_started_at, cas.param("started", _c.task_started_at)),
        (_c.task_heartbeat_at, _now()),
        (_c.vm_state, cas.param("vm_state", _c.vm_state)),
        (_c.task_state, cas.param("task_state", _c.task_state)),
        (_c.state_changed_at, _now()),
    ], conditions.expected_terms(expected_shape)


def _checkpoint_statement(advance: bool
                          ) -> tuple[cas.Assignments, list[Any]]:
    where = conditions.expected_terms(conditions.expected_shape(
        {"task_id": "", "task_state": ""})[0])
    assignments: cas.Assignments = [(_c.task_heartbeat_at, _now())]
    if advance:
        assignments += [
            (_c.task_state, cas.param("task_state", _c.task_state)),
            (_c.state_changed_at, _now()),
        ]
    return assignments, where


def _transition_statement(keys: tuple[str, ...], task: str | None,
                          expected_shape: Any
                          ) -> tuple[cas.Assignments, list[Any]]:
    """The SET terms of a transition, in the order MySQL needs."""
    out: cas.Assignments = []
    if task == "end":
        out += [(_c.task_id, None), (_c.task_action, None),
                (_c.task_started_at, None), (_c.task_heartbeat_at, None)]
    elif task == "run":
        # These read task_id before it is assigned (left to right): a
        # task starts when none runs, and continues otherwise.
        starting = _c.task_id.is_(None)
        out += [
            (_c.task_started_at,
             sa.case((starting, _now()), else_=_c.task_started_at)),
            (_c.task_action,
             sa.case((starting, cas.param("action", _c.task_action)),
                     else_=_c.task_action)),
            (_c.task_heartbeat_at, _now()),
            (_c.task_id, sa.func.coalesce(
                _c.task_id, cas.param("task_id", _c.task_id))),
        ]
    for key in ("vm_state", "task_state", "power_state", "fault"):
        if key in keys:
            out.append((_c[key], cas.param(key, _c[key])))
    if set(keys) & {"vm_state", "task_state", "power_state"}:
        out.append((_c.state_changed_at, _now()))
    return out, conditions.expected_terms(expected_shape)


def _check_values(values: Mapping[str, Any]) -> None:
    if not values:
        raise exception.Invalid("Nothing to change")
    unknown = sorted(set(values) - TRANSITION_FIELDS)
    if unknown:
        raise exception.Invalid("Unknown field(s): %s" % ", ".join(unknown))
    if "vm_state" in values and (not isinstance(values["vm_state"], str)
                                 or not values["vm_state"]):
        raise exception.Invalid("vm_state must be a non-empty string")
    task_state = values.get("task_state")
    if task_state is not None and (not isinstance(task_state, str)
                                   or not task_state):
        raise exception.Invalid("task_state must be a non-empty string "
                                "or null")
    if "power_state" in values:
        power = values["power_state"]
        if isinstance(power, bool) or not isinstance(power, int):
            raise exception.Invalid("power_state must be an integer")
    fault = values.get("fault")
    if fault is not None and not isinstance(fault, Mapping):
        raise exception.Invalid("fault must be an object or null")


def _terminal_ends_task(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """``values`` with ``task_state: None`` when they reach a terminal
    vm_state: a task still recorded when the instance is deleted ends
    there."""
    if values.get("vm_state") not in states.TERMINAL_VM_STATES:
        return values
    if values.get("task_state") is not None:
        raise exception.Invalid(
            "vm_state %s is terminal: the instance reaches it with no "
            "task (task_state null), not in task_state %s" % (
                values["vm_state"], values["task_state"]))
    return dict(values, task_state=None)


def _check_expected(expected: Mapping[str, Any]) -> None:
    unknown = sorted(set(expected) - set(conditions.EXPECTABLE))
    if unknown:
        raise exception.Invalid("Unknown expected field(s): %s" % (
            ", ".join(unknown)))
