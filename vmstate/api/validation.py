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

"""Request validation: JSON bodies against schemas, query strings by rule.

Every refusal is a 400 that names the field and what was wrong with it;
nothing is half-applied because validation runs before any work.
"""

from collections.abc import Mapping
import json
import re
from typing import Any

import jsonschema
import webob
import webob.multidict

from vmstate import exception

JSON_TYPES = ("application/json",)


def body(request: webob.Request, schema: Mapping[str, Any]) -> Any:
    """The request's JSON body, validated against ``schema``.

    :raises Invalid: for a non-JSON content type, malformed JSON, or a body
        that does not match the schema (unknown fields, wrong types).
    """
    if request.content_type and request.content_type not in JSON_TYPES:
        raise UnsupportedMediaType(
            "Content-Type %s is not supported; send application/json"
            % request.content_type)
    raw = request.body
    if not raw:
        raise exception.Invalid("The request body is empty; a JSON object "
                                "is required")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise exception.Invalid("The request body is not UTF-8") from None
    except ValueError as err:
        raise exception.Invalid("Malformed request body: %s" % err) from None
    validate(data, schema)
    return data


def validate(data: Any, schema: Mapping[str, Any]) -> None:
    """:raises Invalid: naming the first error by its path in the body."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data),
                    key=lambda e: (len(e.absolute_path), list(
                        map(str, e.absolute_path))))
    if errors:
        raise exception.Invalid("Invalid input for field/attribute %s: %s" % (
            _path(errors[0]), errors[0].message))


def _path(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "body"


class UnsupportedMediaType(exception.Invalid):
    code = 415
    fault = "badMediaType"


# -- query strings ------------------------------------------------------------

_INTEGER = re.compile(r"-?[0-9]{1,18}")

def query(request: webob.Request,
          allowed: set[str]) -> webob.multidict.MultiDict:
    """The query parameters, refusing any not in ``allowed``.

    :raises Invalid: naming the unknown parameters.
    """
    params = request.GET
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise exception.Invalid(
            "Unknown query parameter(s): %s; allowed: %s" % (
                ", ".join(unknown), ", ".join(sorted(allowed))))
    return params


def single(params: Mapping[str, Any], name: str) -> str | None:
    """The one value of ``name``, or ``None``.

    :raises Invalid: when the parameter is repeated.
    """
    values = params.getall(name)  # type: ignore[attr-defined]
    if len(values) > 1:
        raise exception.Invalid("Query parameter %s may be given only once"
                                % name)
    return values[0] if values else None


def non_negative_int(value: str | None, name: str,
                     maximum: int | None = None) -> int | None:
    """Parse an integer query parameter that must be 0 or more.

    :raises Invalid: when it is not an integer or is negative.
    """
    if value is None:
        return None
    if not _INTEGER.fullmatch(value):
        raise exception.Invalid("%s must be an integer, not %r" % (
            name, value))
    number = int(value)
    if number < 0:
        raise exception.Invalid("%s must be 0 or more, not %d" % (
            name, number))
    if maximum is not None:
        number = min(number, maximum)
    return number


_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")


def seconds(value: str | None, name: str,
            maximum: float | None = None) -> float | None:
    """Parse a duration query parameter: seconds >= 0, decimals allowed.

    A value above ``maximum`` is lowered to it (as ``limit`` is).

    :raises Invalid: when it is not a plain non-negative number (no sign,
        exponent, ``inf`` or ``nan``).
    """
    if value is None:
        return None
    if not _SECONDS.fullmatch(value):
        raise exception.Invalid(
            "%s must be a number of seconds >= 0 (e.g. 30 or 0.5), not %r"
            % (name, value))
    number = float(value)
    if maximum is not None:
        number = min(number, maximum)
    return number
