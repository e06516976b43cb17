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


"""Queued actions: asked for while the instance is busy, started after.

In the spirit of the Akanda RUG's per-resource queue, an action requested
with ``queue`` while a task runs is kept (202) instead of refused (409),
and the queue is coalesced as it grows (:func:`coalesce`), by these rules,
in this order:

1. **Repeats collapse**: an action equal to the last one queued is not
   queued again (the request is answered with the queued one).
2. **A delete is final**: nothing is queued behind a queued action that
   deletes the instance (one whose ``completes`` is ``deleted``), nor
   while such an action runs.
3. **A delete supersedes everything**: queuing a deleting action drops
   every action queued before it. (A delete that starts at once, as
   Nova's matrix allows from any state, empties the queue as it begins.)
4. **Never possible, refused at once**: an action the matrix allows
   from none of the vm_states the instance can be in once the running
   task and the actions queued before it have ended (each ends in its
   ``completes`` or its ``fails_to`` state, or leaves the vm_state) is
   refused with 409.
5. **Bounded**: at most ``[lifecycle] max_queued_actions`` per instance;
   one more is refused with 409.

Queued actions start, oldest first, when the instance has no task: right
after the transition that ended the task, in the process that committed
it (the lifecycle engine's after-commit listener, :func:`drain`), and by
the sweeper as a safety net. Each starts through
:func:`vmstate.lifecycle.begin`, with its requester's identity and
request id, conditional on the instance being as the drain saw it, and
leaves the queue in the same transaction. An action the matrix refuses
when its turn comes is dropped (logged and notified), and the next one
is tried.
"""

from collections.abc import Mapping
from collections.abc import Sequence
import dataclasses
from typing import Any

from oslo_log import log as logging

from vmstate import exception
from vmstate import states
from vmstate.conf import CONF
from vmstate.context import RequestContext
from vmstate.context import get_admin_context
from vmstate.db import action_queue
from vmstate.db import api as db_api
from vmstate.lifecycle import notifications
from vmstate.lifecycle import tasks
from vmstate.matrix import OTHER
from vmstate.matrix import ActionDef
from vmstate.matrix import Matrix
from vmstate.matrix import loader

LOG = logging.getLogger(__name__)

#: Coalescing decisions.
QUEUED = "queued"
COLLAPSED = "collapsed"

# How many times a request tries again when the task ended while it was
# deciding between starting now and queuing.
_ATTEMPTS = 3

@dataclasses.dataclass(frozen=True)
class Decision:
    """What :func:`coalesce` decided: ``kind`` (:data:`QUEUED` or
    :data:`COLLAPSED`) and the positions in the queue to drop first."""

    kind: str
    drop: tuple[int, ...] = ()


def deletes(definition: ActionDef) -> bool:
    """Whether the action ends the instance (rules 2 and 3)."""
    return definition.completes == states.DELETED


def _running(matrix: Matrix, action: str | None) -> ActionDef | None:
    if action is not None and action in matrix.actions:
        return matrix.definition(action)
    if action == tasks.BUILD.name:
        return tasks.BUILD
    # A task started by a plain update: where it ends is anyone's guess.
    return None


def _outcomes(definition: ActionDef, vm_state: str) -> set[str]:
    return set(definition.outcomes(vm_state))


def reachable(matrix: Matrix, vm_state: str, running: str | None,
              queued: Sequence[str]) -> set[str] | None:
    """The vm_states the instance may be in, idle, once the running task
    (action ``running``, ``None``: none) and the ``queued`` actions have
    ended; ``None`` when that cannot be known (a task no matrix action
    describes)."""
    possible = {vm_state}
    if running is not None:
        definition = _running(matrix, running)
        if definition is None:
            return None
        possible = _outcomes(definition, vm_state)
    for action in queued:
        if action not in matrix.actions:
            continue
        definition = matrix.definition(action)
        starts = {s for s in possible if matrix.is_allowed(action, s, None)}
        for state in starts:
            possible |= _outcomes(definition, state)
    return possible


def coalesce(matrix: Matrix, vm_state: str, running: str | None,
             queued: Sequence[str], action: str,
             limit: int) -> Decision:
    """Apply the module's rules to queuing ``action``.

    :param running: the action of the task running (``None``: none).
    :param queued: the actions already queued, oldest first.
    :raises UnknownAction: the matrix has no such action.
    :raises Conflict: the action can never start after what runs and is
        queued, follows a delete, or the queue is full.
    """
    definition = matrix.definition(action)
    if queued and queued[-1] == action:
        return Decision(COLLAPSED)
    for name in queued:
        if name in matrix.actions and deletes(matrix.definition(name)):
            raise _refused(action, "it would follow the queued %r, which "
                                   "deletes the instance" % name)
    current = _running(matrix, running) if running else None
    if current is not None and deletes(current):
        raise _refused(action, "the instance is being deleted (%s)"
                       % running)
    if deletes(definition):
        return Decision(QUEUED, tuple(range(len(queued))))
    possible = reachable(matrix, vm_state, running, queued)
    if possible is not None and not any(
            matrix.is_allowed(action, s, None) for s in possible):
        starts = sorted({vm for vm, task in matrix.cells(action)
                         if task is None and vm != OTHER})
        raise _refused(action, "the matrix allows it from none of the "
                               "vm_states the instance can be in after "
                               "%s (%s); it needs %s" % (
                                   _after(running, queued),
                                   ", ".join(sorted(possible)),
                                   ", ".join(starts) or "a state no "
                                   "action reaches"))
    if len(queued) >= limit:
        raise _refused(action, "%d actions are queued already, the most "
                               "[lifecycle] max_queued_actions allows"
                       % len(queued), full=True)
    return Decision(QUEUED)


def _after(running: str | None, queued: Sequence[str]) -> str:
    parts = []
    if running:
        parts.append("the running %s" % running)
    if queued:
        parts.append("the queued %s" % ", ".join(queued))
    return " and ".join(parts) or "now"


def _refused(action: str, why: str, full: bool = False
             ) -> exception.Conflict:
    return exception.Conflict("Cannot queue '%s': %s" % (action, why),
                              action=action,
                              queue_full=full)


@dataclasses.dataclass
class Requested:
    """What :func:`request` did: ``task`` when the action started now,
    ``queued`` (the entry, or the one it collapsed into) when it was
    queued, at ``position`` (1: next); ``kind`` says which; ``dropped``
    lists the entries a delete superseded."""

    kind: str
    task: tasks.Task | None = None
    queued: dict[str, Any] | None = None
    position: int | None = None
    dropped: list[dict[str, Any]] = dataclasses.field(default_factory=list)


class _Idle(Exception):
    """The task ended while the request was deciding: start it now."""


def request(context: RequestContext, uuid: str, action: str,
            matrix: Matrix | None = None, reason: str | None = None,
            queue: bool | None = None) -> Requested:
    """Start ``action`` now, or queue it when the instance is busy.

    An action the matrix allows at once starts at once (a delete, even
    with actions queued: it then empties the queue); only what would be
    refused while a task runs (or while queued actions wait to start) is
    queued.

    :param queue: whether to queue rather than refuse (default:
        ``[lifecycle] queue_actions``). Without it this is
        :func:`vmstate.lifecycle.begin`.
    :raises UnknownAction: the matrix has no such action.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises InstanceInvalidState: the action may not start, and the
        instance is idle (nothing queued would change that).
    :raises Conflict: the queue refused it (see :func:`coalesce`).
    """
    matrix = matrix or loader.get()
    matrix.definition(action)
    if queue is None:
        queue = CONF.lifecycle.queue_actions
    if not queue:
        return Requested("started", task=tasks.begin(
            context, uuid, action, matrix=matrix, reason=reason))
    limit = CONF.lifecycle.max_queued_actions

    def plan(instance: Mapping[str, Any], entries: list[dict[str, Any]]
             ) -> action_queue.Plan:
        if instance["task_state"] is None and not entries:
            raise _Idle()
        decision = coalesce(matrix, instance["vm_state"],
                            instance["task_action"]
                            if instance["task_state"] is not None else None,
                            [e["action"] for e in entries], action, limit)
        return action_queue.Plan(decision.kind == QUEUED,
                                 [entries[i]["id"] for i in decision.drop])

    for _ in range(_ATTEMPTS):
        try:
            return Requested("started", task=tasks.begin(
                context, uuid, action, matrix=matrix, reason=reason))
        except exception.InstanceInvalidState as err:
            # Idle with nothing queued: waiting would change nothing.
            if (err.task_state is None
                    and action_queue.head(context, uuid) is None):
                raise
        try:
            pushed = action_queue.push(context, uuid, action, reason, plan)
        except _Idle:
            continue
        entry = pushed["entry"]
        kind = QUEUED
        if entry is None:
            kind, entry = COLLAPSED, pushed["queue"][-1]
        position = [e["id"] for e in pushed["queue"]].index(entry["id"]) + 1
        for dropped in pushed["dropped"]:
            notify_dropped(dropped, "superseded by a queued %s" % action)
        # Idle with others waiting (their drain may not have happened):
        # make progress now. The action is queued whatever happens here;
        # should this drain fail, the sweeper's does it.
        if pushed["instance"]["task_state"] is None:
            try:
                drain(uuid, matrix)
            except Exception:
                LOG.exception("Instance %s: could not start its queued "
                              "actions; the sweeper will", uuid)
        return Requested(kind, queued=entry, position=position,
                         dropped=pushed["dropped"])
    raise exception.Conflict(
        "Instance %s changed too often while %s was being queued; try "
        "again" % (uuid, action), action=action)


def drain(uuid: str, matrix: Matrix | None = None) -> list[tasks.Task]:
    """Start the queued actions of ``uuid`` while it has no task.

    Stops at the first action that starts a task (its end drains the
    rest), or when the queue is empty or the instance busy. Safe to call
    from any number of processes at once: each action starts once, in
    order.

    :returns: the actions started, in order.
    """
    matrix = matrix or loader.get()
    admin = get_admin_context()
    started: list[tasks.Task] = []
    # Bounded: entries may be added meanwhile; the next drain takes them.
    for _ in range(2 * CONF.lifecycle.max_queued_actions + 2):
        entry = action_queue.head(admin, uuid)
        if entry is None:
            break
        try:
            instance = db_api.instance_get(admin, uuid)
        except exception.InstanceNotFound:
            break
        if instance["task_state"] is not None:
            break
        try:
            task = tasks.begin(
                _requester(entry), uuid, entry["action"], matrix=matrix,
                reason=_reason(entry),
                expected={"version": instance["version"]},
                claim=action_queue.claim(entry["id"]))
        except action_queue.ClaimLost:
            continue
        except (exception.InstanceInvalidState,
                exception.UnknownAction) as err:
            if action_queue.drop(admin, entry["id"]):
                notify_dropped(entry, str(err))
            continue
        except exception.StateConflict:
            # Changed since it was read: look again.
            continue
        except exception.InstanceNotFound:
            break
        LOG.info("Instance %s: queued %s started (task %s)", uuid,
                 entry["action"], task.task_id)
        started.append(task)
        if task.task_id is not None:
            break
    return started


def cancel(context: RequestContext,
           uuid: str) -> list[dict[str, Any]]:
    """Drop every queued action of ``uuid``; return them.

    :raises InstanceNotFound: no such instance visible to ``context``.
    """
    removed = action_queue.clear(context, uuid)
    for entry in removed:
        notify_dropped(entry, "cancelled by %s" % (
            getattr(context, "user_id", None) or "an administrator"))
    return removed


def _requester(entry: Mapping[str, Any]) -> Any:
    """The context of the request that queued ``entry``: its user,
    project and request id go into the history row of the begin. It was
    authorized when it queued."""
    kwargs: dict[str, Any] = {"user_id": entry["user_id"],
                              "project_id": entry["project_id"]}
    if entry["request_id"]:
        kwargs["request_id"] = entry["request_id"]
    return get_admin_context(**kwargs)


def _reason(entry: Mapping[str, Any]) -> str:
    queued = "queued at %s" % entry["created_at"].isoformat()
    return "%s: %s" % (queued, entry["reason"]) if entry["reason"] else queued


def notify_dropped(entry: Mapping[str, Any], why: str) -> None:
    """Log and notify that a queued action left its queue unstarted."""
    LOG.warning("Instance %s: queued %s (requested by %s) dropped: %s",
                entry["instance_uuid"], entry["action"],
                entry["user_id"], why)
    notifications.queue_dropped(entry, why)
