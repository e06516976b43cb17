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

"""The fake compute API: enough of Nova's v2.1 for real clients.

Version documents, servers (create, list, detail, show, delete), the
action endpoint for every action Nova guards, answering with Nova's codes,
``status`` and ``OS-EXT-STS`` fields, and the flavors and images a client
looks up before a create (:mod:`vmstate.fake.catalog`). A server is a
vmstate instance: creating one registers it and hands its build to the
fake driver; every action begins through :func:`vmstate.lifecycle.begin`,
so the store refuses what the guard in front would refuse, even without
the guard. When the guard in front reserved the action (``[guard] reserve
= true``), the API continues the guard's task
(``environ["vmstate.reservation"]``, see
:mod:`vmstate.api.middleware.reservation`) instead of beginning it again:
one request, one task.

Identity: ``X-Project-Id``/``X-User-Id``/``X-Roles``, or a project id in
the path, or the admin of project ``admin``. :class:`ContextFilter` puts
it in ``environ["nova.context"]``, where Nova's ``keystonecontext`` puts
Nova's, so that the guard in between sees the caller the API sees.
"""

import json
import re
import secrets
import threading
from typing import Any

from oslo_utils import uuidutils
import webob
import webob.dec

from vmstate import exception
from vmstate import lifecycle
from vmstate import states
from vmstate.api import faults
from vmstate.api import views
from vmstate.api.middleware import guard
from vmstate.api.middleware import routes
from vmstate.conf import CONF
from vmstate.context import RequestContext
from vmstate.db import api as db_api
from vmstate.fake import catalog
from vmstate.fake import status
from vmstate.fake.driver import FakeDriver

API_VERSION = "2.1"
# Nova's success codes where they are not 202.
SUCCESS_CODES = {"confirm_resize": 204, "rescue": 200, "evacuate": 200}
# Server action keys that are accepted but guard nothing here.
UNGUARDED_KEYS = frozenset({"lock", "unlock", "os-getConsoleOutput",
                            "addSecurityGroup", "removeSecurityGroup",
                            "addFixedIp", "removeFixedIp",
                            "os-getVNCConsole", "os-getSPICEConsole",
                            "os-getSerialConsole", "os-getRDPConsole",
                            "createConsole", "injectNetworkInfo",
                            "resetNetwork"})
LIVE_VM_STATES = [v for v in states.VM_STATES if v != states.DELETED]
NAME_MAX = 255
# The actions a guard may have reserved for a request to each handler
# ([guard] soft_delete guards DELETE /servers/{id} as soft_delete).
RESERVABLE = {"delete": ("delete", "soft_delete")}
COLLECTIONS = ("servers", "flavors", "images")


def _version(href: str) -> dict[str, Any]:
    return {"id": "v2.1", "status": "CURRENT", "version": API_VERSION,
            "min_version": "2.1", "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": href}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute"
                                     "+json;version=2.1"}]}


class Versions:
    """``GET /``: the version list (paste maps it at the root)."""

    @classmethod
    def factory(cls, global_conf: dict[str, Any], **local: Any) -> Any:
        return cls()

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        if req.path_info not in ("", "/"):
            return faults.fault_response(404, {"itemNotFound": {
                "code": 404, "message": "The resource could not be found."}})
        if req.method != "GET":
            return faults.fault_response(405, {"badMethod": {
                "code": 405, "message": "Method not allowed"}},
                [("Allow", "GET")])
        v20 = dict(_version(req.host_url + "/v2/"), id="v2.0",
                   status="SUPPORTED", version="", min_version="")
        return _json(200, {"versions": [
            v20, _version(req.host_url + "/v2.1/")]})


class ContextFilter:
    """Paste filter: the caller's context in ``environ["nova.context"]``.

    The fake's stand-in for Nova's ``keystonecontext``: identity from the
    ``X-Project-Id``/``X-User-Id``/``X-Roles`` headers, else the project
    id in the path, else the admin of project ``admin``. Filters after it
    (the compute guard) and the API read the same context.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    @classmethod
    def factory(cls, global_conf: dict[str, Any], **local: Any) -> Any:
        return cls

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> Any:
        _path, project = _split_project(req.path_info)
        req.environ[guard.NOVA_CONTEXT] = _context(req, project)
        return self.application


class ComputeAPI:
    """The servers API below ``/v2.1`` (or ``/v2``)."""

    ROUTES = (
        ("GET", re.compile(r"^/?$"), "version"),
        ("GET", re.compile(r"^/servers/?$"), "index"),
        ("GET", re.compile(r"^/servers/detail/?$"), "detail"),
        ("POST", re.compile(r"^/servers/?$"), "create"),
        ("GET", re.compile(r"^/servers/(?P<id>[^/]+)/?$"), "show"),
        ("DELETE", re.compile(r"^/servers/(?P<id>[^/]+)/?$"), "delete"),
        ("POST", re.compile(r"^/servers/(?P<id>[^/]+)/action/?$"),
         "action"),
        ("GET", re.compile(r"^/flavors/?$"), "flavors"),
        ("GET", re.compile(r"^/flavors/detail/?$"), "flavors_detail"),
        ("GET", re.compile(r"^/flavors/(?P<id>[^/]+)/?$"), "flavor"),
        ("GET", re.compile(r"^/images/?$"), "images"),
        ("GET", re.compile(r"^/images/(?P<id>[^/]+)/?$"), "image"),
    )

    def __init__(self, driver: FakeDriver | None = None) -> None:
        self.driver = driver or FakeDriver(
            CONF.fake_compute.step_seconds)
        # What Nova keeps beside the state; a fake keeps it in memory.
        self._servers: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @classmethod
    def factory(cls, global_conf: dict[str, Any], **local: Any) -> Any:
        return cls()

    # -- dispatch ------------------------------------------------------------

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        path, project = _split_project(req.path_info)
        allowed = []
        for method, pattern, name in self.ROUTES:
            found = pattern.match(path)
            if found is None:
                continue
            allowed.append(method)
            if method != req.method:
                continue
            try:
                context = req.environ.get(guard.NOVA_CONTEXT) or _context(
                    req, project)
                params = {key: value.lower()   # ids in any case, as Nova
                          for key, value in found.groupdict().items()}
                response: webob.Response = getattr(self, name)(
                    req, context, **params)
            except exception.VMStateError as err:
                return faults.from_exception(err)
            response.headers["OpenStack-API-Version"] = (
                "compute " + API_VERSION)
            response.headers["X-OpenStack-Nova-API-Version"] = API_VERSION
            return response
        if allowed:
            return faults.fault_response(405, {"badMethod": {
                "code": 405, "message": "Method not allowed"}},
                [("Allow", ", ".join(sorted(set(allowed))))])
        return faults.fault_response(404, {"itemNotFound": {
            "code": 404, "message": "The resource could not be found."}})

    # -- handlers ------------------------------------------------------------

    def version(self, req: webob.Request,
                context: RequestContext) -> webob.Response:
        return _json(200, {"version": _version(req.application_url + "/")})

    def index(self, req: webob.Request,
              context: RequestContext) -> webob.Response:
        return _json(200, {"servers": [
            {"id": row["uuid"], "name": self._meta(row)["name"],
             "links": self._links(req, row["uuid"])}
            for row in self._list(context, req.GET.get("name"))]})

    def detail(self, req: webob.Request,
               context: RequestContext) -> webob.Response:
        return _json(200, {"servers": [
            self._view(req, row)
            for row in self._list(context, req.GET.get("name"))]})

    def show(self, req: webob.Request, context: RequestContext,
             id: str) -> webob.Response:
        return _json(200, {"server": self._view(req, self._get(context,
                                                               id))})

    def create(self, req: webob.Request,
               context: RequestContext) -> webob.Response:
        server = _body(req).get("server")
        if not isinstance(server, dict):
            raise exception.Invalid("Invalid input for field/attribute "
                                    "server")
        name = server.get("name")
        if not isinstance(name, str) or not name.strip() \
                or len(name) > NAME_MAX:
            raise exception.Invalid("Invalid input for field/attribute "
                                    "name")
        flavor = server.get("flavorRef")
        if not isinstance(flavor, (str, int)) or flavor == "":
            raise exception.Invalid("Invalid input for field/attribute "
                                    "flavorRef")
        if catalog.flavor(str(flavor)) is None:
            raise exception.Invalid("Flavor %s could not be found." % flavor)
        image = server.get("imageRef", "")
        if image and (not isinstance(image, str)
                      or catalog.image(image) is None):
            raise exception.Invalid("Image %s could not be found." % image)
        uuid = uuidutils.generate_uuid()
        with self._lock:
            self._servers[uuid] = {
                "name": name, "flavor": str(flavor), "image": str(image),
                "metadata": dict(server.get("metadata") or {}),
                "admin_pass": secrets.token_urlsafe(12)}
        row = db_api.instance_create(context, {"uuid": uuid})
        self.driver.build(context, row["uuid"])
        body = {"server": {
            "id": uuid, "links": self._links(req, uuid),
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": "default"}],
            "adminPass": self._servers[uuid]["admin_pass"]}}
        response = _json(202, body)
        response.location = self._links(req, uuid)[0]["href"]
        return response

    def delete(self, req: webob.Request, context: RequestContext,
               id: str) -> webob.Response:
        self._get(context, id)
        self._carry_out(self._task(req, context, id, "delete"))
        return webob.Response(status=204)

    def action(self, req: webob.Request, context: RequestContext,
               id: str) -> webob.Response:
        raw = req.body
        action = routes.server_action(raw)
        body = _body(req)
        if len(body) != 1:
            raise routes.MalformedBody("too many body keys")
        key = next(iter(body))
        self._get(context, id)
        if action is None:
            return self._other_action(context, id, key, body[key])
        self._carry_out(self._task(req, context, id, action))
        code = SUCCESS_CODES.get(action, 202)
        if action == "rescue":
            return _json(code, {"adminPass": secrets.token_urlsafe(12)})
        if code == 204:
            return webob.Response(status=204)
        return webob.Response(status=code)

    def _other_action(self, context: RequestContext, uuid: str,
                      key: str,
                      value: Any) -> webob.Response:
        if key == "reboot":
            raise exception.Invalid("Invalid input for field/attribute "
                                    "reboot: type must be SOFT or HARD")
        if key == "os-resetState":
            if not context.is_admin:
                raise exception.Forbidden("Policy doesn't allow "
                                          "os_compute_api:os-admin-actions:"
                                          "reset_state to be performed.")
            target = (value or {}).get("state") if isinstance(value, dict) \
                else None
            if target not in (states.ACTIVE, states.ERROR):
                raise exception.Invalid("Invalid input for field/attribute "
                                        "state")
            lifecycle.reset_state(context, uuid, target, "os-resetState")
            return webob.Response(status=202)
        if key in UNGUARDED_KEYS:
            return webob.Response(status=202)
        raise exception.Invalid("There is no such action: %s" % key)

    def flavors(self, req: webob.Request,
                context: RequestContext) -> webob.Response:
        return _json(200, {"flavors": [
            catalog.flavor_view(f, self._flavor_links(req, f["id"]),
                                detail=False) for f in catalog.FLAVORS]})

    def flavors_detail(self, req: webob.Request,
                       context: RequestContext
                       ) -> webob.Response:
        return _json(200, {"flavors": [
            catalog.flavor_view(f, self._flavor_links(req, f["id"]))
            for f in catalog.FLAVORS]})

    def flavor(self, req: webob.Request, context: RequestContext,
               id: str) -> webob.Response:
        entry = catalog.flavor(id)
        if entry is None:
            raise exception.NotFound("Flavor %s could not be found." % id)
        return _json(200, {"flavor": catalog.flavor_view(
            entry, self._flavor_links(req, id))})

    def images(self, req: webob.Request,
               context: RequestContext) -> webob.Response:
        return _json(200, {"images": catalog.images(req.GET.get("name")),
                           "first": "/v2/images",
                           "schema": "/v2/schemas/images"})

    def image(self, req: webob.Request, context: RequestContext,
              id: str) -> webob.Response:
        # Glance finds images by id only; the name is for the list.
        entry = catalog.image(id)
        if entry is None or entry["id"] != id:
            raise exception.NotFound("No image found with ID %s" % id)
        return _json(200, catalog.image_view(entry))

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _task(req: webob.Request, context: RequestContext,
              uuid: str,
              action: str) -> lifecycle.Task | None:
        """The request's task: the guard's reservation, or a new begin.

        :returns: the task to carry out; ``None`` when the guard reserved
            an action that runs no task (its begin recorded it all).
        :raises InstanceInvalidState: (without a reservation) the action
            may not start now.
        :raises TaskAborted: the reserved task was taken over (a delete,
            a reset) before this request could continue it.
        :raises Conflict: the guard reserved another action or server
            than this request's: a guard whose routes disagree with the
            API's; the guard releases its reservation on the 409.
        """
        reserved = req.environ.get(guard.RESERVATION)
        if reserved is None:
            return lifecycle.begin(context, uuid, action)
        if (reserved["uuid"] != uuid
                or reserved["action"] not in RESERVABLE.get(action,
                                                            (action,))):
            raise exception.Conflict(
                "The compute guard reserved %s on %s, not %s on %s" % (
                    reserved["action"], reserved["uuid"], action, uuid))
        if reserved["task_id"] is None:
            return None
        return lifecycle.adopt(context, uuid, task_id=reserved["task_id"])

    def _carry_out(self, task: lifecycle.Task | None) -> None:
        if task is not None:
            self.driver.run(task)

    def _list(self, context: RequestContext, name: str | None = None
              ) -> list[dict[str, Any]]:
        rows = db_api.instance_list(context,
                                    filters={"vm_state": LIVE_VM_STATES})
        if name is None:
            return rows
        # Nova matches the name filter as a regular expression.
        try:
            pattern = re.compile(name)
        except re.error:
            raise exception.Invalid("Invalid regular expression in the name "
                                    "filter: %s" % name) from None
        return [r for r in rows if pattern.search(self._meta(r)["name"])]

    @staticmethod
    def _flavor_links(req: webob.Request, id: str) -> list[dict[str, str]]:
        return [{"rel": "self",
                 "href": "%s/flavors/%s" % (req.application_url, id)},
                {"rel": "bookmark",
                 "href": "%s/flavors/%s" % (req.host_url, id)}]

    def _get(self, context: RequestContext,
             uuid: str) -> dict[str, Any]:
        if not uuidutils.is_uuid_like(uuid):
            raise exception.InstanceNotFound(uuid)
        row = db_api.instance_get(context, uuid)
        if row["vm_state"] == states.DELETED:
            raise exception.InstanceNotFound(uuid)
        return row

    def _meta(self, row: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._servers.get(row["uuid"]) or {
                "name": row["uuid"], "flavor": "", "image": "",
                "metadata": {}}

    @staticmethod
    def _links(req: webob.Request, uuid: str) -> list[dict[str, str]]:
        base = req.application_url
        return [{"rel": "self", "href": "%s/servers/%s" % (base, uuid)},
                {"rel": "bookmark", "href": "%s/servers/%s" % (
                    req.host_url, uuid)}]

    def _view(self, req: webob.Request, row: dict[str, Any]
              ) -> dict[str, Any]:
        meta = self._meta(row)
        return {
            "id": row["uuid"],
            "name": meta["name"],
            "status": status.status(row["vm_state"],
                                    row["task_state"]),
            "tenant_id": row["project_id"],
            "user_id": row["user_id"],
            "metadata": meta["metadata"],
            "hostId": "",
            "image": {"id": meta["image"], "links": [{
                "rel": "bookmark", "href": "%s/images/%s" % (
                    req.host_url, meta["image"])}]} if meta["image"] else "",
            "flavor": {"id": meta["flavor"], "links": self._flavor_links(
                req, meta["flavor"])[1:]},
            "created": _nova_time(row["created_at"]),
            "updated": _nova_time(row["updated_at"] or row["created_at"]),
            "addresses": {},
            "accessIPv4": "",
            "accessIPv6": "",
            "links": self._links(req, row["uuid"]),
            "progress": 0,
            "OS-DCF:diskConfig": "MANUAL",
            "OS-EXT-AZ:availability_zone": "nova",
            "OS-EXT-STS:vm_state": row["vm_state"],
            "OS-EXT-STS:task_state": row["task_state"],
            "OS-EXT-STS:power_state": row["power_state"],
            "config_drive": "",
            "key_name": None,
            "security_groups": [{"name": "default"}],
            "os-extended-volumes:volumes_attached": [],
        }


def _split_project(path: str) -> tuple[str, str | None]:
    """``/{project_id}/servers/...`` -> (``/servers/...``, project_id);
    the same for flavors and images."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] and parts[1] not in COLLECTIONS \
            and parts[2] in COLLECTIONS:
        return "/" + "/".join(parts[2:]), parts[1]
    return path, None


def _context(req: webob.Request, project: str | None
             ) -> RequestContext:
    ctx = RequestContext.from_environ(req.environ)
    if project and not ctx.project_id:
        ctx.project_id = project
    if not ctx.project_id and not ctx.user_id and not ctx.roles:
        ctx.project_id, ctx.user_id, ctx.roles = "admin", "admin", ["admin"]
    ctx.roles = [r.strip().lower() for r in ctx.roles if r.strip()]
    ctx.is_admin = "admin" in ctx.roles
    return ctx


def _body(req: webob.Request) -> dict[str, Any]:
    try:
        body = json.loads(req.body)
    except (ValueError, RecursionError):
        raise routes.MalformedBody("cannot understand JSON") from None
    if not isinstance(body, dict):
        raise routes.MalformedBody("cannot understand JSON")
    return body


def _json(code: int, body: Any) -> webob.Response:
    response = webob.Response(status=code, content_type="application/json",
                              charset="utf-8")
    response.text = json.dumps(body)
    return response


def _nova_time(value: Any) -> str | None:
    # Nova's servers show times to the second: 2026-11-21T05:39:17Z.
    text = views.timestamp(value)
    return None if text is None else text[:19] + "Z"
