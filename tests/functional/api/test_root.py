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

"""Versions, the matrix, health, request ids and the generic errors."""

from unittest import mock

from tests.functional.api import base
from vmstate import matrix


class TestRoot(base.APITestCase):

    def test_versions(self):
        res = self.get("/")
        versions = res.json["versions"]
        self.assertEqual(["v1"], [v["id"] for v in versions])
        self.assertEqual("CURRENT", versions[0]["status"])
        self.assertTrue(versions[0]["links"][0]["href"].endswith("/v1/"))

    def test_v1(self):
        for path in ("/v1", "/v1/"):
            res = self.get(path)
            self.assertEqual("v1", res.json["version"]["id"])

    def test_versions_for_any_caller(self):
        for headers in (base.OWNER, base.OTHER, base.SERVICE):
            self.get("/", headers=headers)

    def test_unknown_path_is_a_404_fault(self):
        for path in ("/v2", "/v1/nothing", "/v1/matrix/x",
                     "/v1/instances/%s/nothing" % self.new_uuid(),
                     "/v1/instances/%s/actions/x" % self.new_uuid()):
            res = self.get(path, status=404)
            self.fault(res, "itemNotFound", 404)

    def test_wrong_method_is_a_405_fault_with_allow(self):
        cases = [("delete", "/", "GET"),
                 ("post", "/v1/matrix", "GET"),
                 ("put", "/v1/instances", "GET, POST"),
                 ("delete", "/v1/instances/%s" % self.new_uuid(),
                  "GET, PATCH"),
                 ("get", "/v1/instances/%s/actions" % self.new_uuid(),
                  "POST"),
                 ("post", "/v1/instances/%s/events" % self.new_uuid(),
                  "GET")]
        for method, path, allow in cases:
            res = getattr(self.app, method)(path, status=405,
                                            expect_errors=True)
            self.fault(res, "badMethod", 405)
            self.assertEqual(allow, res.headers["Allow"], path)

    def test_request_id_on_success_and_error(self):
        ok = self.get("/v1/matrix")
        err = self.get("/v1/instances/%s" % self.new_uuid(), status=404)
        for res in (ok, err):
            self.assertTrue(res.headers["x-openstack-request-id"]
                            .startswith("req-"))
        self.assertNotEqual(ok.headers["x-openstack-request-id"],
                            err.headers["x-openstack-request-id"])

    def test_healthcheck(self):
        self.app.get("/healthcheck", status=200)
        self.app.head("/healthcheck", status=204)

    def test_lost_database_is_a_503_and_a_deadlock_a_409(self):
        from oslo_db import exception as db_exc

        uuid = self.new_uuid()
        with mock.patch("vmstate.db.action_queue.instance_with_queue",
                        side_effect=db_exc.DBConnectionError("gone")):
            res = self.get("/v1/instances/%s" % uuid, status=503)
        self.fault(res, "serviceUnavailable", 503)
        self.assertEqual("5", res.headers["Retry-After"])
        with mock.patch("vmstate.db.action_queue.instance_with_queue",
                        side_effect=db_exc.DBDeadlock("locked")):
            res = self.get("/v1/instances/%s" % uuid, status=409)
        self.fault(res, "conflictingRequest", 409)

    def test_unexpected_error_is_a_500_without_details(self):
        with mock.patch("vmstate.db.action_queue.instance_with_queue",
                        side_effect=RuntimeError("secret detail")):
            res = self.get("/v1/instances/%s" % self.new_uuid(), status=500)
        fault = self.fault(res, "computeFault", 500)
        self.assertNotIn("secret", fault["message"])


class TestMatrix(base.APITestCase):

    def test_matrix_is_the_effective_one(self):
        res = self.get("/v1/matrix", headers=base.OTHER)
        self.assertEqual({"matrix": matrix.get().as_dict()}, res.json)
        body = res.json["matrix"]
        self.assertEqual(["nova"], body["plugins"])
        self.assertIn("reboot", body["actions"])
        self.assertIn("soft-delete", body["vm_states"])
        self.assertIn("powering-off", body["task_states"])
        cell = {(c["vm_state"], c["task_state"]): c["actions"]
                for c in body["allowed"]}
        self.assertIn("reboot", cell[("active", None)])
        self.assertNotIn("reboot", cell[("stopped", None)])
        self.assertEqual(["delete", "force_delete", "soft_delete"],
                         sorted(cell[("building", "spawning")]))

    def test_matrix_follows_configuration(self):
        self.flags(group="matrix", plugins=["blueprint"])
        res = self.get("/v1/matrix")
        self.assertEqual(["blueprint"], res.json["matrix"]["plugins"])
        self.assertIn("terminate", res.json["matrix"]["actions"])


class TestOpenAPI(base.APITestCase):

    def test_served_description_is_valid(self):
        from openapi_spec_validator import validate

        res = self.get("/v1/openapi.json")
        self.assertEqual("application/json", res.content_type)
        validate(res.json)
        self.assertIn("/v1/instances/{uuid}/actions", res.json["paths"])
