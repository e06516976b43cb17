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

"""The fake cloud's flavors and images: fixed, read-only data.

What a client looks up before it creates a server. Flavors are Nova's
(``GET /v2.1/flavors[/detail]``, ``/flavors/{id}``), in Nova's shape.
Images are answered in the shape of Glance's v2 API: with ``auth_type
none`` a client has a single endpoint, the compute one, and the openstack
CLI resolves ``--image NAME`` there as it would on Glance, with
``GET <endpoint>/images/NAME`` and then ``GET <endpoint>/images?name=NAME``.
(Nova's own deprecated image proxy under ``/v2.1/images`` answered
``{"image": {...}}``; no client of the fake reads that shape.)
"""

from typing import Any

# Nova's classic default flavors (ids as nova-manage created them).
FLAVORS: tuple[dict[str, Any], ...] = (
    {"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "vcpus": 1},
    {"id": "2", "name": "m1.small", "ram": 2048, "disk": 20, "vcpus": 1},
    {"id": "3", "name": "m1.medium", "ram": 4096, "disk": 40, "vcpus": 2},
    {"id": "4", "name": "m1.large", "ram": 8192, "disk": 80, "vcpus": 4},
    {"id": "5", "name": "m1.xlarge", "ram": 16384, "disk": 160,
     "vcpus": 8},
)

IMAGES: tuple[dict[str, Any], ...] = (
    {"id": "a5e4d1c2-8f3b-4c6e-9d7a-0b1c2d3e4f50", "name": "cirros",
     "disk_format": "qcow2", "container_format": "bare",
     "size": 21430272, "min_disk": 0, "min_ram": 0},
)
IMAGES_CREATED = "2026-01-01T00:00:00Z"


def flavor(ref: str) -> dict[str, Any] | None:
    """The flavor whose id is ``ref`` (Nova's flavorRef is an id)."""
    for entry in FLAVORS:
        if entry["id"] == ref:
            return entry
    return None


def image(ref: str) -> dict[str, Any] | None:
    """The image whose id, or else name, is ``ref``."""
    for key in ("id", "name"):
        for entry in IMAGES:
            if entry[key] == ref:
                return entry
    return None


def flavor_view(entry: dict[str, Any], links: list[dict[str, str]],
                detail: bool = True) -> dict[str, Any]:
    """Nova's flavor (microversion 2.1): ``{"id", "name", "links"}``, and
    the sizes with ``detail``."""
    view: dict[str, Any] = {"id": entry["id"], "name": entry["name"],
                            "links": links}
    if detail:
        view.update({
            "ram": entry["ram"], "disk": entry["disk"],
            "vcpus": entry["vcpus"], "swap": "",
            "rxtx_factor": 1.0,
            "OS-FLV-EXT-DATA:ephemeral": 0,
            "OS-FLV-DISABLED:disabled": False,
            "os-flavor-access:is_public": True})
    return view


def image_view(entry: dict[str, Any]) -> dict[str, Any]:
    """Glance v2's image: its fields at the top level, no wrapper."""
    return {
        "id": entry["id"], "name": entry["name"], "status": "active",
        "visibility": "public", "protected": False, "os_hidden": False,
        "disk_format": entry["disk_format"],
        "container_format": entry["container_format"],
        "size": entry["size"], "virtual_size": None,
        "min_disk": entry["min_disk"], "min_ram": entry["min_ram"],
        "checksum": None, "owner": None, "tags": [],
        "created_at": IMAGES_CREATED, "updated_at": IMAGES_CREATED,
        "self": "/v2/images/%s" % entry["id"],
        "file": "/v2/images/%s/file" % entry["id"],
        "schema": "/v2/schemas/image"}


def images(name: str | None = None) -> list[dict[str, Any]]:
    """Glance v2's image list, filtered on ``name`` when given."""
    return [image_view(e) for e in IMAGES
            if name is None or e["name"] == name]
