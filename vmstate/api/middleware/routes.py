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

"""Which compute API requests are state-guarded, and by which action.

The route table is data: ``(method, path below /servers/{id})`` to an
action, or to a reader of the body for the two action endpoints. Paths are
accepted with or without the ``/v2`` or ``/v2.1`` prefix and with or without
a project id, as Nova accepts them. A request that is not state-guarded maps
to ``None`` without its body being read.
"""

from collections.abc import Callable
from collections.abc import Mapping
import dataclasses
import json
from typing import Any

from vmstate import exception

VERSIONS = frozenset({"v2", "v2.1"})
ANY = "*"

# ``POST /servers/{id}/action``: the one body key names the action.
SERVER_ACTIONS: Mapping[str, str] = {
    "os-start": "start",
    "os-stop": "stop",
    "resize": "resize",
    "migrate": "migrate",
    "confirmResize": "confirm_resize",
    "revertResize": "revert_resize",
    "rebuild": "rebuild",
    "createImage": "snapshot",
    "createBackup": "backup",
    "changePassword": "set_admin_password",
    "pause": "pause",
    "unpause": "unpause",
    "suspend": "suspend",
    "resume": "resume",
    "rescue": "rescue",
    "unrescue": "unrescue",
    "shelve": "shelve",
    "shelveOffload": "shelve_offload",
    "unshelve": "unshelve",
    "os-migrateLive": "live_migrate",
    "evacuate": "evacuate",
    "forceDelete": "force_delete",
    "restore": "restore",
    "trigger_crash_dump": "trigger_crash_dump",
}
REBOOT_TYPES: Mapping[str, str] = {"SOFT": "reboot", "HARD": "reboot_hard"}


class MalformedBody(exception.Invalid):
    """Nova's answer to an action body it cannot read."""

    def __init__(self, reason: str) -> None:
        super().__init__("Malformed message body: %s" % reason)


def _one_key(body: bytes) -> tuple[str, Any] | None:
    """The single key of an action body (Nova's ``action_peek``).

    :returns: ``None`` for a body that is not a JSON object: the service
        answers that itself, and nothing is guarded.
    :raises MalformedBody: when the object has more than one key.
    """
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(decoded, dict) or not decoded:
        return None
    if len(decoded) != 1:
        raise MalformedBody("too many body keys")
    key = next(iter(decoded))
    return key, decoded[key]


def server_action(body: bytes) -> str | None:
    """The action of a ``POST /servers/{id}/action`` body, if guarded."""
    found = _one_key(body)
    if found is None:
        return None
    key, value = found
    if key == "reboot":
        kind = value.get("type") if isinstance(value, dict) else None
        if not isinstance(kind, str):
            return None
        return REBOOT_TYPES.get(kind.upper())
    return SERVER_ACTIONS.get(key)


def migration_action(body: bytes) -> str | None:
    """``POST /servers/{id}/migrations/{mid}/action``: force_complete."""
    found = _one_key(body)
    if found is not None and found[0] == "force_complete":
        return "live_migrate_force_complete"
    return None


Decider = str | Callable[[bytes], str | None]


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    tail: tuple[str, ...]        # below /servers/{id}; "*" matches one part
    decides: Decider             # the action, or a reader of the body


ROUTES: tuple[Route, ...] = (
    Route("DELETE", (), "delete"),
    Route("POST", ("action",), server_action),
    Route("POST", ("os-interface",), "attach_interface"),
    Route("DELETE", ("os-interface", ANY), "detach_interface"),
    Route("POST", ("os-volume_attachments",), "attach_volume"),
    Route("PUT", ("os-volume_attachments", ANY), "swap_volume"),
    Route("DELETE", ("os-volume_attachments", ANY), "detach_volume"),
    Route("POST", ("metadata",), "update_instance_metadata"),
    Route("PUT", ("metadata",), "update_instance_metadata"),
    Route("PUT", ("metadata", ANY), "update_instance_metadata"),
    Route("DELETE", ("metadata", ANY), "delete_instance_metadata"),
    Route("POST", ("migrations", ANY, "action"), migration_action),
    Route("DELETE", ("migrations", ANY), "live_migrate_abort"),
)


@dataclasses.dataclass(frozen=True)
class Match:
    """A guarded request: the server it names and how to get its action."""

    server_id: str
    route: Route


class RouteTable:
    """Finds the route of a request in one dict lookup and a short scan."""

    def __init__(self, routes: tuple[Route, ...] = ROUTES,
                 soft_delete: bool = False) -> None:
        self._by_shape: dict[tuple[str, int], list[Route]] = {}
        for route in routes:
            if soft_delete and route.decides == "delete":
                route = dataclasses.replace(route, decides="soft_delete")
            self._by_shape.setdefault(
                (route.method, len(route.tail)), []).append(route)

    def match(self, method: str, path: str) -> Match | None:
        """The route of ``method path``, or ``None`` when not guarded."""
        parts = [p for p in path.split("/") if p]
        i = 1 if parts and parts[0] in VERSIONS else 0
        if len(parts) > i and parts[i] != "servers":
            i += 1              # a project id
        if len(parts) < i + 2 or parts[i] != "servers":
            return None
        candidates = self._by_shape.get((method, len(parts) - i - 2))
        if not candidates:
            return None
        tail = parts[i + 2:]
        for route in candidates:
            if all(want in (ANY, got)
                   for want, got in zip(route.tail, tail, strict=True)):
                # Nova takes a server id in any case; the stores hold it
                # in lower case, so an upper-case id is the same server.
                return Match(parts[i + 1].lower(), route)
        return None

    @staticmethod
    def action(match: Match, body: Callable[[], bytes]) -> str | None:
        """The action of a matched request (reads the body only if needed).

        :raises MalformedBody: for an action body with several keys.
        """
        decides = match.route.decides
        if isinstance(decides, str):
            return decides
        return decides(body())
