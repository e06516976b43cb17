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

"""Request validation: JSON bodies and query strings against schemas.

Every refusal is a 400 that names the field and what was wrong with it;
nothing is half-applied because validation runs before any work.
"""

from collections.abc import Mapping
import json
import re
from typing import Any

import jsonschema
from oslo_utils import uuidutils
import webob
import webob.multidict

from vmstate import exception
from vmstate.api import query_schemas

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


_BAD_CHARACTERS = re.compile("[%s]" % query_schemas.BAD_CHARACTERS)


def check_text(data: Any, where: str) -> None:
    """Refuse control characters and lone surrogates anywhere in ``data``.

    :raises Invalid: naming the field.
    """
    if isinstance(data, str):
        if _BAD_CHARACTERS.search(data):
            raise exception.Invalid(
                query_schemas.TEXT_MESSAGE.format(name=where))
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

#: Formats the query schemas assert. ``uuid`` as Nova reads one
#: (``uuidutils.is_uuid_like``: any case, dashes or not), not
#: jsonschema's stricter dashed form.
QUERY_FORMATS = jsonschema.FormatChecker(formats=())
QUERY_FORMATS.checks("uuid")(uuidutils.is_uuid_like)

#: What an integer parameter beyond any column's range means: as many as
#: there are (a large ``limit``, a ``since`` past every version).
BIGINT = 2 ** 63 - 1


def query(request: webob.Request, schema: Mapping[str, Any]
          ) -> webob.multidict.MultiDict[str, str]:
    """The query parameters, validated against ``schema`` (one of
    :mod:`vmstate.api.query_schemas`) as a dict of lists, as Nova's
    ``query_schema`` validates them.

    :raises Invalid: with the first refusal, in the words the schema
        gives it (``x-messages``).
    """
    params = request.GET
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=QUERY_FORMATS)
    error = next(validator.iter_errors(params.dict_of_lists()), None)
    if error is not None:
        raise exception.Invalid(_query_message(error))
    return params


def _query_message(error: jsonschema.ValidationError) -> str:
    """A query refusal, from the template the failing schema keeps for
    its keyword: ``{name}`` the parameter, ``{value}`` the value (or the
    list of values) refused, ``{count}`` how many values, ``{unknown}`` and
    ``{allowed}`` the parameters not in the schema and those in it."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    template = schema.get("x-messages", {}).get(error.validator)
    name = str(error.path[0]) if error.path else ""
    if template is None:    # no words of our own: jsonschema's
        return "Invalid input for query parameter %s: %s" % (
            name or "(query)", error.message)
    instance = error.instance
    properties = schema.get("properties", {})
    unknown = (sorted(set(instance) - set(properties))
               if isinstance(instance, dict) else [])
    return str(template).format(
        name=name, value=instance,
        count=len(instance) if isinstance(instance, (list, dict)) else 1,
        unknown=", ".join(unknown), allowed=", ".join(sorted(properties)))


def integer(params: Mapping[str, Any], name: str,
            maximum: int = BIGINT) -> int | None:
    """The validated integer parameter ``name`` (``None``: not given),
    lowered to ``maximum``."""
    value = params.get(name)
    return None if value is None else min(int(value), maximum)


def seconds(params: Mapping[str, Any], name: str,
            maximum: float | None = None) -> float | None:
    """The validated duration parameter ``name`` (``None``: not given),
    lowered to ``maximum`` (as ``limit`` is)."""
    value = params.get(name)
    if value is None:
        return None
    number = float(value)
    return number if maximum is None else min(number, maximum)
