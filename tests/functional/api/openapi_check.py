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

"""Checking real responses against the served OpenAPI description."""

import json
import re
from typing import Any

from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import oas30_format_checker

from vmstate.api import openapi


def _inline(node: Any, spec: dict[str, Any]) -> Any:
    """The schema with every ``$ref`` replaced by what it points to."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return _inline(target, spec)
        return {k: _inline(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, spec) for v in node]
    return node


def _template(path: str, spec: dict[str, Any]) -> str | None:
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) or re.match(pattern, path + "/"):
            return template
    return None


class ContractError(AssertionError):
    pass


def check(method: str, path: str, status: int, content_type: str,
          body: bytes) -> None:
    """Raise when the response is not one the description promises.

    Every documented operation must describe the status it answered with,
    and the body must match that response's schema.
    """
    spec = openapi.document()
    template = _template(path, spec)
    if template is None:
        if status in (404, 405):
            return
        raise ContractError("%s %s answered %d but is not described"
                            % (method, path, status))
    operation = spec["paths"][template].get(method.lower())
    if operation is None:
        if status == 405:
            return
        raise ContractError("%s %s (%s) is not described" % (
            method, path, template))
    responses = operation["responses"]
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        raise ContractError("%s %s answered %d, which the description of %s "
                            "does not list (it lists %s)" % (
                                method, path, status, template,
                                ", ".join(sorted(responses))))
    response = _inline(response, spec)
    media = response.get("content", {}).get("application/json")
    if media is None:
        return
    if content_type != "application/json":
        raise ContractError("%s %s answered %s, not JSON" % (
            method, path, content_type))
    validator = OAS30Validator(media["schema"],
                               format_checker=oas30_format_checker)
    errors = list(validator.iter_errors(json.loads(body)))
    if errors:
        raise ContractError("%s %s %d: body does not match the description: "
                            "%s" % (method, path, status, errors[0]))
