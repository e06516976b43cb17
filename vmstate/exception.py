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

"""vmstate's exceptions: few, specific, each carrying its HTTP meaning.

Every exception that can reach a caller knows its HTTP ``code`` and the
Nova fault name of its body, and :meth:`VMStateError.fault_body` renders
it, so the REST API, the middleware and the fake compute service answer
with one formatter. Extra details (the action, the states, expected and
actual) travel as attributes and are part of the body.

Hierarchy::

    VMStateError
     +-- MatrixError              bad matrix configuration (at start)
     +-- Invalid                  400 badRequest
     |    +-- UnknownAction
     +-- Forbidden                403 forbidden
     +-- NotFound                 404 itemNotFound
     |    +-- InstanceNotFound
     +-- Conflict                 409 conflictingRequest
     |    +-- StateConflict       expected against actual
     |         +-- InstanceInvalidState   the action is not allowed now
     |         +-- TaskAborted    a checkpoint found its task preempted
     +-- RequestTooLarge          413 requestEntityTooLarge
     +-- ServiceUnavailable       503 serviceUnavailable
"""

from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any
from typing import ClassVar


class VMStateError(Exception):
    """Base of every vmstate error; carries an HTTP code and fault name."""

    code: ClassVar[int] = 500
    fault: ClassVar[str] = "computeFault"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def fault_body(self) -> dict[str, dict[str, Any]]:
        """The Nova-style body: ``{fault: {"code", "message", details}}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body.update(self.details)
        return {self.fault: body}


class MatrixError(VMStateError):
    """The configured matrix plugins cannot produce a valid matrix.

    Raised at load time, never per request: a service with a bad matrix
    must not start.
    """


class Invalid(VMStateError):
    code = 400
    fault = "badRequest"


class UnknownAction(Invalid):
    def __init__(self, action: str, known: Iterable[str] = ()) -> None:
        known = sorted(known)
        msg = "Unknown action %r" % (action,)
        if known:
            msg += "; known actions: %s" % ", ".join(known)
        super().__init__(msg)
        self.action = action


class Forbidden(VMStateError):
    code = 403
    fault = "forbidden"


class NotFound(VMStateError):
    code = 404
    fault = "itemNotFound"


class InstanceNotFound(NotFound):
    def __init__(self, uuid: str) -> None:
        super().__init__("Instance %s could not be found." % uuid)
        self.uuid = uuid


class Conflict(VMStateError):
    code = 409
    fault = "conflictingRequest"


class StateConflict(Conflict):
    """A compare-and-swap found the instance not as expected.

    ``expected`` is what the caller required, ``actual`` what the row held
    when the compare failed (both mappings of state attributes).
    """

    def __init__(self, uuid: str, expected: Mapping[str, Any],
                 actual: Mapping[str, Any], message: str | None = None
                 ) -> None:
        if message is None:
            message = ("Instance %s is not in the expected state: expected "
                       "%s, actual %s" % (uuid, _fmt(expected), _fmt(actual)))
        super().__init__(message, expected=dict(expected),
                         actual=dict(actual))
        self.uuid = uuid
        self.expected = dict(expected)
        self.actual = dict(actual)


class InstanceInvalidState(StateConflict):
    """The action may not start from the instance's current state.

    The message is Nova's, word for word, so that clients showing it to
    users need no change: it names the vm_state, or the task_state when the
    vm_state would allow the action but the running task does not.
    """

    def __init__(self, action: str, uuid: str, vm_state: str | None,
                 task_state: str | None, allowed_actions: Iterable[str] = (),
                 attribute: str = "vm_state") -> None:
        value = {"vm_state": vm_state, "task_state": task_state}.get(
            attribute)
        message = "Cannot '%s' instance %s while it is in %s %s" % (
            action, uuid, attribute, value)
        actual = {"vm_state": vm_state, "task_state": task_state}
        super().__init__(uuid, {"action": action}, actual, message=message)
        self.action = action
        self.vm_state = vm_state
        self.task_state = task_state
        self.attribute = attribute
        self.allowed_actions = sorted(allowed_actions)
        # The REST contract's 409 names these at the top of the fault.
        self.details = {
            "action": action,
            "vm_state": vm_state,
            "task_state": task_state,
            "allowed_actions": self.allowed_actions,
        }


class TaskAborted(StateConflict):
    """A task's checkpoint found that someone else changed the instance.

    The worker must stop and clean up: the change that preempted it (a
    delete, a reset) has already been recorded and must not be overwritten.
    """

    def __init__(self, uuid: str, action: str, expected: Mapping[str, Any],
                 actual: Mapping[str, Any]) -> None:
        message = ("Task %s on instance %s was preempted: expected %s, "
                   "actual %s" % (action, uuid, _fmt(expected), _fmt(actual)))
        super().__init__(uuid, expected, actual, message=message)
        self.action = action


class RequestTooLarge(VMStateError):
    code = 413
    fault = "requestEntityTooLarge"


class OverLimit(VMStateError):
    """Too many requests of a kind at once (429, Nova's ``overLimit``);
    ``retry_after`` seconds is when to try again (``Retry-After``)."""

    code = 429
    fault = "overLimit"

    def __init__(self, message: str, retry_after: int, **details: Any
                 ) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class ServiceUnavailable(VMStateError):
    code = 503
    fault = "serviceUnavailable"


class UnsupportedMediaType(Invalid):
    """A request body that is not JSON (415, Nova's ``badMediaType``)."""

    code = 415
    fault = "badMediaType"


class EventBusError(ServiceUnavailable):
    """The configured event bus cannot work (an unknown driver, a driver
    that does not fit the database)."""


class StartError(VMStateError):
    """A process cannot serve; the message says why and what to do (the
    commands print it on one line and exit 1)."""


def _fmt(values: Mapping[str, Any]) -> str:
    return ", ".join("%s=%s" % (k, values[k]) for k in sorted(values)) or "-"
