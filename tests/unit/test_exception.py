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

"""The exception hierarchy: HTTP codes, Nova fault names and bodies."""

import json

from tests import base
from vmstate import exception

UUID = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"


class TestCodes(base.TestCase):

    def test_codes_and_fault_names(self):
        expected = {
            exception.Invalid: (400, "badRequest"),
            exception.UnknownAction: (400, "badRequest"),
            exception.Forbidden: (403, "forbidden"),
            exception.NotFound: (404, "itemNotFound"),
            exception.InstanceNotFound: (404, "itemNotFound"),
            exception.Conflict: (409, "conflictingRequest"),
            exception.StateConflict: (409, "conflictingRequest"),
            exception.InstanceInvalidState: (409, "conflictingRequest"),
            exception.TaskAborted: (409, "conflictingRequest"),
            exception.RequestTooLarge: (413, "requestEntityTooLarge"),
            exception.ServiceUnavailable: (503, "serviceUnavailable"),
        }
        for cls, (code, fault) in expected.items():
            self.assertEqual((code, fault), (cls.code, cls.fault),
                             cls.__name__)
            self.assertTrue(issubclass(cls, exception.VMStateError))

    def test_matrix_error_is_no_client_error(self):
        err = exception.MatrixError("bad plugin", plugin="site")
        self.assertEqual(500, err.code)
        self.assertEqual("site", err.details["plugin"])
        self.assertFalse(issubclass(exception.MatrixError,
                                    (exception.Invalid, exception.Conflict)))


class TestFaultBodies(base.TestCase):

    def test_plain_error(self):
        err = exception.Forbidden("Policy does not allow instances:delete")
        self.assertEqual({"forbidden": {
            "code": 403,
            "message": "Policy does not allow instances:delete"}},
            err.fault_body())
        self.assertEqual("Policy does not allow instances:delete", str(err))

    def test_details_travel_in_the_body(self):
        err = exception.RequestTooLarge("Request is too large.",
                                        limit=114688)
        self.assertEqual({"requestEntityTooLarge": {
            "code": 413, "message": "Request is too large.",
            "limit": 114688}}, err.fault_body())

    def test_bodies_are_json(self):
        err = exception.InstanceInvalidState("stop", UUID, "stopped", None,
                                             ["start", "delete"])
        body = json.loads(json.dumps(err.fault_body()))
        self.assertEqual(err.fault_body(), body)

    def test_unknown_action(self):
        err = exception.UnknownAction("teleport", ["stop", "reboot"])
        self.assertEqual("Unknown action 'teleport'; known actions: reboot, "
                         "stop", err.message)
        self.assertEqual("teleport", err.action)
        self.assertEqual({"badRequest": {
            "code": 400, "message": err.message}}, err.fault_body())
        self.assertEqual("Unknown action 'x'",
                         exception.UnknownAction("x").message)

    def test_instance_not_found(self):
        err = exception.InstanceNotFound(UUID)
        self.assertEqual({"itemNotFound": {
            "code": 404,
            "message": "Instance %s could not be found." % UUID}},
            err.fault_body())

    def test_state_conflict_reports_expected_and_actual(self):
        err = exception.StateConflict(
            UUID, {"task_state": None, "version": 3},
            {"task_state": "deleting", "version": 4})
        self.assertEqual(
            "Instance %s is not in the expected state: expected "
            "task_state=None, version=3, actual task_state=deleting, "
            "version=4" % UUID, err.message)
        body = err.fault_body()["conflictingRequest"]
        self.assertEqual({"task_state": None, "version": 3},
                         body["expected"])
        self.assertEqual({"task_state": "deleting", "version": 4},
                         body["actual"])

    def test_state_conflict_copies_its_mappings(self):
        expected = {"version": 1}
        err = exception.StateConflict(UUID, expected, {"version": 2})
        expected["version"] = 9
        self.assertEqual({"version": 1}, err.expected)

    def test_task_aborted(self):
        err = exception.TaskAborted(UUID, "snapshot",
                                    {"task_state": "image_uploading"},
                                    {"task_state": "deleting"})
        self.assertEqual(
            "Task snapshot on instance %s was preempted: expected "
            "task_state=image_uploading, actual task_state=deleting" % UUID,
            err.message)
        self.assertEqual("snapshot", err.action)
        self.assertIsInstance(err, exception.StateConflict)


class TestInstanceInvalidState(base.TestCase):

    def test_vm_state_message_and_body(self):
        err = exception.InstanceInvalidState(
            "stop", UUID, "stopped", None, ["start", "delete"])
        self.assertEqual("Cannot 'stop' instance %s while it is in "
                         "vm_state stopped" % UUID, str(err))
        self.assertEqual({"conflictingRequest": {
            "code": 409,
            "message": "Cannot 'stop' instance %s while it is in "
                       "vm_state stopped" % UUID,
            "action": "stop",
            "vm_state": "stopped",
            "task_state": None,
            "allowed_actions": ["delete", "start"],
        }}, err.fault_body())

    def test_task_state_message(self):
        err = exception.InstanceInvalidState(
            "reboot", UUID, "active", "rebooting", attribute="task_state")
        self.assertEqual("Cannot 'reboot' instance %s while it is in "
                         "task_state rebooting" % UUID, err.message)
        self.assertEqual([], err.allowed_actions)
        self.assertEqual("task_state", err.attribute)

    def test_is_a_state_conflict(self):
        err = exception.InstanceInvalidState("pause", UUID, "paused",
                                             None)
        self.assertIsInstance(err, exception.StateConflict)
        self.assertEqual({"action": "pause"}, err.expected)
        self.assertEqual({"vm_state": "paused", "task_state": None},
                         err.actual)
