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

"""The lifecycle engine's sub-resources of ``/v1/instances/{uuid}``.

``POST reset`` (Nova's os-resetState) and ``POST clear_error`` for admins,
``PUT power_state`` for observers, ``POST heartbeat`` for workers that
report progress over REST, ``DELETE queue`` to cancel queued actions;
and the answers of ``POST actions``, which may queue. Like every
controller: policy first, validation, one call into the lifecycle layer,
the view.
"""

from collections.abc import Callable
from typing import Any
from typing import ClassVar

import pecan

from vmstate.api import schemas
from vmstate.api import validation
from vmstate.api import views
from vmstate.api.controllers import common
from vmstate.context import RequestContext
from vmstate.db import action_queue
from vmstate.db import api as db_api
from vmstate.db import heartbeats
from vmstate.lifecycle import power
from vmstate.lifecycle import queue
from vmstate.lifecycle import reset
from vmstate.matrix import Matrix
from vmstate.matrix import loader

# Required here, and more than whitespace.
REASON = dict(schemas.REASON, minLength=1, pattern="\\S")

RESET_SCHEMA = {
    "type": "object",
    "properties": {
        "vm_state": {"type": "string", "enum": list(reset.RESET_VM_STATES)},
        "reason": REASON,
    },
    "required": ["vm_state", "reason"],
    "additionalProperties": False,
}

CLEAR_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"reason": REASON},
    "required": ["reason"],
    "additionalProperties": False,
}

HEARTBEAT_SCHEMA = {
    "type": "object",
    "properties": {
        "task_id": {"type": "string", "pattern": schemas.UUID_PATTERN},
        "task_state": {"type": "string", "minLength": 1, "maxLength": 255},
    },
    "required": ["task_id"],
    "additionalProperties": False,
}

POWER_STATE_SCHEMA = {
    "type": "object",
    "properties": {"power_state": schemas.POWER_STATE},
    "required": ["power_state"],
    "additionalProperties": False,
}


def with_queues(ctx: RequestContext, rows: list[dict[str, Any]]
                ) -> list[dict[str, Any]]:
    """``rows`` with their ``queue`` (one query for all of them)."""
    found = action_queue.entries(ctx, [r["uuid"] for r in rows])
    for row in rows:
        row["queue"] = found[row["uuid"]]
    return rows


def instance_view(ctx: RequestContext, row: dict[str, Any],
                  matrix: Matrix) -> dict[str, Any]:
    """The instance view, with its queue.

    A row a change returned says whether it had queued actions
    (:class:`vmstate.db.cas.Changed`): an empty queue is then not read.
    """
    plain = dict(row)
    launched = getattr(row, "launched", None)
    if launched is not None:
        plain["launched"] = launched
    if getattr(row, "queued", None) is False:
        return views.instance(dict(plain, queue=[]), matrix)
    return views.instance(with_queues(ctx, [plain])[0], matrix)


def action_result(ctx: RequestContext, uuid: str, requested: queue.Requested,
                  matrix: Matrix) -> dict[str, Any]:
    """The 202 body of ``POST actions``: the instance, and what was
    queued when the action did not start at once."""
    if requested.task is not None:
        return {"instance": instance_view(ctx, requested.task.instance,
                                          matrix)}
    row = db_api.instance_get(ctx, uuid)
    entry = requested.queued or {}
    return {
        "instance": instance_view(ctx, row, matrix),
        "queued": dict(
            views.queued(entry), position=requested.position,
            collapsed=requested.kind == queue.COLLAPSED,
            superseded=[e["action"] for e in requested.dropped]),
    }


#: What a sub-resource's change returns: the instance's row after it, and
#: what else the answer says.
Changed = tuple[Any, dict[str, Any]]


class _SubResource:
    """One sub-resource of an instance, answering one method: the policy
    rule first (with the instance's owner as the target), the body
    against its schema, one call into the lifecycle layer
    (:meth:`change`), the instance's view."""

    #: The one method it answers; any other answers 405 with ``Allow``.
    method = "POST"
    #: The policy rule the caller must pass.
    rule: str
    #: The body's schema; ``None``: the request has no body.
    schema: dict[str, Any] | None = None
    #: The generic controller InstanceController routes to (see
    #: __init_subclass__).
    index: ClassVar[Callable[..., None]]

    def __init__(self, uuid: str) -> None:
        self.uuid = uuid

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Pecan keeps a generic controller's handlers on its function, and
        # answers 405 with the methods registered there: each sub-resource
        # has an index of its own.

        @pecan.expose(generic=True, template="json")
        def index(self: _SubResource) -> None:
            pecan.abort(405)

        @index.when(method=cls.method, template="json")
        def answer(self: _SubResource) -> dict[str, Any]:
            return self.answer()

        cls.index = index

    def answer(self) -> dict[str, Any]:
        scoped, uuid, _row = common.authorize_instance(
            self.rule, pecan.request.context, self.uuid)
        body = (None if self.schema is None
                else validation.body(pecan.request, self.schema))
        matrix = loader.get()
        row, more = self.change(scoped, uuid, body, matrix)
        return {"instance": instance_view(scoped, row, matrix), **more}

    def change(self, scoped: Any, uuid: str, body: Any,
               matrix: Matrix) -> Changed:
        """Make the change (:data:`Changed`)."""
        raise NotImplementedError


class ResetController(_SubResource):
    """``POST /v1/instances/{uuid}/reset {"vm_state", "reason"}``."""

    rule = "vmstate:instance:reset_state"
    schema = RESET_SCHEMA

    def change(self, scoped: Any, uuid: str, body: Any,
               matrix: Matrix) -> Changed:
        return reset.reset_state(scoped, uuid, body["vm_state"],
                                 body["reason"], matrix=matrix), {}


class ClearErrorController(_SubResource):
    """``POST /v1/instances/{uuid}/clear_error {"reason"}``."""

    rule = "vmstate:instance:clear_error"
    schema = CLEAR_ERROR_SCHEMA

    def change(self, scoped: Any, uuid: str, body: Any,
               matrix: Matrix) -> Changed:
        return reset.clear_error(scoped, uuid, body["reason"],
                                 matrix=matrix), {}


class PowerStateController(_SubResource):
    """``PUT /v1/instances/{uuid}/power_state {"power_state"}``."""

    method = "PUT"
    rule = "vmstate:instance:power_state"
    schema = POWER_STATE_SCHEMA

    def change(self, scoped: Any, uuid: str, body: Any,
               matrix: Matrix) -> Changed:
        done = power.report(scoped, uuid, body["power_state"],
                            matrix=matrix)
        return done.instance, {"changed": done.changed,
                               "reaction": done.reaction}


class HeartbeatController(_SubResource):
    """``POST /v1/instances/{uuid}/heartbeat {"task_id", "task_state"?}``:
    a worker's sign of progress, which postpones its task's timeout; 409
    once that task is over (preempted, ended, timed out)."""

    rule = "vmstate:instance:update"
    schema = HEARTBEAT_SCHEMA

    def change(self, scoped: Any, uuid: str, body: Any,
               matrix: Matrix) -> Changed:
        return heartbeats.heartbeat(scoped, uuid, body["task_id"],
                                    body.get("task_state")), {}


class QueueController(_SubResource):
    """``DELETE /v1/instances/{uuid}/queue``: cancel queued actions."""

    method = "DELETE"
    rule = "vmstate:instance:queue:delete"

    def change(self, scoped: Any, uuid: str, body: Any,
               matrix: Matrix) -> Changed:
        removed = queue.cancel(scoped, uuid)
        return db_api.instance_get(scoped, uuid), {
            "cancelled": [views.queued(e) for e in removed]}


#: Path segment -> controller, for InstanceController's routing.
SUBRESOURCES = {
    "reset": ResetController,
    "clear_error": ClearErrorController,
    "power_state": PowerStateController,
    "heartbeat": HeartbeatController,
    "queue": QueueController,
}
