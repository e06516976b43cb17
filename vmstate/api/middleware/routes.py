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

"""Which compute API requests are state-guarded, as data, and how Nova
reaches its state check on each.

The table restates Nova 34's compute API (``nova/api/openstack/compute``,
``nova/compute/api.py``, ``nova/policies``): per route the method and
path below ``/servers/{id}`` (and for ``POST .../action`` the body key),
the microversions it exists at, the vmstate action it starts, Nova's word
for it in the 409 (the *action* argument each controller passes to
``raise_http_conflict_for_instance_invalid_state``), Nova's policy rule
and its default persona, and what Nova checks before the state.

The guard refuses a request only where Nova would reach its
``check_instance_state`` decorator. Anything Nova answers first passes
untouched, and Nova answers it: a path Nova does not route (double or
trailing slashes, a project id that is not hex or not the caller's), a
microversion it refuses (400 malformed, 406 out of range) or at which
the route does not exist (404), a Content-Type it does not take (415), a
body that is not certainly valid under Nova's schema (400: the guard's
schemas here are *subsets* of Nova's, so a body they admit Nova admits
too), a caller Nova's policy refuses (403), a locked server for a
non-admin ("Instance U is locked"), a server with no host where Nova
checks it first ("Instance U is not ready"), a resource that is missing
(a metadata key, a volume not attached), and anything the guard cannot
know (the Cinder side of a volume swap, a target host).
"""

from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import json
import re
from typing import Any

import jsonschema
import microversion_parse

from vmstate import exception

VERSIONS = frozenset({"v2", "v2.1"})
ANY = "*"

#: The microversion of Nova's legacy ``/v2`` endpoint: below every
#: microversion, so no versioned feature is on (``is_supported`` is
#: false there in Nova).
LEGACY_V2 = (2, 0)
#: Nova's range of compute microversions (Nova 34: 2.1 to 2.104); the
#: guard passes requests outside what it knows.
MIN_VERSION = (2, 1)
MAX_VERSION = (2, 104)
SERVICE_TYPE = "compute"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
#: Nova's project id in a path (``APIMapper._get_project_id_token``).
PROJECT_ID = re.compile(r"^[0-9a-f-]+$")
#: Content-Types Nova accepts (``wsgi._SUPPORTED_CONTENT_TYPES``); with
#: none, ``text/plain`` or an empty one it reads JSON as well.
CONTENT_TYPES = frozenset({"application/json",
                           "application/vnd.openstack.compute+json", "",
                           "text/plain"})
_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")

Version = tuple[int, int]

# Personas of Nova's default policies (nova/policies/base.py).
MEMBER = "member"       # project_member_or_admin
MANAGER = "manager"     # project_manager_or_admin
ADMIN = "admin"         # context_is_admin
SERVICE = "service"     # service_or_admin

#: What Nova may check before the state, in the words the table uses.
#: ``policy``: the caller's policy; ``lock``: ``check_instance_lock``
#: (a non-admin on a locked server); ``host``: ``check_instance_host``
#: (no host yet, or offloaded); ``metadata_key``: the key to delete is
#: set; ``volume_attached``: the volume is attached and not the root
#: device; ``body``: the route's own checks of the body beyond the
#: schema (metadata key and path agree; not both a network and a port;
#: no target host, which Nova looks up first); ``never``: Nova checks
#: something the guard cannot see (Cinder's migration status for a
#: swap) before the state, so the route is never refused by the guard.
PRECHECKS = ("policy", "body", "metadata_key", "volume_attached", "lock",
             "host", "never")

_NULL: dict[str, Any] = {"type": "null"}
# Plain names: a subset of Nova's ``name`` format (printable, no leading
# or trailing white space).
_STR = {"type": "string", "minLength": 1, "maxLength": 255,
        "pattern": r"^[a-zA-Z0-9]([a-zA-Z0-9._ -]*[a-zA-Z0-9._-])?$"}
_UUID = {"type": "string", "pattern":
         r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
         r"[0-9a-fA-F]{12}$"}
_META = {"type": "object", "maxProperties": 16, "additionalProperties": False,
         "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {
             "type": "string", "maxLength": 255}}}
_BOOL = {"type": "boolean"}


_Properties = Mapping[str, Any] | Iterable[tuple[str, Any]]


def _obj(required: _Properties = (), optional: _Properties = ()
         ) -> dict[str, Any]:
    props = {**dict(required), **dict(optional)}
    return {"type": "object", "properties": props,
            "required": sorted(dict(required)), "additionalProperties": False}


@dataclasses.dataclass(frozen=True)
class BodyShape:
    """A body the guard knows Nova accepts, at microversions
    ``[min_version, max_version]``: a subset of Nova's schema there."""

    schema: Mapping[str, Any]
    min_version: Version = LEGACY_V2
    max_version: Version | None = None

    def covers(self, version: Version) -> bool:
        return (self.min_version <= version
                and (self.max_version is None or version <= self.max_version))


@dataclasses.dataclass(frozen=True)
class Route:
    """One state-guarded compute request, as Nova serves it.

    ``method`` and ``tail`` (below ``/servers/{id}``; ``"*"`` matches one
    segment); ``key``: the body key of ``POST .../action`` routes;
    ``action``: the vmstate action begun; ``word``: Nova's name of it in
    the 409; ``min_version``/``max_version``: the microversions where
    Nova has the route (outside: 404); ``policy``/``persona``: Nova's
    rule and its default persona; ``body``: the bodies known valid
    (``None``: Nova takes no body); ``before_state``: what Nova checks
    before the state, in Nova's order (see :data:`PRECHECKS`);
    ``message_id``: whether Nova's message names the server as the path
    does (``"path"``) or by the instance's uuid (``"instance"``).
    """

    method: str
    tail: tuple[str, ...]
    action: str
    word: str
    policy: str
    persona: str = MEMBER
    key: str | None = None
    min_version: Version = LEGACY_V2
    max_version: Version | None = None
    body: tuple[BodyShape, ...] | None = None
    before_state: tuple[str, ...] = ("policy", "lock")
    message_id: str = "path"

    def exists(self, version: Version) -> bool:
        return (self.min_version <= version
                and (self.max_version is None or version <= self.max_version))


def _action(key: str, action: str, word: str, policy: str,
            body: tuple[BodyShape, ...] = (BodyShape(_NULL),),
            **kwargs: Any) -> Route:
    return Route("POST", ("action",), action, word, policy, key=key,
                 body=tuple(BodyShape(_obj({key: b.schema}), b.min_version,
                                      b.max_version) for b in body),
                 **kwargs)


_S = "os_compute_api:servers:%s"
_REBOOT_TYPES = {"SOFT": ["SOFT", "Soft", "soft"],
                 "HARD": ["HARD", "Hard", "hard"]}

#: Every state-guarded route of Nova 34's compute API.
ROUTES: tuple[Route, ...] = (
    # DELETE /servers/{id}: delete (soft_delete with a reclaim interval);
    # Nova checks no state for it, the guard none either.
    Route("DELETE", (), "delete", "delete", _S % "delete"),
    _action("os-start", "start", "start", _S % "start",
            body=(BodyShape({}),), before_state=("policy", "lock", "host")),
    _action("os-stop", "stop", "stop", _S % "stop",
            body=(BodyShape({}),), before_state=("policy", "lock", "host")),
    _action("trigger_crash_dump", "trigger_crash_dump", "trigger_crash_dump",
            _S % "trigger_crash_dump", min_version=(2, 17),
            before_state=("policy", "lock", "host")),
    _action("reboot", "reboot", "reboot", _S % "reboot", body=(BodyShape(
        _obj({"type": {"enum": _REBOOT_TYPES["SOFT"]}})),)),
    _action("reboot", "reboot_hard", "reboot", _S % "reboot", body=(
        BodyShape(_obj({"type": {"enum": _REBOOT_TYPES["HARD"]}})),)),
    _action("resize", "resize", "resize", _S % "resize", body=(BodyShape(
        _obj({"flavorRef": {"oneOf": [_STR, {"type": "integer",
                                              "minimum": 1}]}})),)),
    _action("confirmResize", "confirm_resize", "confirmResize",
            _S % "confirm_resize", body=(BodyShape({}),)),
    _action("revertResize", "revert_resize", "revertResize",
            _S % "revert_resize", body=(BodyShape({}),)),
    _action("rebuild", "rebuild", "rebuild", _S % "rebuild", body=(
        BodyShape(_obj({"imageRef": _UUID}, {"name": _STR})),)),
    _action("createImage", "snapshot", "createImage", _S % "create_image",
            body=(BodyShape(_obj({"name": _STR}, {"metadata": _META})),),
            before_state=("policy",)),
    _action("createBackup", "backup", "createBackup",
            "os_compute_api:os-create-backup", body=(BodyShape(_obj({
                "name": _STR, "backup_type": _STR,
                "rotation": {"type": "integer", "minimum": 0}},
                {"metadata": _META})),),
            before_state=("policy",)),
    _action("changePassword", "set_admin_password", "changePassword",
            "os_compute_api:os-admin-password", body=(BodyShape(
                _obj({"adminPass": {"type": "string"}})),)),
    _action("pause", "pause", "pause", "os_compute_api:os-pause-server:pause",
            body=(BodyShape({}),)),
    _action("unpause", "unpause", "unpause",
            "os_compute_api:os-pause-server:unpause", body=(BodyShape({}),)),
    _action("suspend", "suspend", "suspend",
            "os_compute_api:os-suspend-server:suspend",
            body=(BodyShape({}),)),
    _action("resume", "resume", "resume",
            "os_compute_api:os-suspend-server:resume", body=(BodyShape({}),)),
    _action("rescue", "rescue", "rescue", "os_compute_api:os-rescue", body=(
        BodyShape({"oneOf": [_NULL, _obj(optional={
            "adminPass": {"type": "string"}})]}),)),
    _action("unrescue", "unrescue", "unrescue", "os_compute_api:os-unrescue",
            body=(BodyShape({}),)),
    _action("shelve", "shelve", "shelve", "os_compute_api:os-shelve:shelve",
            body=(BodyShape({}),)),
    _action("shelveOffload", "shelve_offload", "shelveOffload",
            "os_compute_api:os-shelve:shelve_offload", persona=ADMIN,
            body=(BodyShape({}),)),
    _action("unshelve", "unshelve", "unshelve",
            "os_compute_api:os-shelve:unshelve"),
    _action("migrate", "migrate", "migrate",
            "os_compute_api:os-migrate-server:migrate", persona=MANAGER),
    _action("os-migrateLive", "live_migrate", "os-migrateLive",
            "os_compute_api:os-migrate-server:migrate_live",
            persona=MANAGER, body=(
                BodyShape(_obj({"host": _NULL, "block_migration": _BOOL,
                                "disk_over_commit": _BOOL}),
                          max_version=(2, 24)),
                BodyShape(_obj({"host": _NULL, "block_migration": {
                    "enum": [True, False, "auto"]}}), min_version=(2, 25)))),
    _action("evacuate", "evacuate", "evacuate", "os_compute_api:os-evacuate",
            # Nova: "The target host can't be the same one." when the
            # server has no host and the body names none (offloaded).
            persona=ADMIN, before_state=("policy", "body", "host"), body=(
                BodyShape(_obj({"onSharedStorage": _BOOL}),
                          max_version=(2, 13)),
                BodyShape(_obj(), min_version=(2, 14)))),
    _action("forceDelete", "force_delete", "forceDelete",
            "os_compute_api:os-deferred-delete:force", body=(BodyShape({}),)),
    _action("restore", "restore", "restore",
            "os_compute_api:os-deferred-delete:restore",
            body=(BodyShape({}),)),
    Route("POST", ("os-interface",), "attach_interface", "attach_interface",
          "os_compute_api:os-attach-interfaces:create",
          before_state=("policy", "body", "lock"), body=(BodyShape(_obj(
              optional={"interfaceAttachment": {"oneOf": [
                  _obj(), _obj({"port_id": _UUID}),
                  _obj({"net_id": _UUID})]}})),)),
    Route("DELETE", ("os-interface", ANY), "detach_interface",
          "detach_interface", "os_compute_api:os-attach-interfaces:delete"),
    Route("POST", ("os-volume_attachments",), "attach_volume",
          "attach_volume", "os_compute_api:os-volumes-attachments:create",
          body=(BodyShape(_obj({"volumeAttachment": _obj(
              {"volumeId": _UUID})})),)),
    # Nova looks the volumes up in Cinder and refuses a swap of a volume
    # that is not migrating before its state check; from 2.85 the same
    # volume is an update of the attachment, with no state check.
    Route("PUT", ("os-volume_attachments", ANY), "swap_volume",
          "swap_volume", "os_compute_api:os-volumes-attachments:swap",
          persona=SERVICE, before_state=("policy", "never", "lock"),
          message_id="instance"),
    Route("DELETE", ("os-volume_attachments", ANY), "detach_volume",
          "detach_volume", "os_compute_api:os-volumes-attachments:delete",
          before_state=("policy", "volume_attached", "lock")),
    Route("POST", ("metadata",), "update_instance_metadata",
          "update metadata", "os_compute_api:server-metadata:create",
          body=(BodyShape(_obj({"metadata": _META})),),
          message_id="instance"),
    Route("PUT", ("metadata",), "update_instance_metadata",
          "update metadata", "os_compute_api:server-metadata:update_all",
          body=(BodyShape(_obj({"metadata": _META})),),
          message_id="instance"),
    Route("PUT", ("metadata", ANY), "update_instance_metadata",
          "update metadata", "os_compute_api:server-metadata:update",
          body=(BodyShape(_obj({"meta": dict(_META, minProperties=1,
                                             maxProperties=1)})),),
          before_state=("policy", "body", "lock"), message_id="instance"),
    Route("DELETE", ("metadata", ANY), "delete_instance_metadata",
          "delete metadata", "os_compute_api:server-metadata:delete",
          before_state=("policy", "metadata_key", "lock")),
    Route("POST", ("migrations", ANY, "action"),
          "live_migrate_force_complete", "force_complete",
          "os_compute_api:servers:migrations:force_complete",
          persona=MANAGER, key="force_complete", min_version=(2, 22),
          body=(BodyShape(_obj({"force_complete": _NULL})),)),
    Route("DELETE", ("migrations", ANY), "live_migrate_abort",
          "abort live migration", "os_compute_api:servers:migrations:delete",
          persona=MANAGER, min_version=(2, 24)),
)


#: ``POST /servers/{id}/action``: the action each body key starts
#: (``reboot``: by its type, :data:`REBOOT_TYPES`).
SERVER_ACTIONS: Mapping[str, str] = {
    route.key: route.action for route in ROUTES
    if route.tail == ("action",) and route.key not in (None, "reboot")}
REBOOT_TYPES: Mapping[str, str] = {"SOFT": "reboot", "HARD": "reboot_hard"}


class MalformedBody(exception.Invalid):
    """Nova's answer to an action body it cannot read."""

    def __init__(self, reason: str) -> None:
        super().__init__("Malformed message body: %s" % reason)


def server_action(body: bytes) -> str | None:
    """The action of a ``POST /servers/{id}/action`` body, for compute
    services that dispatch on it (the fake compute API): ``None`` for a
    body that is not one JSON object of one known key.

    :raises MalformedBody: when the object has more than one key.
    """
    decoded = _decode(body)
    if not isinstance(decoded, dict) or not decoded:
        return None
    if len(decoded) != 1:
        raise MalformedBody("too many body keys")
    key, value = next(iter(decoded.items()))
    if key == "reboot":
        kind = value.get("type") if isinstance(value, dict) else None
        return REBOOT_TYPES.get(kind.upper()) if isinstance(kind, str) \
            else None
    return SERVER_ACTIONS.get(key)


@dataclasses.dataclass(frozen=True)
class Match:
    """A request on a guarded path: the server it names as written
    (``raw_id``) and lower-cased (``server_id``), the project id in the
    path if any, whether it came through Nova's legacy ``/v2``, and the
    candidate routes (several for ``POST .../action``)."""

    server_id: str
    raw_id: str
    project_id: str | None
    legacy: bool
    routes: tuple[Route, ...]
    tail: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Decision:
    """A request the guard checks: the route, and the path's last segment
    where the route has one (a metadata key, a volume, a port)."""

    route: Route
    match: Match
    item: str | None
    body: Any

    @property
    def action(self) -> str:
        return self.route.action


class RouteTable:
    """Finds the route of a request in one dict lookup and a short scan;
    reads the body only for routes that need it."""

    def __init__(self, routes: tuple[Route, ...] = ROUTES,
                 soft_delete: bool = False,
                 max_version: Version = MAX_VERSION) -> None:
        self.max_version = max_version
        self._by_shape: dict[tuple[str, int], list[Route]] = {}
        for route in routes:
            if soft_delete and route.action == "delete":
                route = dataclasses.replace(route, action="soft_delete")
            self._by_shape.setdefault(
                (route.method, len(route.tail)), []).append(route)

    def match(self, method: str, path: str, script_name: str = ""
              ) -> Match | None:
        """The routes ``method path`` may be, or ``None`` when not guarded
        or not a path Nova routes (empty segments, a trailing slash)."""
        parts = path.split("/")
        if len(parts) < 3 or parts[0] != "" or "" in parts[1:]:
            return None
        parts = parts[1:]
        legacy = script_name.rstrip("/").endswith("/v2")
        i = 0
        if parts[0] in VERSIONS:
            legacy = parts[0] == "v2"
            i = 1
        project_id = None
        if len(parts) > i and parts[i] != "servers":
            project_id = parts[i]
            i += 1
        if len(parts) < i + 2 or parts[i] != "servers":
            return None
        candidates = self._by_shape.get((method, len(parts) - i - 2))
        if not candidates:
            return None
        tail = tuple(parts[i + 2:])
        found = tuple(route for route in candidates
                      if all(want in (ANY, got) for want, got in
                             zip(route.tail, tail, strict=True)))
        if not found:
            return None
        raw = parts[i + 1]
        return Match(raw.lower(), raw, project_id, legacy, found, tail)

    def version(self, match: Match, headers: Any) -> Version | None:
        """The request's microversion as Nova reads it, or ``None`` when
        Nova refuses it (malformed: 400; out of range: 406) or the guard
        does not know it."""
        if match.legacy:
            return LEGACY_V2
        try:
            raw = microversion_parse.get_version(
                headers, service_type=SERVICE_TYPE,
                legacy_headers=[LEGACY_HEADER])
        except (ValueError, TypeError):
            return None
        if raw is None:
            return MIN_VERSION
        if raw == "latest":
            return self.max_version
        found = _VERSION.match(raw.strip()) if isinstance(raw, str) else None
        if found is None:
            return None
        version = (int(found.group(1)), int(found.group(2)))
        if not MIN_VERSION <= version <= self.max_version:
            return None
        return version

    def decide(self, match: Match, method: str, headers: Any,
               content_type: str, content_length: int | None,
               body: Any, body_readable: bool | None = None
               ) -> Decision | None:
        """The route Nova would run this request on, up to its state
        check; ``None`` when Nova answers before (see the module).

        :param body: a callable returning the raw body (read only when
            the route takes one).
        :param body_readable: whether the body can be read without a
            length (a chunked body the server de-chunks: WebOb reads it,
            and so does Nova); by default only with a length.
        """
        if content_type not in CONTENT_TYPES:
            return None         # Nova: 415
        version = self.version(match, headers)
        if version is None:
            return None         # Nova: 400 or 406
        routes = [r for r in match.routes if r.exists(version)]
        if not routes:
            return None         # Nova: 404 at this microversion
        item = (match.tail[-1] if match.tail and routes[0].tail[-1] == ANY
                else None)
        if routes[0].body is None:
            return Decision(routes[0], match, item, None)
        if method in ("POST", "PUT") and not (content_length
                                              or body_readable):
            return None         # Nova reads no body: 400
        raw = body()
        if not raw:
            return None         # Nova: no body, 400
        decoded = _decode(raw)
        if not isinstance(decoded, dict):
            return None
        if routes[0].key is not None and routes[0].tail == ("action",):
            if len(decoded) != 1:
                return None     # Nova: 400 "Malformed request body"
            routes = [r for r in routes if r.key in decoded]
        for route in routes:
            assert route.body is not None
            if any(shape.covers(version)
                   and _valid(shape.schema, decoded) for shape in route.body):
                return Decision(route, match, item, decoded)
        return None             # not certainly valid: Nova decides


def parse_version(text: str) -> Version:
    """``"2.104"`` as ``(2, 104)``.

    :raises ValueError: for anything else.
    """
    found = _VERSION.match(str(text).strip())
    if found is None:
        raise ValueError("not a microversion: %r" % (text,))
    return int(found.group(1)), int(found.group(2))


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None


_VALIDATORS: dict[int, Any] = {}


def _valid(schema: Mapping[str, Any], body: Any) -> bool:
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        validator = jsonschema.Draft4Validator(schema)
        _VALIDATORS[id(schema)] = validator
    try:
        return bool(validator.is_valid(body))
    except RecursionError:
        return False


def nova_message(word: str, server_id: str, attribute: str,
                 value: str | None) -> str:
    """Nova's 409 message (``raise_http_conflict_for_instance_invalid_state``
    in ``nova/api/openstack/common.py``): the generic form when the state
    is ``None`` (a task required but none running, or ``launched_at``
    unset)."""
    if value is None:
        return "Instance %s is in an invalid state for '%s'" % (
            server_id, word)
    return "Cannot '%s' instance %s while it is in %s %s" % (
        word, server_id, attribute, value)
