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

"""The notification payloads' versions: a change of fields without a new
version fails here (oslo.versionedobjects' ObjectVersionChecker, as in
Nova's and Ironic's object tests)."""

import warnings

from oslo_versionedobjects import fields
import testtools

from vmstate.lifecycle import payloads

with warnings.catch_warnings():
    # The fixture module imports oslo.service, which warns about eventlet.
    warnings.simplefilter("ignore")
    from oslo_versionedobjects import fixture

# When a test below fails: bump the class's VERSION (minor for a field
# added, major for one removed or retyped), say why in a comment beside
# it, update the sample in doc/notification_samples/, then the hash here.
EXPECTED = {
    "InstanceTransitionPayload": "1.0-12718cfba7e82a795de1aa56d0a7426d",
    "QueueDroppedPayload": "1.0-8d85566ae78a282c346dfaa4a589642e",
}

UUID = "b8f2c8a4-6a47-4d53-9e3f-2a1c0d4e5f60"
SNAPSHOT = {"vm_state": "active", "task_state": None, "power_state": 1}


class TestVersions(testtools.TestCase):

    def test_versions(self):
        checker = fixture.ObjectVersionChecker(payloads.classes())
        expected, actual = checker.test_hashes(EXPECTED)
        self.assertEqual(expected, actual,
                         "A payload changed: bump its VERSION and update "
                         "EXPECTED and the notification samples")

    def test_a_field_added_without_a_bump_is_caught(self):
        class Changed(payloads.NotificationPayloadBase):
            VERSION = "1.0"
            fields = dict(payloads.QueueDroppedPayload.fields,
                          host=fields.StringField(nullable=True))

        checker = fixture.ObjectVersionChecker(
            {"QueueDroppedPayload": [Changed]})
        expected, actual = checker.test_hashes(
            {"QueueDroppedPayload": EXPECTED["QueueDroppedPayload"]})
        self.assertEqual({"QueueDroppedPayload"}, set(actual))
        self.assertNotEqual(expected, actual)


class TestSerialization(testtools.TestCase):

    def transition(self, **kw):
        values = {"instance_uuid": UUID, "project_id": "p1", "version": 2,
                  "action": "reboot", "from": SNAPSHOT,
                  "to": dict(SNAPSHOT, task_state="rebooting"),
                  "task_id": None, "fault": None, "reason": None,
                  "request_id": None, "user_id": None, "created_at": None}
        values.update(kw)
        return payloads.InstanceTransitionPayload(**values)

    def test_the_wire_shape(self):
        fault = {"type": "TaskTimeout", "message": "m", "failures": 3}
        primitive = self.transition(fault=fault).to_primitive()
        self.assertEqual(
            {"vmstate_object.name", "vmstate_object.namespace",
             "vmstate_object.version", "vmstate_object.data"},
            set(primitive))
        self.assertEqual("vmstate", primitive["vmstate_object.namespace"])
        data = primitive["vmstate_object.data"]
        # Snapshots and faults stay plain JSON objects (payload 1.0).
        self.assertEqual(SNAPSHOT, data["from"])
        self.assertEqual(fault, data["fault"])
        self.assertEqual(sorted(payloads.InstanceTransitionPayload.fields),
                         sorted(data))

    def test_round_trip(self):
        payload = self.transition(reason="why")
        again = payloads.InstanceTransitionPayload.obj_from_primitive(
            payload.to_primitive())
        self.assertEqual(payload.to_primitive(), again.to_primitive())

    def test_malformed_values_are_refused(self):
        for kw in ({"from": {"vm_state": "active"}},
                   {"to": dict(SNAPSHOT, power_state="1")},
                   {"to": dict(SNAPSHOT, power_state=True)},
                   {"from": dict(SNAPSHOT, vm_state=3)},
                   {"fault": {1: "x"}},
                   {"fault": "boom"},
                   {"version": "two"}):
            self.assertRaises(ValueError, self.transition, **kw)
