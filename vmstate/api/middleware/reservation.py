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

"""The guard's reservation: handed to the service, released on a bad end.

With ``[guard] reserve = true`` the compute guard begins the request's
action (:func:`vmstate.lifecycle.begin`, one compare-and-swap) before the
compute service runs. The begun task is then the service's: it is handed
over in the WSGI environ under :data:`ENVIRON_KEY` as a plain dict
(:func:`handoff`), and the service continues it instead of beginning the
action again, e.g.::

    reserved = environ.get("vmstate.reservation")
    if reserved is None:
        task = lifecycle.begin(context, uuid, action)
    elif reserved["task_id"] is None:
        task = None     # a task-less action: begin recorded it all
    else:
        task = lifecycle.adopt(context, uuid, task_id=reserved["task_id"])

so that one request begins one task (one ``begin`` row in the history).

The reservation stays with the service only when the service answered
with a success status (below 400) and its whole answer was produced. In
every other case it is released (:meth:`vmstate.lifecycle.Task.release`):
an error status, an exception raised by the service (when called or while
its answer is produced), an answer that ended without a status, or a
response closed before it was complete (the client went away). A release
is the lifecycle's compare-and-swap on the reservation's own task id and
task_state: once anything else changed the instance (a delete, a reset,
the service's worker moving the task on), it changes nothing.
"""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

from oslo_log import log as logging

from vmstate import exception
from vmstate import lifecycle

LOG = logging.getLogger(__name__)

#: The WSGI environ key under which the guard hands its reservation over.
ENVIRON_KEY = "vmstate.reservation"


def handoff(task: lifecycle.Task) -> dict[str, Any]:
    """What the service receives under :data:`ENVIRON_KEY`.

    ``{"uuid", "action", "task_id", "task_state", "vm_state", "version",
    "project_id"}``: the instance (lower-case uuid), the action begun, the
    task's id and task_state (both ``None`` for an action that runs no
    task, such as ``attach_volume``: its begin recorded everything), the
    vm_state and version the begin left, and the instance's project. A
    service continues the task with :func:`vmstate.lifecycle.adopt` and
    ``task_id``; the adoption fails (``TaskAborted``) when something newer
    took the instance over in between.
    """
    return {"uuid": task.uuid, "action": task.action,
            "task_id": task.task_id, "task_state": task.task_state,
            "vm_state": task.instance["vm_state"],
            "version": task.instance["version"],
            "project_id": task.instance["project_id"]}


class _Outcome:
    """How the request ends for the reservation; settles it once."""

    def __init__(self, task: lifecycle.Task) -> None:
        self.task = task
        self.code: int | None = None
        self.settled = False

    def status(self, status: str) -> None:
        try:
            self.code = int(status.split(None, 1)[0])
        except (ValueError, IndexError):
            self.code = None        # not a status: no success either

    def answered(self) -> None:
        """The whole answer was produced."""
        if self.code is None:
            self.release("the compute service gave no status")
        elif self.code >= 400:
            self.release("compute service answered %d" % self.code)
        else:
            self.settled = True     # the service's now

    def release(self, reason: str) -> None:
        if self.settled:
            return
        self.settled = True
        try:
            self.task.release(reason=reason)
        except exception.StateConflict as err:
            # Something else moved the instance on meanwhile: that newer
            # decision stands.
            LOG.info("Reservation of %s not released (%s): %s",
                     self.task.uuid, reason, err)
        except Exception:
            # The store failed: the task stays reserved until its timeout
            # or an admin reset; the request's own outcome is unchanged.
            LOG.exception("Reservation of %s could not be released (%s)",
                          self.task.uuid, reason)


class _Answer:
    """The service's answer, passed through; settles the outcome at its
    end: exhausted, raising, or closed early."""

    def __init__(self, app_iter: Iterable[bytes], outcome: _Outcome
                 ) -> None:
        self._app_iter = app_iter
        self._iter: Iterator[bytes] | None = None
        self._outcome = outcome

    def __iter__(self) -> "_Answer":
        return self

    def __next__(self) -> bytes:
        try:
            if self._iter is None:
                self._iter = iter(self._app_iter)
            return next(self._iter)
        except StopIteration:
            self._outcome.answered()
            raise
        except BaseException as err:
            self._outcome.release("compute service raised %s while "
                                  "answering" % type(err).__name__)
            raise

    def close(self) -> None:
        try:
            close = getattr(self._app_iter, "close", None)
            if close is not None:
                close()
        finally:
            self._outcome.release("the answer was not completed (the "
                                  "client went away)")


def serve(application: Callable[..., Iterable[bytes]],
          environ: dict[str, Any], start_response: Callable[..., Any],
          task: lifecycle.Task) -> Iterable[bytes]:
    """Call ``application`` with ``task`` handed over; release it unless
    the service accepts it (see the module's description).

    Exceptions of the service propagate unchanged, after the release.
    """
    environ[ENVIRON_KEY] = handoff(task)
    outcome = _Outcome(task)

    def _start_response(status: str, headers: list[tuple[str, str]],
                        exc_info: Any = None) -> Any:
        outcome.status(status)
        if exc_info is None:
            return start_response(status, headers)
        return start_response(status, headers, exc_info)

    try:
        app_iter = application(environ, _start_response)
    except BaseException as err:
        outcome.release("compute service raised %s" % type(err).__name__)
        raise
    if outcome.code is not None and outcome.code >= 400:
        # Known at once: give the instance back before the body is sent.
        outcome.release("compute service answered %d" % outcome.code)
    return _Answer(app_iter, outcome)
