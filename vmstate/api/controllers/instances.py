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

"""``/v1/instances``: register, list, show, act, report and read history.

Each method checks policy first, validates its input, makes one call into
the lifecycle or database layer and renders the view. Project scoping is
done by the queries: another project's instance is simply not found.
"""

import functools
from typing import Any
from urllib import parse

import pecan

from vmstate import exception
from vmstate import lifecycle
from vmstate import states
from vmstate.api import capacity
from vmstate.api import policy
from vmstate.api import query_schemas
from vmstate.api import schemas
from vmstate.api import validation
from vmstate.api import views
from vmstate.api.controllers import common
from vmstate.api.controllers import subresources
from vmstate.conf import CONF
from vmstate.context import RequestContext
from vmstate.db import action_queue
from vmstate.db import api as db_api
from vmstate.lifecycle import queue
from vmstate.lifecycle import updates
from vmstate.matrix import loader

#: Set when vmstate-api stops: every long-poll wait ends at once (503)
#: instead of holding the shutdown for up to [api] max_wait.
STOPPING = lifecycle.Cancel()


def _context() -> RequestContext:
    # Set by hooks.ContextHook before any controller runs.
    ctx: RequestContext = pecan.request.context
    return ctx


def _schema(name: str) -> dict[str, Any]:
    return _schemas(loader.get())[name]


@functools.lru_cache(maxsize=4)
def _schemas(matrix: Any) -> dict[str, dict[str, Any]]:
    # Schemas enumerate the matrix's vocabulary: built once per matrix.
    built = {n: getattr(schemas, n)(matrix)
             for n in ("create", "action", "update")}
    built.update({"query:" + n: getattr(query_schemas, n)(matrix)
                  for n in ("instances", "wait")})
    return built


class InstanceController:
    """One instance: ``/v1/instances/{uuid}`` and its sub-resources."""

    # The only paths below an instance; handlers dispatch on the method.
    SUBRESOURCES = ("actions", "events", "wait")

    def __init__(self, uuid: str) -> None:
        self.uuid = uuid

    @pecan.expose()
    def _route(self, args: list[str], request: Any) -> Any:
        if not args or args == [""]:
            return self.index, []
        if len(args) == 1 and args[0] in self.SUBRESOURCES:
            return getattr(self, args[0]), []
        if len(args) == 1 and args[0] in subresources.SUBRESOURCES:
            return subresources.SUBRESOURCES[args[0]](self.uuid).index, []
        pecan.abort(404)

    @pecan.expose(generic=True, template="json")
    def index(self) -> None:
        pecan.abort(405)

    @index.when(method="GET", template="json")
    def show(self) -> dict[str, Any]:
        ctx = _context()
        # Found as the caller may see it, with its queue: one statement;
        # then the policy, with the instance's owner as the target.
        _scoped, _uuid, row = common.authorize_instance(
            "vmstate:instance:get", ctx, self.uuid,
            read=action_queue.instance_with_queue)
        return {"instance": views.instance(row, loader.get())}

    @index.when(method="PATCH", template="json")
    def patch(self) -> dict[str, Any]:
        ctx = _context()
        scoped, uuid = common.authorize_change(
            "vmstate:instance:update", ctx, self.uuid)
        body = validation.body(pecan.request, _schema("update"))
        row = updates.update(scoped, uuid, body["instance"],
                             body.get("expected"), reason=body.get("reason"))
        return {"instance": subresources.instance_view(ctx, row,
                                                       loader.get())}

    @pecan.expose(generic=True, template="json")
    def actions(self) -> None:
        pecan.abort(405)

    @actions.when(method="POST", template="json")
    def start_action(self) -> dict[str, Any]:
        ctx = _context()
        scoped, uuid = common.authorize_change(
            "vmstate:instance:action", ctx, self.uuid)
        body = validation.body(pecan.request, _schema("action"))
        matrix = loader.get()
        matrix.definition(body["action"])
        # Starts it now, or queues it if asked (or by default) and busy.
        requested = queue.request(
            scoped, uuid, body["action"], matrix=matrix,
            reason=body.get("reason"), queue=body.get("queue"))
        pecan.response.status = 202
        return subresources.action_result(scoped, uuid, requested, matrix)

    @pecan.expose(generic=True, template="json")
    def events(self) -> None:
        pecan.abort(405)

    @events.when(method="GET", template="json")
    def history(self) -> dict[str, Any]:
        ctx = _context()
        scoped, uuid, _row = common.authorize_instance(
            "vmstate:instance:events", ctx, self.uuid)
        params = validation.query(pecan.request, query_schemas.EVENTS)
        since = validation.integer(params, "since")
        # The marker is the version of the last event of the page before:
        # the same cursor as since, and both may be given.
        marker = validation.integer(params, "marker")
        max_limit = CONF.api.max_limit
        limit = validation.integer(params, "limit", maximum=max_limit)
        page = max_limit if limit is None else limit
        after = max(since or 0, marker or 0)
        rows = db_api.instance_events(scoped, uuid, since=after, limit=page)
        next_url = None
        if page and len(rows) == page:
            next_url = _next_link(params, str(rows[-1]["version"]))
        return {"events": [views.event(r) for r in rows], "next": next_url}

    @pecan.expose(generic=True, template="json")
    def wait(self) -> None:
        pecan.abort(405)

    @wait.when(method="GET", template="json")
    def long_poll(self) -> dict[str, Any]:
        """Wait for ``for`` vm_states in order, up to ``timeout`` seconds.

        A timeout above ``[api] max_wait`` (or none) is lowered to it. The
        request holds a server thread while it waits, but no database
        connection: it wakes on the event bus. Waits are counted
        (:mod:`vmstate.api.capacity`): beyond ``[api] max_waits`` in the
        process or ``[api] max_waits_per_project`` for the caller's
        project, 429 ``overLimit`` with ``Retry-After``.
        """
        ctx = _context()
        scoped, uuid, _row = common.authorize_instance(
            "vmstate:instance:wait", ctx, self.uuid)
        matrix = loader.get()
        params = validation.query(pecan.request,
                                  _schemas(matrix)["query:wait"])
        targets = params.getall("for")
        max_wait = CONF.api.max_wait
        timeout = validation.seconds(params, "timeout", maximum=max_wait)
        with capacity.WAITS.hold(ctx.project_id, CONF.api.max_waits,
                                 CONF.api.max_waits_per_project):
            result = lifecycle.wait_for(
                scoped, uuid, targets,
                max_wait if timeout is None else timeout, cancel=STOPPING,
                matrix=matrix)
        if result.status == lifecycle.waits.CANCELLED:
            raise exception.ServiceUnavailable(
                "vmstate-api is stopping; wait again")
        # The same view as GET shows: the wait's instance carries its
        # queue, read once per version for all the waits it woke.
        return views.wait_result(result, views.instance(result.instance,
                                                        matrix))


class InstancesController:
    """``/v1/instances``: the collection."""

    @pecan.expose(generic=True, template="json")
    def index(self) -> None:
        pecan.abort(405)

    @index.when(method="GET", template="json")
    def get_all(self) -> dict[str, Any]:
        ctx = _context()
        matrix = loader.get()
        params = validation.query(pecan.request,
                                  _schemas(matrix)["query:instances"])
        filters: dict[str, Any] = {}
        vm_states = params.getall("vm_state")
        if vm_states:
            filters["vm_state"] = vm_states
        task_states = params.getall("task_state")
        if task_states:
            # An empty value asks for instances with no task running.
            filters["task_state"] = [v or None for v in task_states]
        project_id = params.get("project_id")
        # The target is the project listed: the caller's own, or the one
        # it filters by (which needs every project's view).
        policy.authorize("vmstate:instance:list", ctx, {
            "project_id": ctx.project_id if project_id is None
            else project_id})
        if project_id is not None:
            policy.authorize("vmstate:instance:list:all_projects", ctx,
                             {"project_id": project_id})
            filters["project_id"] = project_id
        max_limit = CONF.api.max_limit
        validation.query(pecan.request, query_schemas.INSTANCES_PAGE)
        limit = validation.integer(params, "limit", maximum=max_limit)
        page = max_limit if limit is None else limit
        marker = params.get("marker")
        # The page with its queues: one statement.
        rows = action_queue.instances_with_queues(
            ctx, filters=filters, limit=page,
            marker=marker and marker.lower())
        next_url = None
        if page and len(rows) == page:
            next_url = _next_link(params, rows[-1]["uuid"])
        return {"instances": [views.instance(r, matrix) for r in rows],
                "next": next_url}

    @index.when(method="POST", template="json")
    def create(self) -> dict[str, Any]:
        ctx = _context()
        body = validation.body(pecan.request, _schema("create"))
        values = dict(body["instance"])
        project_id = values.get("project_id")
        # The target is the project the new instance will belong to.
        target = {"project_id": ctx.project_id if project_id is None
                  else project_id}
        policy.authorize("vmstate:instance:create", ctx, target)
        if project_id is not None and project_id != ctx.project_id:
            policy.authorize("vmstate:instance:create:other_project", ctx,
                             target)
            ctx = ctx.elevated()
        if "uuid" in values:
            values["uuid"] = values["uuid"].lower()
        if "vm_state" in values and "task_state" not in values:
            # "scheduling" goes with the default "building" only: an
            # instance registered as active has no build running.
            values["task_state"] = None
        row = db_api.instance_create(ctx, values)
        pecan.response.status = 201
        pecan.response.location = common.link(
            "/v1/instances/%s" % row["uuid"])
        # Its one history row says whether it launched (registered in a
        # vm_state past the build), as GET will.
        launched = row["vm_state"] not in states.UNLAUNCHED_VM_STATES
        return {"instance": views.instance(dict(row, launched=launched),
                                           loader.get())}

    @pecan.expose()
    def _route(self, args: list[str], request: Any) -> Any:
        if not args or args == [""]:
            return self.index, []
        return InstanceController(args[0])._route(args[1:], request)


def _next_link(params: Any, marker: str) -> str:
    query = [(k, v) for k, v in params.items() if k != "marker"]
    query.append(("marker", marker))
    return "%s?%s" % (common.link(pecan.request.path_info),
                      parse.urlencode(query))
