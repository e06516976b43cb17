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

"""The payloads of vmstate's notifications, as versioned objects.

As Nova's and Ironic's versioned notifications: each payload is an
oslo.versionedobjects class with a version, serialized as
``{"vmstate_object.name", "vmstate_object.namespace": "vmstate",
"vmstate_object.version", "vmstate_object.data"}``. Consumers read the
version to know the schema. Changing a payload's fields without raising
its version fails ``tests.unit.lifecycle.test_payloads`` (the fingerprint
of every class is recorded there), and every change is a new version: a
field added is a minor version (consumers of 1.0 ignore it), a field
removed or retyped a major one.

The state snapshots (``from``, ``to``) and the fault travel as plain JSON
objects inside ``data``, as they did before these classes existed, so a
consumer of payload 1.0 reads them unchanged.
"""

from typing import TYPE_CHECKING
from typing import Any

from oslo_versionedobjects import base
from oslo_versionedobjects import fields

NAMESPACE = "vmstate"
SNAPSHOT_KEYS = ("vm_state", "task_state", "power_state")

# oslo.versionedobjects' field classes are generic only in its typed
# releases (not at the lower bound, 3.0.0): subscripted for the checker.
if TYPE_CHECKING:
    _DictFieldType = fields.FieldType[dict[str, Any]]
    _DictAutoTypedField = fields.AutoTypedField[dict[str, Any]]
else:
    _DictFieldType = fields.FieldType
    _DictAutoTypedField = fields.AutoTypedField


class VMStateObjectRegistry(base.VersionedObjectRegistry):
    """vmstate's own registry, so its classes never mix with a host's."""


class _Dict(_DictFieldType):
    """A field that travels as a plain dict (a copy each way)."""

    @staticmethod
    def to_primitive(obj: Any, attr: str, value: Any) -> dict[str, Any]:
        return dict(value)

    @staticmethod
    def from_primitive(obj: Any, attr: str, value: Any) -> dict[str, Any]:
        return dict(value)


class _Snapshot(_Dict):
    """``{"vm_state", "task_state", "power_state"}``: strings or null, and
    an integer or null."""

    def coerce(self, obj: Any, attr: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or set(value) != set(SNAPSHOT_KEYS):
            raise ValueError("%s must be a mapping of exactly %s, not %r"
                             % (attr, ", ".join(SNAPSHOT_KEYS), value))
        for key in ("vm_state", "task_state"):
            if value[key] is not None and not isinstance(value[key], str):
                raise ValueError("%s.%s must be a string or null" % (attr,
                                                                     key))
        power = value["power_state"]
        if power is not None and (isinstance(power, bool)
                                  or not isinstance(power, int)):
            raise ValueError("%s.power_state must be an integer or null"
                             % attr)
        return {k: value[k] for k in SNAPSHOT_KEYS}


class SnapshotField(_DictAutoTypedField):
    AUTO_TYPE = _Snapshot()


class _JSONObject(_Dict):
    """A JSON object with string keys (a fault: its keys vary by kind)."""

    def coerce(self, obj: Any, attr: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not all(isinstance(k, str)
                                                  for k in value):
            raise ValueError("%s must be a mapping with string keys" % attr)
        return dict(value)


class JSONObjectField(_DictAutoTypedField):
    AUTO_TYPE = _JSONObject()


class NotificationPayloadBase(base.VersionedObject):
    """Base of every payload: vmstate's namespace and serialization."""

    OBJ_SERIAL_NAMESPACE = "vmstate_object"
    OBJ_PROJECT_NAMESPACE = NAMESPACE

    def to_primitive(self) -> dict[str, Any]:
        """The payload as it travels: name, namespace, version, data (no
        list of changed fields: a notification is not an update)."""
        self.obj_reset_changes(recursive=True)
        return self.obj_to_primitive()


@VMStateObjectRegistry.register
class InstanceTransitionPayload(NotificationPayloadBase):
    """``instance.transition``: one committed change of an instance.

    ``version`` is the instance's version after it (consecutive: a
    consumer sees gaps and order); ``from`` and ``to`` are full
    snapshots; ``task_id`` is the task running after it (null when idle);
    ``fault`` the last fault recorded, if any; ``created_at`` ISO 8601 UTC
    with microseconds.
    """

    # Version 1.0: the payload of the first release.
    VERSION = "1.0"

    fields = {
        "instance_uuid": fields.UUIDField(),
        "project_id": fields.StringField(nullable=True),
        "version": fields.IntegerField(),
        "action": fields.StringField(),
        "from": SnapshotField(),
        "to": SnapshotField(),
        "task_id": fields.StringField(nullable=True),
        "fault": JSONObjectField(nullable=True),
        "reason": fields.StringField(nullable=True),
        "request_id": fields.StringField(nullable=True),
        "user_id": fields.StringField(nullable=True),
        "created_at": fields.StringField(nullable=True),
    }


@VMStateObjectRegistry.register
class QueueDroppedPayload(NotificationPayloadBase):
    """``instance.queue.dropped``: a queued action that never started
    (``why``: the matrix refused it when its turn came)."""

    # Version 1.0: the payload of the first release.
    VERSION = "1.0"

    fields = {
        "instance_uuid": fields.UUIDField(),
        "action": fields.StringField(),
        "reason": fields.StringField(nullable=True),
        "why": fields.StringField(),
        "user_id": fields.StringField(nullable=True),
        "project_id": fields.StringField(nullable=True),
        "request_id": fields.StringField(nullable=True),
        "created_at": fields.StringField(nullable=True),
    }


def classes() -> dict[str, list[type[NotificationPayloadBase]]]:
    """Every payload class registered by vmstate, by name."""
    found: dict[str, list[type[NotificationPayloadBase]]] = {}
    for name, versions in VMStateObjectRegistry.obj_classes().items():
        payloads = [c for c in versions
                    if issubclass(c, NotificationPayloadBase)]
        if len(payloads) == len(versions):
            found[name] = payloads
    return found
