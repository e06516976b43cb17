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

"""Reports of progress by workers that are not :class:`~.tasks.Task`
objects: the REST ``PATCH`` of a compute service.

A report is a compare-and-swap, and it is *fenced*: a stale worker (its
task preempted by an evacuation, a delete, a reset) must not end or
change the task that replaced its own. A worker proves it is the task's
owner the way a :class:`~.tasks.Task` checkpoint does, by the task's id
(``expected.task_id``, from the 202 of the action or the instance view),
or by the instance's ``version`` as it read it (nobody changed the
instance since). A task_state alone proves nothing: two tasks of two
actions can share one (a rebuild and the evacuation that took it over
are both ``rebuilding``). So:

* ``expected`` is required: an unconditional write is what an admin's
  reset is for (:mod:`vmstate.lifecycle.reset`, audited with a reason);
* a report that changes ``vm_state`` or ``task_state`` and could meet a
  running task (its ``expected`` does not say "no task": ``task_state``
  or ``task_id`` ``None``) must name ``task_id`` or ``version``;
* a report that reaches ``deleted`` ends the task there, and nothing
  changes a deleted instance (the store refuses it).
"""

from collections.abc import Mapping
from typing import Any

from vmstate import exception
from vmstate.context import RequestContext
from vmstate.db import api as db_api

#: The history action of a worker's report.
UPDATE = "update"

#: The keys that prove the reporter owns the task it changes.
FENCES = ("task_id", "version")

#: The values whose change may change or end a running task.
TASK_VALUES = ("vm_state", "task_state")


def _no_task(expected: Mapping[str, Any]) -> bool:
    """Whether ``expected`` admits only an instance with no task."""
    for key in ("task_state", "task_id"):
        if key in expected and expected[key] is None:
            return True
    return False


def check_fenced(values: Mapping[str, Any],
                 expected: Mapping[str, Any] | None) -> None:
    """Refuse a report that is not fenced as the module says.

    :raises Invalid: no ``expected``, or a change of the task's states
        that names neither ``task_id`` nor ``version``.
    """
    if not expected:
        raise exception.Invalid(
            "expected is required: a report is a compare-and-swap on what "
            "the worker last saw (expected.task_id or expected.version); "
            "an unconditional change is an admin's reset "
            "(POST /v1/instances/{uuid}/reset)")
    if (any(k in values for k in TASK_VALUES) and not _no_task(expected)
            and not any(k in expected for k in FENCES)):
        raise exception.Invalid(
            "A change of vm_state or task_state that may meet a running "
            "task must name it: expected.task_id (the task's id, from the "
            "202 of its action or the instance view) or expected.version; "
            "a task_state alone does not tell one task from another")


def update(context: RequestContext, uuid: str, values: Mapping[str, Any],
           expected: Mapping[str, Any] | None,
           reason: str | None = None) -> dict[str, Any]:
    """Apply a worker's report, fenced (see the module docstring).

    :param values: new ``vm_state``, ``task_state``, ``power_state``,
        ``fault`` (as :func:`vmstate.db.api.transition`).
    :param expected: ``vm_state``, ``task_state``, ``task_id``,
        ``version``, ``power_state`` the instance must have.
    :returns: the instance after the change, with ``"event"``.
    :raises Invalid: unfenced (see :func:`check_fenced`), or bad values.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises StateConflict: the instance is not as expected, or deleted;
        nothing changed.
    """
    check_fenced(values, expected)
    return db_api.transition(context, uuid, values, expected=expected,
                             action=UPDATE, reason=reason)
