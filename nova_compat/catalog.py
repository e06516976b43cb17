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

"""What is measured: server states, requests, microversions, callers,
variants, and the slices of them.

All data. A server state is a *base* reached through Nova's API (a
recipe of :mod:`nova_compat.runner`: boot, then stop, pause, shelve ...)
plus what is written on the instance record afterwards (a task_state,
or ``vm_state = building`` for a server that never launched), and
optionally a lock taken by the admin through the API. The requests are
every server request kind the guard's route table knows (every
``POST /action`` body key, ``DELETE``, the volume, interface, metadata and
migration routes) and ``lock``/``unlock``; a body may depend on the
microversion. Placeholders in paths and bodies (``{volume}`` ...) are
filled by the runner with the server's own resources.
"""

from collections.abc import Mapping
import dataclasses
from typing import Any

from nova_compat import cells as cells_mod


@dataclasses.dataclass(frozen=True)
class State:
    """A server state of the table.

    ``base`` is the recipe that reaches it through the API; ``task_state``
    (and ``vm_state``) are written on the instance record afterwards;
    ``locked``: the admin locked it through the API.
    """

    name: str
    base: str
    task_state: str | None = None
    vm_state: str | None = None
    locked: bool = False


#: The bases, each reached through Nova's API by the runner's recipe of
#: that name. ``error_unlaunched`` is a boot that failed (no host fits),
#: ``active_unlaunched`` that server reset to active by the admin
#: (``os-resetState``), ``building_unlaunched`` that server with
#: ``vm_state = building`` written on its record.
BASES = ("active", "stopped", "paused", "suspended", "shelved",
         "shelved_offloaded", "rescued", "resized", "error", "soft_deleted",
         "error_unlaunched", "active_unlaunched", "building_unlaunched")

#: task_states written on the record of each base (``None``: idle).
TASK_STATES: Mapping[str, tuple[str | None, ...]] = {
    "active": (None, "rebooting", "reboot_pending", "reboot_started",
               "rebooting_hard", "pausing", "unpausing", "suspending",
               "resuming", "powering-off", "image_snapshot",
               "image_snapshot_pending", "image_backup",
               "updating_password", "resize_prep", "resize_migrating",
               "resize_finish", "migrating", "rebuilding", "rescuing",
               "shelving", "deleting"),
    "stopped": (None, "powering-on", "image_snapshot", "rebuilding",
                "resize_prep", "shelving", "deleting"),
    "paused": (None, "unpausing", "image_snapshot", "migrating",
               "shelving"),
    "suspended": (None, "resuming", "image_backup"),
    "shelved": (None, "shelving_offloading", "unshelving",
                "shelving_image_uploading"),
    "shelved_offloaded": (None, "unshelving", "spawning"),
    "rescued": (None, "unrescuing", "rebooting_hard"),
    "resized": (None, "resize_reverting", "resize_confirming"),
    "error": (None, "rebuilding", "rebooting_hard", "deleting"),
    "soft_deleted": (None, "restoring"),
    "error_unlaunched": (None,),
    "active_unlaunched": (None, "rebooting"),
    "building_unlaunched": (None, "scheduling", "networking",
                            "block_device_mapping", "spawning"),
}
#: Bases also measured locked (by the admin, through the API).
LOCKED = ("active", "stopped", "shelved_offloaded")


def _states() -> tuple[State, ...]:
    found = []
    for base in BASES:
        for task in TASK_STATES[base]:
            name = base if task is None else "%s/%s" % (base, task)
            found.append(State(
                name, base, task,
                vm_state="building" if base == "building_unlaunched"
                else None))
    for base in LOCKED:
        found.append(State(base + "+locked", base, locked=True))
    return tuple(found)


STATES = _states()
STATES_BY_NAME = {s.name: s for s in STATES}


@dataclasses.dataclass(frozen=True)
class Request:
    """A server request kind: method, path below ``/servers/{id}``, body.

    ``bodies`` maps the lowest microversion at which a body is valid to
    that body (``None``: no body); the highest not above the requested
    microversion is sent. ``since``: the request exists from that
    microversion on (it is still sent below: Nova answers 404 there).
    """

    name: str
    method: str
    tail: str
    bodies: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: {"2.1": None})
    since: str = "2.1"

    def body(self, microversion: str) -> Any:
        """The body sent at ``microversion``."""
        key = cells_mod.microversion_key
        usable = [mv for mv in self.bodies if key(mv) <= key(microversion)]
        return self.bodies[max(usable or list(self.bodies), key=key)]


def _action(name: str, body: Any, since: str = "2.1",
            later: Mapping[str, Any] | None = None) -> Request:
    bodies = {"2.1": body}
    bodies.update(later or {})
    return Request(name, "POST", "action", bodies, since)


REQUESTS: tuple[Request, ...] = (
    Request("DELETE", "DELETE", ""),
    _action("os-start", {"os-start": None}),
    _action("os-stop", {"os-stop": None}),
    _action("reboot SOFT", {"reboot": {"type": "SOFT"}}),
    _action("reboot HARD", {"reboot": {"type": "HARD"}}),
    _action("resize", {"resize": {"flavorRef": "{flavor}"}}),
    _action("migrate", {"migrate": None}),
    _action("confirmResize", {"confirmResize": None}),
    _action("revertResize", {"revertResize": None}),
    _action("rebuild", {"rebuild": {"imageRef": "{image}"}}),
    _action("createImage", {"createImage": {"name": "snap"}}),
    _action("createBackup", {"createBackup": {
        "name": "backup", "backup_type": "daily", "rotation": 1}}),
    _action("changePassword", {"changePassword": {"adminPass": "s3cr3t!"}}),
    _action("pause", {"pause": None}),
    _action("unpause", {"unpause": None}),
    _action("suspend", {"suspend": None}),
    _action("resume", {"resume": None}),
    _action("rescue", {"rescue": None}),
    _action("unrescue", {"unrescue": None}),
    _action("shelve", {"shelve": None}),
    _action("shelveOffload", {"shelveOffload": None}),
    _action("unshelve", {"unshelve": None}),
    _action("os-migrateLive", {"os-migrateLive": {
        "host": None, "block_migration": False, "disk_over_commit": False}},
        later={"2.25": {"os-migrateLive": {
            "host": None, "block_migration": "auto"}}}),
    _action("evacuate", {"evacuate": {"onSharedStorage": False}},
            later={"2.14": {"evacuate": {}}}),
    _action("forceDelete", {"forceDelete": None}),
    _action("restore", {"restore": None}),
    _action("trigger_crash_dump", {"trigger_crash_dump": None},
            since="2.17"),
    _action("lock", {"lock": None}),
    _action("unlock", {"unlock": None}),
    Request("attach interface", "POST", "os-interface",
            {"2.1": {"interfaceAttachment": {"net_id": "{network}"}}}),
    Request("detach interface", "DELETE", "os-interface/{port}"),
    Request("attach volume", "POST", "os-volume_attachments",
            {"2.1": {"volumeAttachment": {"volumeId": "{new_volume}"}}}),
    Request("swap volume", "PUT", "os-volume_attachments/{volume}",
            {"2.1": {"volumeAttachment": {"volumeId": "{new_volume}"}}}),
    Request("update volume attachment", "PUT",
            "os-volume_attachments/{volume}",
            {"2.85": {"volumeAttachment": {
                "volumeId": "{volume}", "delete_on_termination": True}}},
            since="2.85"),
    Request("detach volume", "DELETE", "os-volume_attachments/{volume}"),
    Request("create metadata", "POST", "metadata",
            {"2.1": {"metadata": {"color": "blue"}}}),
    Request("replace metadata", "PUT", "metadata",
            {"2.1": {"metadata": {"color": "green",
                                   "owner": "nova-compat"}}}),
    Request("set metadata item", "PUT", "metadata/color",
            {"2.1": {"meta": {"color": "red"}}}),
    Request("delete metadata item", "DELETE", "metadata/owner"),
    Request("delete missing metadata item", "DELETE", "metadata/nosuchkey"),
    Request("force complete migration", "POST", "migrations/1/action",
            {"2.22": {"force_complete": None}}, since="2.22"),
    Request("abort migration", "DELETE", "migrations/1", since="2.24"),
)
REQUESTS_BY_NAME = {r.name: r for r in REQUESTS}

#: Microversions measured, each with why: 2.1 and latest for every
#: request, and each microversion where a route or a message of a
#: request changes, for those requests (the key of
#: :data:`MICROVERSION_REQUESTS`).
MICROVERSIONS: Mapping[str, str] = {
    "2.1": "the base API",
    "2.14": "evacuate without onSharedStorage",
    "2.17": "trigger_crash_dump appears",
    "2.22": "force complete of a live migration appears",
    "2.24": "abort of a live migration appears",
    "2.25": "live migration's block_migration 'auto'",
    "2.73": "lock takes a reason",
    "2.85": "a volume attachment can be updated (PUT, same volume)",
    "latest": "the newest",
}
#: The requests measured at each microversion (absent: every request).
MICROVERSION_REQUESTS: Mapping[str, tuple[str, ...]] = {
    "2.14": ("evacuate",),
    "2.17": ("trigger_crash_dump",),
    "2.22": ("force complete migration",),
    "2.24": ("abort migration",),
    "2.25": ("os-migrateLive",),
    "2.73": ("lock", "unlock"),
    "2.85": ("update volume attachment", "swap volume"),
}


def requests_at(microversion: str, names: tuple[str, ...]
                ) -> tuple[str, ...]:
    """Which of ``names`` are measured at ``microversion``."""
    only = MICROVERSION_REQUESTS.get(microversion)
    return names if only is None else tuple(n for n in names if n in only)


CALLERS = ("admin", "member")


@dataclasses.dataclass(frozen=True)
class Variant:
    """A path, body or header variant of a canonical request.

    ``path``: how the path is written (format keys ``version``,
    ``project``, ``server``, ``tail``); ``body``: the raw body instead of
    the canonical JSON (format key ``json`` is the canonical body);
    ``headers`` added or replaced (``None`` removes one); ``chunked``:
    sent with ``Transfer-Encoding: chunked`` and no length; ``method``
    replaces the method.
    """

    name: str
    path: str = "/{version}/servers/{server}{tail}"
    body: str | None = None
    headers: Mapping[str, str | None] = dataclasses.field(
        default_factory=dict)
    chunked: bool = False
    method: str | None = None


VARIANTS: tuple[Variant, ...] = (
    Variant("double slashes", path="//{version}//servers//{server}/{tail}"),
    Variant("project id in path",
            path="/{version}/{project}/servers/{server}{tail}"),
    Variant("legacy v2 prefix with project",
            path="/v2/{project}/servers/{server}{tail}"),
    Variant("upper-case uuid", path="/{version}/servers/{SERVER}{tail}"),
    Variant("trailing slash", path="/{version}/servers/{server}{tail}/"),
    Variant("%-encoded path", path="/{version}/%73ervers/{server_pct}"
                                   "{tail_pct}"),
    Variant("dot segment", path="/{version}/servers/./{server}{tail}"),
    Variant("duplicate body key", body='{{"{key}": {value}, '
                                       '"{key}": {value}}}'),
    Variant("two body keys", body='{{"{key}": {value}, "lock": null}}'),
    Variant("whitespace and BOM body", body='\ufeff \n{json} \n'),
    Variant("chunked body", chunked=True),
    Variant("content-type with charset",
            headers={"Content-Type": "application/json; charset=UTF-8"}),
    Variant("content-type upper case",
            headers={"Content-Type": "APPLICATION/JSON"}),
    Variant("content-type text/plain", headers={"Content-Type":
                                                "text/plain"}),
    Variant("content-type xml", headers={"Content-Type": "application/xml"}),
    Variant("no content-type", headers={"Content-Type": None}),
    Variant("method override to DELETE", method="POST",
            headers={"X-HTTP-Method-Override": "DELETE"}),
    Variant("method override from GET", method="GET",
            headers={"X-HTTP-Method-Override": "POST"}),
    Variant("microversion 2.999", headers={
        "OpenStack-API-Version": "compute 2.999",
        "X-OpenStack-Nova-API-Version": "2.999"}),
)

#: (state, request) pairs the variants are sent in: each a request the
#: guard refuses in that state (for the canonical form), so a variant the
#: guard lets through is a bypass when Nova routes it to the action.
VARIANT_TARGETS: tuple[tuple[str, str], ...] = (
    ("stopped", "os-stop"),
    ("active", "unpause"),
    ("active/rebooting", "reboot SOFT"),
    ("paused", "os-start"),
    ("shelved_offloaded", "detach interface"),
    ("active/deleting", "delete metadata item"),
    ("active/migrating", "attach volume"),
)


@dataclasses.dataclass(frozen=True)
class Slice:
    """Which part of the table a run measures."""

    name: str
    states: tuple[str, ...]
    microversions: tuple[str, ...]
    callers: tuple[str, ...] = CALLERS
    requests: tuple[str, ...] = tuple(r.name for r in REQUESTS)
    variants: bool = True
    variant_targets: tuple[tuple[str, str], ...] = VARIANT_TARGETS


#: A representative slice for CI (a few minutes on two cores): the
#: commonest states, one with a task running, one locked, one never
#: launched, one resized and one offloaded (the kinds of difference the
#: issue names); every request at 2.1 and latest, both callers; every
#: variant on two requests.
CI_STATES = ("active", "stopped", "paused", "shelved_offloaded", "resized",
             "active/rebooting", "building_unlaunched/scheduling",
             "active+locked")
CI_VARIANT_TARGETS = (("stopped", "os-stop"),
                      ("active/rebooting", "reboot SOFT"))

SLICES: Mapping[str, Slice] = {
    "ci": Slice("ci", CI_STATES, ("2.1", "latest"),
                variant_targets=CI_VARIANT_TARGETS),
    "full": Slice("full", tuple(s.name for s in STATES),
                  tuple(MICROVERSIONS)),
}


def fill(template: Any, values: Mapping[str, str]) -> Any:
    """``template`` (a body or path) with ``{placeholders}`` replaced in
    every string, keys included."""
    if isinstance(template, str):
        for key, value in values.items():
            template = template.replace("{%s}" % key, value)
        return template
    if isinstance(template, dict):
        return {fill(k, values): fill(v, values)
                for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template
