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



"""A committed state transition as the event bus carries it.

:class:`StateChange` is what subscribers receive: the instance's new
state and version, and (when the channel could carry it) the whole
instance and the history row. The version is what makes delivery safe to
repeat and to reorder: a waiter ignores versions it has seen, and a
version more than one above the last it saw tells it that it missed
something, which the history fills in.

Across processes a change travels as JSON (:func:`encode`,
:func:`decode`); datetimes as ISO 8601 strings.
"""

from collections.abc import Mapping
import dataclasses
import datetime
import json
import types
from typing import Any

# The instance's datetime fields, and the history row's.
_INSTANCE_TIMES = ("created_at", "updated_at", "state_changed_at",
                   "task_started_at", "task_heartbeat_at")
_EVENT_TIMES = ("created_at",)


@dataclasses.dataclass(frozen=True)
class StateChange:
    """One committed transition of one instance.

    ``instance`` is the instance after the change (without ``"event"``)
    and ``event`` its history row; either is ``None`` when the channel
    carried only the states (a payload too large for it).
    """

    uuid: str
    version: int
    vm_state: str
    task_state: str | None
    power_state: int | None
    instance: Mapping[str, Any] | None = None
    event: Mapping[str, Any] | None = None

    @classmethod
    def from_instance(cls, instance: Mapping[str, Any]) -> "StateChange":
        """The change a state-store write returned (with its ``event``)."""
        data = {k: v for k, v in instance.items() if k != "event"}
        event = instance.get("event")
        return cls(uuid=data["uuid"], version=data["version"],
                   vm_state=data["vm_state"], task_state=data["task_state"],
                   power_state=data.get("power_state"),
                   instance=types.MappingProxyType(data),
                   event=(None if event is None
                          else types.MappingProxyType(dict(event))))

    def states_only(self) -> "StateChange":
        """The same change without the instance and the history row."""
        return dataclasses.replace(self, instance=None, event=None)


def encode(change: StateChange, origin: str) -> str:
    """``change`` as compact JSON, tagged with the sending process."""
    return json.dumps({
        "origin": origin, "uuid": change.uuid, "version": change.version,
        "vm_state": change.vm_state, "task_state": change.task_state,
        "power_state": change.power_state,
        "instance": _dump_times(change.instance, _INSTANCE_TIMES),
        "event": _dump_times(change.event, _EVENT_TIMES),
    }, separators=(",", ":"), sort_keys=True)


def decode(text: str) -> tuple[str | None, StateChange]:
    """``(origin, change)`` from :func:`encode`'s JSON.

    :raises ValueError: the text is not such a message.
    """
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("an event message is a JSON object")
    try:
        version = data["version"]
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValueError("version must be an integer")
        instance = _load_times(data.get("instance"), _INSTANCE_TIMES)
        event = _load_times(data.get("event"), _EVENT_TIMES)
        change = StateChange(
            uuid=str(data["uuid"]), version=version,
            vm_state=data["vm_state"], task_state=data["task_state"],
            power_state=data.get("power_state"),
            instance=(None if instance is None
                      else types.MappingProxyType(instance)),
            event=None if event is None else types.MappingProxyType(event))
    except (KeyError, TypeError) as err:
        raise ValueError("malformed event message: %s" % err) from None
    return data.get("origin"), change


def _dump_times(mapping: Mapping[str, Any] | None,
                keys: tuple[str, ...]) -> dict[str, Any] | None:
    if mapping is None:
        return None
    out = dict(mapping)
    for key in keys:
        value = out.get(key)
        if isinstance(value, datetime.datetime):
            out[key] = value.isoformat()
    return out


def _load_times(mapping: Any, keys: tuple[str, ...]
                ) -> dict[str, Any] | None:
    if mapping is None:
        return None
    if not isinstance(mapping, dict):
        raise TypeError("expected an object, not %r" % (mapping,))
    out = dict(mapping)
    for key in keys:
        value = out.get(key)
        if isinstance(value, str):
            out[key] = datetime.datetime.fromisoformat(value)
    return out
