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


"""Tasks: starting an action, proving progress, and ending it.

:func:`begin` checks the matrix and starts the action in one
compare-and-swap and returns a :class:`Task`. A long task calls
:meth:`Task.checkpoint` between steps: the checkpoint is a CAS on the
task's id and current task_state, so a worker whose instance was taken
over (deleted while its image downloaded, reset by an admin, preempted
by a newer task) learns it at its next step, by :class:`TaskAborted`,
instead of overwriting the newer decision when it finishes.
:meth:`Task.finish` and :meth:`Task.fail` end the task with the same CAS.

A worker in another process takes over a running task with :func:`adopt`
(for instance the build task every instance created with a task_state
has).
"""

from collections.abc import Mapping
import functools
from types import TracebackType
from typing import Any
from typing import Literal

from oslo_log import log as logging
from oslo_utils import timeutils

from vmstate import exception
from vmstate import states
from vmstate.context import RequestContext
from vmstate.db import api as db_api
from vmstate.db import cas
from vmstate.db.conditions import AllowedCells
from vmstate.matrix import ActionDef
from vmstate.matrix import Matrix
from vmstate.matrix import loader

LOG = logging.getLogger(__name__)

#: What the build task of a new instance does. It is no action of the
#: matrix (nobody "starts" a creation from a state); a matrix plugin that
#: declares a ``create`` action overrides it.
BUILD = ActionDef(db_api.CREATE, begins=states.SCHEDULING,
                  completes=states.ACTIVE, fails_to=states.ERROR)

# How often begin tries again when the instance changed between its UPDATE
# and the read that explains the miss, back into a state that allows the
# action: the race was lost to a change that is already undone.
_BEGIN_ATTEMPTS = 3

_UNSET: Any = object()


@functools.lru_cache(maxsize=1024)
def allowed_cells(matrix: Matrix, action: str) -> AllowedCells:
    """The matrix's cells for ``action`` as the db layer takes them.

    :raises UnknownAction: when the matrix has no such action.
    """
    return AllowedCells.of(matrix.action_cells(action), matrix.vm_states,
                           matrix.task_states)


def begin(context: RequestContext, uuid: str, action: str,
          matrix: Matrix | None = None,
          reason: str | None = None,
          expected: Mapping[str, Any] | None = None,
          claim: Any = None) -> "Task":
    """Start ``action`` on instance ``uuid``, atomically, and return its task.

    The instance must be in a cell where the matrix allows ``action``; the
    check and the start are one UPDATE. The action's task_state (if it has
    one) is set and a new task id issued; a task that was running is
    preempted. Every way of starting an action goes through here: a
    request, a reservation, a queued action, a timeout's retry.

    :param matrix: the matrix to obey (default: the process's).
    :param expected: values the instance must still have, compared in the
        same UPDATE (see :func:`vmstate.db.api.begin`): a ``version``
        makes the start conditional on nobody having changed the
        instance since it was read.
    :param claim: work that must commit with the start, or neither does
        (see :func:`vmstate.db.api.begin`).
    :raises UnknownAction: the matrix has no such action.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises InstanceInvalidState: the action may not start from the
        instance's state (Nova's 409 message, with ``allowed_actions``).
    :raises StateConflict: the instance is not as ``expected``.
    :raises Conflict: the ``claim`` failed; nothing was started.

    An action that needs a launched instance (``needs_launched``,
    Nova's ``must_have_launched``) begins only on one that launched once,
    checked in the same UPDATE; on one that never did it is refused
    naming ``launched_at``.

    An action whose definition names an ``unlaunched`` substitute
    (Nova's ``soft_delete``: ``delete``) begins only on an instance that
    launched; on one that never did, the substitute begins instead (its
    history row names the substitute and why). Each is one UPDATE that
    checks the instance's history in its WHERE clause.
    """
    matrix = matrix or loader.get()
    definition = matrix.definition(action)
    substitute = definition.unlaunched
    if substitute is None or substitute not in matrix.actions:
        # Nova's must_have_launched: the same UPDATE checks the history.
        return _begin(context, uuid, definition, matrix, reason, expected,
                      claim, True if definition.needs_launched else None)
    try:
        return _begin(context, uuid, definition, matrix, reason, expected,
                      claim, True)
    except exception.InstanceInvalidState as refusal:
        why = "%s of an instance that never launched" % action
        try:
            return _begin(context, uuid, matrix.definition(substitute),
                          matrix, "%s: %s" % (why, reason) if reason
                          else why, expected, claim, False)
        except exception.InstanceInvalidState:
            raise refusal from None


def _begin(context: RequestContext, uuid: str, definition: ActionDef,
           matrix: Matrix,
           reason: str | None, expected: Mapping[str, Any] | None,
           claim: Any, launched: bool | None) -> "Task":
    action = definition.name
    allowed = allowed_cells(matrix, action)
    for attempt in range(1, _BEGIN_ATTEMPTS + 1):
        try:
            instance = db_api.begin(context, uuid, action, allowed,
                                    definition.begins, reason=reason,
                                    expected=expected, claim=claim,
                                    launched=launched)
        except exception.StateConflict as err:
            if expected and not _as_expected(expected, err.actual):
                raise
            vm_state: str = err.actual["vm_state"]
            task_state: str | None = err.actual["task_state"]
            admitted = allowed.admits(vm_state, task_state)
            # An admitted cell with a launch condition: the history may
            # have said no (an answer), or the state changed under the
            # UPDATE (a race to retry); the history tells which.
            never = admitted and launched is not None and (
                _launched(context, uuid) != launched)
            if admitted and not never and attempt < _BEGIN_ATTEMPTS:
                continue
            raise matrix.refusal(action, uuid, vm_state, task_state,
                                 launched=not never) from None
        return Task(context, instance, definition,
                    owns_task=definition.begins is not None)
    raise AssertionError("unreachable")  # pragma: no cover


def _launched(context: RequestContext, uuid: str) -> bool:
    """Whether the instance ever launched (read only to explain a
    refused begin)."""
    try:
        return bool(db_api.instance_get(context, uuid,
                                        with_launched=True)["launched"])
    except exception.InstanceNotFound:
        return True


def _as_expected(expected: Mapping[str, Any],
                 actual: Mapping[str, Any]) -> bool:
    """Whether ``actual`` has every ``expected`` value (lists: any of)."""
    for key, value in expected.items():
        if key not in actual:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            if actual[key] not in value:
                return False
        elif actual[key] != value:
            return False
    return True


def adopt(context: RequestContext, uuid: str, task_id: str | None = None,
          matrix: Matrix | None = None) -> "Task":
    """A handle on the task running on ``uuid`` (started elsewhere).

    :param task_id: the task the caller was sent to carry out; when given,
        any other task (or none) means that one is over.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises TaskAborted: no task runs on the instance, or not ``task_id``.
    """
    instance = db_api.instance_get(context, uuid)
    running = instance["task_id"]
    if running is None or (task_id is not None and running != task_id):
        raise exception.TaskAborted(
            uuid, instance["task_action"] or "task",
            {"task_id": task_id or states.ANY},
            {"vm_state": instance["vm_state"],
             "task_state": instance["task_state"], "task_id": running})
    definition = _definition(matrix or loader.get(),
                             instance["task_action"], instance["task_state"])
    return Task(context, instance, definition, owns_task=True)


def _definition(matrix: Matrix, action: str | None,
                task_state: str | None) -> ActionDef:
    if action is not None and action in matrix.actions:
        return matrix.definition(action)
    if action == BUILD.name:
        return BUILD
    # Started by a plain state update (no matrix action): it completes
    # nowhere in particular and fails to error.
    return ActionDef(action or "task", begins=task_state)


class Task:
    """One action under way on one instance.

    ``instance`` is the instance as of the last successful step. When the
    action runs a task (``task_id`` is set), every step is a CAS on the
    task's id and task_state; an action without a task (attach_volume,
    confirm_resize) owns nothing, and its finish or failure is a CAS on the
    state it started from.

    As a context manager: a normal exit finishes the task (if not ended
    already); an exception fails it (``Exception`` subclasses only: a
    process being stopped leaves the task to its timeout), unless the
    exception is this task's :class:`TaskAborted` or the failure's own
    CAS finds the instance taken over: a newer decision is never
    overwritten. The exception always propagates.
    """

    def __init__(self, context: RequestContext, instance: Mapping[str, Any],
                 definition: ActionDef, owns_task: bool) -> None:
        self.context = context
        self.instance: dict[str, Any] = cas.Changed.of(instance)
        self.definition = definition
        self.uuid: str = instance["uuid"]
        self.action = definition.name
        self.task_id: str | None = (instance["task_id"] if owns_task
                                    else None)
        self.task_state: str | None = instance["task_state"]
        self.ended = False
        # Where a task-less action started: its finish expects it still.
        self._origin = {"vm_state": instance["vm_state"],
                        "task_state": instance["task_state"]}
        # The state begin found, from the history row it wrote: what
        # release() puts back.
        event = instance.get("event") or {}
        self._before: dict[str, Any] | None = (
            dict(event["from"]) if event.get("version") ==
            instance["version"] and event.get("from") else None)
        self._begun_version: int = instance["version"]

    def __repr__(self) -> str:
        return "<Task %s on %s task_id=%s task_state=%s>" % (
            self.action, self.uuid, self.task_id, self.task_state)

    # -- steps -------------------------------------------------------------

    def checkpoint(self, next_task_state: str | None = None
                   ) -> dict[str, Any]:
        """Prove the task still owns the instance; optionally advance it.

        Without ``next_task_state`` only the heartbeat is refreshed (no new
        version, no history); with it the task moves on (a transition).

        :raises TaskAborted: someone else changed the instance; stop, clean
            up, and do not finish.
        :raises Invalid: the action runs no task.
        """
        if self.task_id is None or self.task_state is None:
            raise exception.Invalid(
                "%s runs no task; there is nothing to checkpoint"
                % self.action)
        try:
            instance = db_api.checkpoint(
                self.context, self.uuid, self.task_id, self.task_state,
                next_task_state, action=self.action)
        except exception.TaskAborted:
            self.ended = True
            raise
        self._update(instance)
        return instance

    def finish(self, vm_state: str | None = _UNSET,
               power_state: int | None = None) -> dict[str, Any]:
        """Complete the action and clear its task.

        :param vm_state: the vm_state reached (default:
            :meth:`completes_in`; ``None``: unchanged).
        :param power_state: the power state observed, if known.
        :raises TaskAborted: someone else changed the instance meanwhile;
            nothing was written.
        """
        target = self.completes_in() if vm_state is _UNSET else vm_state
        values: dict[str, Any] = {}
        if target is not None:
            values["vm_state"] = target
        if power_state is not None:
            values["power_state"] = power_state
        return self._end(values, reason=None)

    def completes_in(self) -> str | None:
        """The vm_state the action completes in, by the matrix's
        completion rule (:class:`vmstate.matrix.ActionDef`): its
        ``completes``, or the vm_state the operation began in when the
        rule resumes that one (a rebuild of a stopped server ends
        stopped). ``None``: the vm_state is left as it is.
        """
        definition = self.definition
        if not definition.resumes:
            return definition.completes
        if definition.origin:
            origin = db_api.origin_vm_state(self.context, self.uuid,
                                            definition.origin)
        else:
            origin = self._origin["vm_state"]
        return definition.completion(origin)

    def fail(self, error: BaseException | str,
             vm_state: str | None = _UNSET) -> dict[str, Any]:
        """Record ``error`` as the instance's fault and end the task.

        :param vm_state: the vm_state to move to (default: the action's
            ``fails_to``, usually ``error``; ``None``: unchanged).
        :raises TaskAborted: someone else changed the instance meanwhile;
            nothing was written (their decision stands).
        """
        target = self.definition.fails_to if vm_state is _UNSET else vm_state
        kind = (type(error).__name__ if isinstance(error, BaseException)
                else "Error")
        message = str(error) or kind
        fault = {"type": kind, "message": message, "action": self.action,
                 "task_state": self.task_state,
                 "created_at": timeutils.utcnow().isoformat()}
        values: dict[str, Any] = {"fault": fault}
        if target is not None:
            values["vm_state"] = target
        return self._end(values, reason="%s: %s" % (kind, message))

    def release(self, reason: str | None = None) -> dict[str, Any]:
        """Give back a task that was begun but will not be carried out.

        For reservations: the compute guard begins the action before the
        compute service runs, and releases it when the service refuses the
        request. The instance returns to the vm_state and task_state
        ``begin`` found, with the same compare-and-swap as every step, so
        a newer decision (a delete that came meanwhile) is never undone.
        A task the begin preempted is put back with its own task id
        (:func:`vmstate.db.api.release`): its worker goes on as if the
        reservation had never been made.

        :raises Invalid: the task was not begun by :func:`begin` here.
        :raises TaskAborted: someone else changed the instance meanwhile;
            nothing was written.
        """
        if self._before is None:
            raise exception.Invalid(
                "only a task begun by this process can be released")
        if self.task_id is None:
            # A task-less action changed no state: nothing to give back.
            self.ended = True
            return self.instance
        try:
            instance = db_api.release(
                self.context, self.uuid, self.task_id, self.task_state,
                self._begun_version, action=self.action,
                reason=reason or "released")
        except exception.StateConflict as err:
            self.ended = True
            if isinstance(err, exception.TaskAborted):
                raise
            raise exception.TaskAborted(self.uuid, self.action,
                                        err.expected, err.actual) from None
        self.ended = True
        self._update(instance)
        return instance

    # -- internals ---------------------------------------------------------

    def _end(self, values: dict[str, Any], reason: str | None
             ) -> dict[str, Any]:
        if self.task_id is not None:
            values["task_state"] = None
            expected = {"task_id": self.task_id,
                        "task_state": self.task_state}
        else:
            if not values:
                # A task-less action that changes nothing when it
                # completes (attach_volume): begin recorded it all.
                self.ended = True
                return self.instance
            expected = dict(self._origin)
        try:
            instance = db_api.transition(self.context, self.uuid, values,
                                         expected=expected,
                                         action=self.action, reason=reason)
        except exception.TaskAborted:
            self.ended = True
            raise
        except exception.StateConflict as err:
            self.ended = True
            raise exception.TaskAborted(self.uuid, self.action,
                                        err.expected, err.actual) from None
        self.ended = True
        self._update(instance)
        return instance

    def _update(self, instance: Mapping[str, Any]) -> None:
        self.instance = cas.Changed.of(instance)
        self.task_state = instance["task_state"]

    # -- context manager ----------------------------------------------------

    def __enter__(self) -> "Task":
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        if self.ended:
            return False
        if exc is None:
            self.finish()
            return False
        if not isinstance(exc, Exception):
            return False
        if isinstance(exc, exception.TaskAborted) and exc.uuid == self.uuid:
            self.ended = True
            return False
        try:
            self.fail(exc)
        except exception.StateConflict as err:
            # Preempted before the failure could be recorded: the newer
            # change stands, and the caller gets its own exception.
            LOG.info("Task %s on %s was preempted; its failure (%s) is "
                     "not recorded: %s", self.action, self.uuid, exc, err)
        except Exception:
            LOG.exception("Could not record the failure of task %s on %s",
                          self.action, self.uuid)
        return False
