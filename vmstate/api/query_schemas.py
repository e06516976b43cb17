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

"""JSON schemas of the query strings, as Nova's ``query_schema``.

A query string is validated as Nova validates it: as a dict of lists
(``request.GET.dict_of_lists()``), each parameter a list of its values,
``additionalProperties`` false. The message a refusal gives is data too:
a schema may carry ``x-messages``, a template for each of its keywords
that can fail (see :func:`vmstate.api.validation.query`), so each
parameter says what was wrong with it in words of its own.

The keywords of a schema are checked in the order written, and the
first refusal is the answer: unknown parameters first, then characters no
field takes, then each parameter in the order of ``properties``.
"""

from typing import Any

from vmstate.matrix import Matrix

#: The most vm_states one wait may await in sequence.
MAX_WAIT_STATES = 16

# \Z, not $: Python's $ also matches before a final newline.
INTEGER_PATTERN = "^-?[0-9]{1,4300}\\Z"
SECONDS_PATTERN = "^[0-9]{1,9}(\\.[0-9]{1,6})?\\Z"
#: Characters no field of vmstate takes, bodies' and queries' alike: C0
#: controls (NUL, newline, ...), DEL, and lone surrogates (which no
#: database stores).
BAD_CHARACTERS = "\x00-\x1f\x7f\ud800-\udfff"
TEXT_PATTERN = "^[^%s]*\\Z" % BAD_CHARACTERS
TEXT_MESSAGE = ("Invalid input for field/attribute {name}: control "
                "characters and unpaired surrogates are not allowed")


def once(item: dict[str, Any]) -> dict[str, Any]:
    """A parameter given at most once, its value matching ``item``."""
    return {"type": "array", "maxItems": 1, "items": item,
            "x-messages": {
                "maxItems": "Query parameter {name} may be given only once"}}


#: An integer, 0 or more (any count of digits: beyond what a column holds
#: it means "as many as there are").
NON_NEGATIVE_INTEGER = {
    "allOf": [
        {"type": "string", "pattern": INTEGER_PATTERN,
         "x-messages": {
             "pattern": "{name} must be an integer, not {value!r}"}},
        {"not": {"pattern": "^-"},
         "x-messages": {"not": "{name} must be 0 or more, not {value}"}},
    ],
}

#: Seconds, 0 or more, decimals allowed: no sign, exponent, inf or nan.
SECONDS = {
    "type": "string", "pattern": SECONDS_PATTERN,
    "x-messages": {"pattern": "{name} must be a number of seconds >= 0 "
                              "(e.g. 30 or 0.5), not {value!r}"}}

#: An instance's uuid, as Nova's ``uuid`` format reads one
#: (``oslo_utils.uuidutils.is_uuid_like``).
INSTANCE_UUID = {
    "type": "string", "format": "uuid",
    "x-messages": {"format": "{name} {value!r} is not an instance uuid"}}


def _query(properties: dict[str, Any],
           required: tuple[str, ...] = (),
           messages: dict[str, str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        # Every value of every parameter, before what each one means.
        "allOf": [{"additionalProperties": {"type": "array", "items": {
            "type": "string", "pattern": TEXT_PATTERN,
            "x-messages": {"pattern": TEXT_MESSAGE}}}}],
        "required": list(required),
        "properties": properties,
        "x-messages": dict(messages or {}, additionalProperties=(
            "Unknown query parameter(s): {unknown}; allowed: {allowed}")),
    }
    return schema


def instances(matrix: Matrix) -> dict[str, Any]:
    """``GET /v1/instances``: its filters, checked before the policy
    (which depends on ``project_id``). The page (:data:`INSTANCES_PAGE`)
    is checked after it: a caller who may not list a project hears 403
    whatever its ``limit``."""
    vm_states = ", ".join(matrix.vm_states)
    task_states = ", ".join(matrix.task_states)
    return _query({
        "vm_state": {"type": "array", "items": {
            "enum": list(matrix.vm_states),
            "x-messages": {"enum": "{name} {value!r} is not one of: "
                                   + vm_states}}},
        # An empty value asks for instances with no task running.
        "task_state": {"type": "array", "items": {
            "enum": ["", *matrix.task_states],
            "x-messages": {"enum": "{name} {value!r} is not one of: "
                                   + task_states
                                   + " (or empty for no task)"}}},
        "project_id": once({"type": "string"}),
        # Named here, checked by INSTANCES_PAGE.
        "limit": {},
        "marker": {},
    })


#: The page of ``GET /v1/instances``, after :func:`instances` and the
#: policy.
INSTANCES_PAGE = {
    "type": "object",
    "properties": {
        "limit": once(NON_NEGATIVE_INTEGER),
        "marker": once(INSTANCE_UUID),
    },
}


#: ``GET /v1/instances/{uuid}/events``: the marker is the version of the
#: last event of the page before, the same cursor as ``since``.
EVENTS = _query({
    "since": once(NON_NEGATIVE_INTEGER),
    "marker": once(NON_NEGATIVE_INTEGER),
    "limit": once(NON_NEGATIVE_INTEGER),
})


def wait(matrix: Matrix) -> dict[str, Any]:
    """``GET /v1/instances/{uuid}/wait``."""
    return _query({
        "for": {
            "type": "array", "maxItems": MAX_WAIT_STATES,
            "x-messages": {"maxItems": "Wait for at most %d vm_states, not "
                                       "{count}" % MAX_WAIT_STATES},
            "items": {"enum": list(matrix.vm_states),
                      "x-messages": {"enum": "for {value!r} is not a "
                                             "vm_state; valid: "
                                             + ", ".join(matrix.vm_states)}},
        },
        "timeout": once(SECONDS),
    }, required=("for",), messages={
        "required": "Name the vm_state to wait for: for=<vm_state> (repeat "
                    "it for a sequence)"})
