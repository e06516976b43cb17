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

"""The root (version discovery), ``/v1`` and ``/v1/matrix``."""

from typing import Any

import pecan

from vmstate.api import microversions
from vmstate.api import openapi
from vmstate.api import policy
from vmstate.api.controllers import common
from vmstate.api.controllers import instances
from vmstate.matrix import loader


def _version(href: str) -> dict[str, Any]:
    return {
        "id": "v1",
        "status": "CURRENT",
        "version": microversions.MAX_VERSION,
        "min_version": microversions.MIN_VERSION,
        "links": [{"rel": "self", "href": href},
                  {"rel": "describedby", "type": "application/json",
                   "href": href + "openapi.json"}],
    }


class MatrixController:
    @pecan.expose(generic=True, template="json")
    def index(self) -> None:
        pecan.abort(405)

    @index.when(method="GET", template="json")
    def show(self) -> dict[str, Any]:
        policy.authorize("vmstate:matrix:get", pecan.request.context, {})
        return {"matrix": loader.get().as_dict()}


class V1Controller:
    instances = instances.InstancesController()
    matrix = MatrixController()

    @pecan.expose(generic=True, template="json")
    def index(self) -> None:
        pecan.abort(405)

    @index.when(method="GET", template="json")
    def show(self) -> dict[str, Any]:
        return {"version": _version(common.link("/v1/"))}

    @pecan.expose(generic=True)
    def openapi_json(self) -> None:
        pecan.abort(405)

    @openapi_json.when(method="GET", template="json")
    def openapi_get(self) -> dict[str, Any]:
        return openapi.document()

    @pecan.expose()
    def _route(self, args: list[str], request: Any) -> Any:
        head, rest = (args[0], args[1:]) if args else ("", [])
        if head == "" and not rest:
            return self.index, []
        if head == "instances":
            return self.instances._route(rest, request)
        if rest in ([], [""]):
            if head == "matrix":
                return self.matrix.index, []
            if head == "openapi.json":
                return self.openapi_json, []
        pecan.abort(404)


class RootController:
    v1 = V1Controller()

    @pecan.expose(generic=True, template="json")
    def index(self) -> None:
        pecan.abort(405)

    @index.when(method="GET", template="json")
    def versions(self) -> dict[str, Any]:
        return {"versions": [
            _version(common.link("/v1/"))]}

    @pecan.expose()
    def _route(self, args: list[str], request: Any) -> Any:
        head, rest = (args[0], args[1:]) if args else ("", [])
        if head == "" and not rest:
            return self.index, []
        if head == "v1":
            return self.v1._route(rest, request)
        pecan.abort(404)
