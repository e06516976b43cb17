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


"""Task timeouts: how long a task_state may go without progress, and what
happens then (Mozilla lifeguard's per-state timeouts and
permanent-failure counts; Heat's "every operation needs a timeout and a
periodic sign of progress").

A task times out when its heartbeat (its start, a checkpoint, a change of
task_state) is older than its task_state's timeout. The timeouts come,
per task_state, from ``[lifecycle] task_timeouts``, else from the matrix
plugins (:meth:`vmstate.matrix.Builder.timeout`), else from ``[lifecycle]
default_task_timeout`` (0: none). Each has a reaction:

``error``
    vm_state ``error``, the task cleared, a ``TaskTimeout`` fault.
``clear``
    the task cleared, the vm_state kept, a ``TaskTimeout`` fault.
``retry``
    the task cleared (a fault saying so), then its action begun again
    through :func:`vmstate.lifecycle.begin`, conditional on nobody having
    changed the instance in between: a new task, from the action's first
    task_state. When the action cannot start again from the instance's
    vm_state (or is no action of the matrix, like a build), the timeout
    reacts as ``error`` instead.

Every timeout of a step (instance and task_state) counts in the database;
the one that brings the count to ``max_failures`` puts the instance in
error whatever the reaction, with a ``PermanentFailure`` fault that says
which step failed how many times. The count starts again when the step
succeeds.
"""

from collections.abc import Iterator
from collections.abc import Mapping
import dataclasses
import datetime
import functools
from typing import Any

from oslo_log import log as logging
from oslo_utils import timeutils

from vmstate import exception
from vmstate import states
from vmstate.conf import CONF
from vmstate.conf.lifecycle import parse_timeout
from vmstate.context import RequestContext
from vmstate.context import get_admin_context
from vmstate.db import heartbeats
from vmstate.lifecycle import tasks
from vmstate.matrix import Matrix
from vmstate.matrix import loader

LOG = logging.getLogger(__name__)

#: Fault types.
TASK_TIMEOUT = "TaskTimeout"
PERMANENT_FAILURE = "PermanentFailure"

#: Outcomes of :func:`fire`.
FIRED = "fired"
LOST = "lost"


@dataclasses.dataclass(frozen=True)
class Timeout:
    """The effective timeout of one task_state.

    ``source`` says where it comes from: ``config``, ``plugin <name>`` or
    ``default``.
    """

    task_state: str
    seconds: float
    reaction: str
    max_failures: int
    source: str


class Policy(Mapping[str, Timeout]):
    """Every task_state's effective timeout (a read-only mapping)."""

    def __init__(self, timeouts: Mapping[str, Timeout]) -> None:
        self._timeouts = dict(timeouts)

    def __getitem__(self, task_state: str) -> Timeout:
        return self._timeouts[task_state]

    def __iter__(self) -> Iterator[str]:
        return iter(self._timeouts)

    def __len__(self) -> int:
        return len(self._timeouts)

    def groups(self) -> list[tuple[float, tuple[str, ...]]]:
        """``(seconds, task_states)`` for each distinct timeout: one
        index range query each."""
        by_seconds: dict[float, list[str]] = {}
        for timeout in self._timeouts.values():
            by_seconds.setdefault(timeout.seconds, []).append(
                timeout.task_state)
        return [(seconds, tuple(sorted(names)))
                for seconds, names in sorted(by_seconds.items())]


def policy(matrix: Matrix | None = None) -> Policy:
    """The effective timeouts of ``matrix`` (default: the process's) under
    the current configuration.

    :raises MatrixError: ``[lifecycle] task_timeouts`` names a task_state
        the matrix does not know (the service must not start).
    :raises ConfigFileValueError: a malformed ``task_timeouts`` value.
    """
    matrix = matrix or loader.get()
    opts = CONF.lifecycle
    configured = tuple(sorted(opts.task_timeouts.items()))
    return _policy(matrix, configured, float(opts.default_task_timeout),
                   opts.default_timeout_reaction, int(opts.max_failures))


@functools.lru_cache(maxsize=32)
def _policy(matrix: Matrix, configured: tuple[tuple[str, str], ...],
            default_seconds: float, default_reaction: str,
            max_failures: int) -> Policy:
    unknown = sorted(name for name, _ in configured
                     if name not in matrix.task_states)
    if unknown:
        raise exception.MatrixError(
            "[lifecycle] task_timeouts names task_state(s) the matrix "
            "does not know: %s (known: %s)" % (
                ", ".join(unknown), ", ".join(matrix.task_states)))
    found: dict[str, Timeout] = {}
    if default_seconds > 0:
        for name in matrix.task_states:
            found[name] = Timeout(name, default_seconds, default_reaction,
                                  max_failures, "default")
    for name, declared in matrix.timeouts.items():
        found[name] = Timeout(
            name, declared.seconds, declared.reaction,
            declared.max_failures or max_failures,
            "plugin %s" % declared.plugin)
    for name, value in configured:
        spec = parse_timeout(value)
        found[name] = Timeout(name, spec.seconds,
                              spec.reaction or default_reaction,
                              spec.max_failures or max_failures, "config")
    return Policy(found)


@dataclasses.dataclass
class Fired:
    """What one attempt to fire a timeout did.

    ``outcome`` is :data:`FIRED` or :data:`LOST` (another sweeper, or the
    worker, got there first). For a fired timeout: ``reaction`` is what
    happened (``error`` also when the count reached ``max_failures`` or a
    retry was impossible), ``failures`` the step's count, ``instance`` the
    instance after, and ``retried`` the new task of a retry (``None``
    when the retry lost a race and was abandoned).
    """

    uuid: str
    task_state: str
    outcome: str
    reaction: str | None = None
    failures: int = 0
    instance: dict[str, Any] | None = None
    retried: tasks.Task | None = None


def retry_refusal(matrix: Matrix, action: str | None,
                  vm_state: str) -> str | None:
    """Why ``action`` cannot begin again from ``vm_state``, or ``None``."""
    if action is None or action not in matrix.actions:
        return "%s is no action of the matrix" % (action or "the task",)
    if not matrix.is_allowed(action, vm_state, None):
        return "%s may not start from vm_state %s" % (action, vm_state)
    return None


def fire(context: RequestContext, expired: Mapping[str, Any],
         timeout: Timeout,
         now: datetime.datetime | None = None,
         matrix: Matrix | None = None) -> Fired:
    """Fire the timeout of the task in ``expired`` (a row of
    :func:`vmstate.db.heartbeats.expired`), exactly once across sweepers.

    The compare-and-swap expects the task's id, task_state and a
    heartbeat no newer than ``now - timeout.seconds``; a lost race is an
    outcome, not an error.

    :raises DBError: the database failed after retries (nothing changed).
    """
    matrix = matrix or loader.get()
    now = now or timeutils.utcnow()
    uuid = expired["uuid"]
    task_state = expired["task_state"]
    action = expired["task_action"]
    cutoff = now - datetime.timedelta(seconds=timeout.seconds)
    chosen: dict[str, Any] = {}

    def decide(count: int) -> tuple[dict[str, Any], str]:
        reaction = timeout.reaction
        waited = (now - expired["task_heartbeat_at"]).total_seconds()
        message = ("Task %s made no progress in task_state %s for %d s "
                   "(timeout %g s; %d of %d in a row)" % (
                       action, task_state, waited, timeout.seconds, count,
                       timeout.max_failures))
        kind = TASK_TIMEOUT
        if count >= timeout.max_failures:
            reaction = states.TIMEOUT_ERROR
            kind = PERMANENT_FAILURE
            message = ("Step %s of %s timed out %d times in a row (limit "
                       "%d): permanent failure" % (
                           task_state, action, count, timeout.max_failures))
        elif reaction == states.TIMEOUT_RETRY:
            refusal = retry_refusal(matrix, action, expired["vm_state"])
            if refusal is not None:
                reaction = states.TIMEOUT_ERROR
                message += "; cannot retry: %s" % refusal
        message += "; reaction: %s" % reaction
        fault = {"type": kind, "message": message, "action": action,
                 "task_state": task_state, "failures": count,
                 "max_failures": timeout.max_failures,
                 "timeout": timeout.seconds, "reaction": reaction,
                 "created_at": now.isoformat()}
        values: dict[str, Any] = {"fault": fault}
        if reaction == states.TIMEOUT_ERROR:
            values["vm_state"] = states.ERROR
        chosen.update(reaction=reaction, count=count, message=message)
        return values, message

    try:
        instance = heartbeats.expire(
            context, uuid, expired["task_id"], task_state, action, cutoff,
            decide)
    except (exception.StateConflict, exception.InstanceNotFound) as err:
        LOG.debug("Timeout of %s on %s already handled: %s",
                  task_state, uuid, err)
        return Fired(uuid, task_state, LOST)
    reaction = chosen["reaction"]
    LOG.warning("Instance %s: %s", uuid, chosen["message"])
    fired = Fired(uuid, task_state, FIRED, reaction,
                  instance.get("failures", chosen["count"]), instance)
    if reaction == states.TIMEOUT_RETRY:
        fired.retried = _retry(context, instance, action, matrix, chosen)
    return fired


def _retry(context: RequestContext, instance: Mapping[str, Any],
           action: str,
           matrix: Matrix, chosen: Mapping[str, Any]) -> tasks.Task | None:
    """Begin ``action`` again, unless someone changed the instance first.
    """
    uuid = instance["uuid"]
    try:
        return tasks.begin(
            context, uuid, action, matrix=matrix,
            reason="retry after a timeout (%d in a row)" % chosen["count"],
            expected={"version": instance["version"]})
    except (exception.StateConflict, exception.InstanceNotFound,
            exception.UnknownAction) as err:
        LOG.warning("Instance %s: retry of %s abandoned, the instance "
                    "changed meanwhile: %s", uuid, action, err)
        return None


def sweeper_context() -> Any:
    """The admin context a sweeper acts with (every project's tasks)."""
    return get_admin_context()
