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
        raise exception.UnsupportedMediaType(
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
    except RecursionError:
        raise exception.Invalid("Malformed request body: nested too "
                                "deeply") from None
    check_text(data, "body")
    validate(data, schema)
    return data


# Characters no field of vmstate takes: C0 controls (NUL, newline, ...),
# DEL, and lone surrogates (which no database stores).
_BAD_CHARACTERS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def check_text(data: Any, where: str) -> None:
    """Refuse control characters and lone surrogates anywhere in ``data``.

    :raises Invalid: naming the field.
    """
    if isinstance(data, str):
        if _BAD_CHARACTERS.search(data):
            raise exception.Invalid(
                "Invalid input for field/attribute %s: control characters "
                "and unpaired surrogates are not allowed" % where)
    elif isinstance(data, dict):
        for key, value in data.items():
            check_text(key, where)
            check_text(value, "%s/%s" % (where, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            check_text(value, "%s/%d" % (where, index))


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


# -- query strings ------------------------------------------------------------

_INTEGER = re.compile(r"-?[0-9]{1,4300}")
BIGINT = 2 ** 63 - 1

def query(request: webob.Request,
          allowed: set[str]) -> webob.multidict.MultiDict[str, str]:
    """The query parameters, refusing any not in ``allowed``.

    :raises Invalid: naming the unknown parameters.
    """
    params = request.GET
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise exception.Invalid(
            "Unknown query parameter(s): %s; allowed: %s" % (
                ", ".join(unknown), ", ".join(sorted(allowed))))
    for name, value in params.items():
        check_text(value, name)
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
    if value.startswith("-"):
        raise exception.Invalid("%s must be 0 or more, not %s" % (
            name, value))
    # Any count of digits is an integer; beyond what a database column
    # holds it means "as many as there are", as a large limit does.
    number = min(int(value), maximum if maximum is not None else BIGINT)
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
