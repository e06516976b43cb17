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

"""JSON schemas of the request bodies.

State names are enumerated from the process matrix, so a body naming a
state the matrix does not know is refused with the list of valid ones.
"""

from typing import Any

from vmstate import states
from vmstate.matrix import Matrix

# \Z, not $: Python's $ also matches before a final newline.
UUID_PATTERN = ("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                "[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\Z")
# No surrounding whitespace: MySQL's collations ignore trailing spaces, so
# "p1 " would name project "p1" there.
PROJECT_ID = {"type": "string", "minLength": 1, "maxLength": 255,
              "pattern": "^\\S(.*\\S)?\\Z"}
VERSION = {"type": "integer", "minimum": 1, "maximum": 2 ** 63 - 1}
POWER_STATE = {"type": "integer", "enum": list(states.POWER_STATES)}
REASON = {"type": "string", "maxLength": 255}
#: A task's id as the API shows it (``null``: no task running).
TASK_ID = {"type": ["string", "null"], "pattern": UUID_PATTERN}


def vm_state(matrix: Matrix) -> dict[str, Any]:
    return {"type": "string", "enum": list(matrix.vm_states)}


def task_state(matrix: Matrix) -> dict[str, Any]:
    return {"enum": [None, *matrix.task_states]}


def state_properties(matrix: Matrix) -> dict[str, Any]:
    """The three state attributes, as bodies may set or expect them."""
    return {"vm_state": vm_state(matrix), "task_state": task_state(matrix),
            "power_state": POWER_STATE}


def create(matrix: Matrix) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "instance": {
                "type": "object",
                "properties": {
                    "uuid": {"type": "string", "pattern": UUID_PATTERN},
                    "project_id": PROJECT_ID,
                    **state_properties(matrix),
                },
                "additionalProperties": False,
            },
        },
        "required": ["instance"],
        "additionalProperties": False,
    }


def action(matrix: Matrix) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "minLength": 1, "maxLength": 255},
            "reason": REASON,
            "queue": {"type": "boolean"},
        },
        "required": ["action"],
        "additionalProperties": False,
    }


def update(matrix: Matrix) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "instance": {
                "type": "object",
                "properties": state_properties(matrix),
                "additionalProperties": False,
                "minProperties": 1,
            },
            "expected": {
                "type": "object",
                "properties": {
                    "vm_state": vm_state(matrix),
                    "task_state": task_state(matrix),
                    "task_id": TASK_ID,
                    "version": VERSION,
                },
                "additionalProperties": False,
                "minProperties": 1,
            },
            "reason": REASON,
        },
        "required": ["instance", "expected"],
        "additionalProperties": False,
    }
