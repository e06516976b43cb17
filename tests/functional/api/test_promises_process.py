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

"""Issue 11's cases through the real processes, on SQLite, PostgreSQL and
MariaDB: ``vmstate-api`` for the REST API, ``vmstate-fake-compute`` (and
openstacksdk) for Nova's API. Each case is the smallest input that broke a
promise before; each assertion is the right answer.
"""

import time

import openstack

from tests.functional.api import test_process
from tests.functional.db import base
from tests.functional.fake import test_openstacksdk as fake_test

SERVICE = {"X-Project-Id": "p-service", "X-User-Id": "nova",
           "X-Roles": "service"}


class _Promises:

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(test_process.APIProcess(
            "[database]\nconnection = %s\n" % self.url))

    def call(self, method, path, body=None, status=200, headers=None):
        got, answer = self.api.request(method, path, body, headers)
        self.assertEqual(status, got, answer)
        return answer

    def create(self, **values):
        return self.call("POST", "/v1/instances", {"instance": values},
                         status=201)["instance"]

    def act(self, uuid, action, status=202):
        return self.call("POST", "/v1/instances/%s/actions" % uuid,
                         {"action": action}, status=status)

    def report(self, uuid, values, expected, status=200):
        return self.call("PATCH", "/v1/instances/%s" % uuid,
                         {"instance": values, "expected": expected},
                         status=status, headers=SERVICE)

    def refused(self, uuid, action):
        fault = self.act(uuid, action, status=409)["conflictingRequest"]
        self.assertEqual([], fault["allowed_actions"], action)
        return fault

    def test_a_deleted_instance_never_comes_back(self):
        uuid = self.create(vm_state="active", task_state=None,
                           power_state=1)["uuid"]
        task = self.act(uuid, "delete")["instance"]
        self.assertEqual("deleting", task["task_state"])
        done = self.report(uuid, {"vm_state": "deleted"},
                           {"task_id": task["task_id"]})["instance"]
        self.assertEqual(("deleted", None, None, []),
                         (done["vm_state"], done["task_state"],
                          done["task_id"], done["allowed_actions"]))
        for action in ("soft_delete", "restore", "delete", "force_delete",
                       "start"):
            self.refused(uuid, action)
        fault = self.call("PATCH", "/v1/instances/%s" % uuid,
                          {"instance": {"vm_state": "active"}}, status=400,
                          headers=SERVICE)["badRequest"]
        self.assertIn("'expected' is a required property", fault["message"])
        self.report(uuid, {"vm_state": "active"},
                    {"version": done["version"]}, status=409)
        self.call("POST", "/v1/instances/%s/reset" % uuid,
                  {"vm_state": "active", "reason": "back"}, status=409)
        self.call("POST", "/v1/instances/%s/clear_error" % uuid,
                  {"reason": "back"}, status=409)
        power = self.call("PUT", "/v1/instances/%s/power_state" % uuid,
                          {"power_state": 1}, headers=SERVICE)
        self.assertFalse(power["changed"])
        shown = self.call("GET", "/v1/instances/%s" % uuid)["instance"]
        self.assertEqual(("deleted", done["version"]),
                         (shown["vm_state"], shown["version"]))
        # The history stays readable.
        events = self.call("GET", "/v1/instances/%s/events" % uuid)[
            "events"]
        self.assertEqual(["create", "delete", "update"],
                         [e["action"] for e in events])

        # soft_delete of an instance still building: Nova deletes it.
        building = self.create()
        self.assertEqual("building", building["vm_state"])
        task = self.act(building["uuid"], "soft_delete")["instance"]
        self.assertEqual("deleting", task["task_state"])
        self.report(building["uuid"], {"vm_state": "deleted"},
                    {"task_id": task["task_id"]})
        self.refused(building["uuid"], "restore")

    def test_tasks_resizes_and_errors(self):
        # A stale worker cannot end the evacuation that took over.
        uuid = self.create(vm_state="active", task_state=None)["uuid"]
        rebuild = self.act(uuid, "rebuild")["instance"]
        evacuate = self.act(uuid, "evacuate")["instance"]
        self.call("POST", "/v1/instances/%s/heartbeat" % uuid,
                  {"task_id": rebuild["task_id"]}, status=409,
                  headers=SERVICE)
        fault = self.report(uuid, {"vm_state": "error", "task_state": None},
                            {"task_state": "rebuilding"}, status=400)
        self.assertIn("expected.task_id", fault["badRequest"]["message"])
        self.report(uuid, {"vm_state": "error", "task_state": None},
                    {"task_id": rebuild["task_id"]}, status=409)
        done = self.report(uuid, {"vm_state": "active", "task_state": None},
                           {"task_id": evacuate["task_id"]})["instance"]
        self.assertEqual("active", done["vm_state"])

        # One resize: confirmed once, never also reverted.
        self.act(uuid, "resize")
        shown = self.call("GET", "/v1/instances/%s" % uuid)["instance"]
        self.report(uuid, {"vm_state": "resized", "task_state": None},
                    {"task_id": shown["task_id"]})
        confirm = self.act(uuid, "confirm_resize")["instance"]
        self.assertEqual("resize_confirming", confirm["task_state"])
        self.act(uuid, "confirm_resize", status=409)
        self.act(uuid, "revert_resize", status=409)
        done = self.report(uuid, {"vm_state": "active", "task_state": None},
                           {"task_id": confirm["task_id"]})["instance"]
        self.act(uuid, "revert_resize", status=409)
        self.assertEqual("active", done["vm_state"])

        # clear_error after a failed build: 409 naming reset.
        failed = self.create()
        self.report(failed["uuid"], {"vm_state": "error",
                                     "task_state": None},
                    {"task_id": failed["task_id"]})
        fault = self.call("POST", "/v1/instances/%s/clear_error"
                          % failed["uuid"], {"reason": "retry"},
                          status=409)["conflictingRequest"]
        self.assertIn("reset", fault["message"])
        shown = self.call("GET", "/v1/instances/%s" % failed["uuid"])
        self.assertEqual("error", shown["instance"]["vm_state"])


class _FakeCompute:
    """confirmResize completes; a stopped server comes back stopped."""

    def setUp(self):
        super().setUp()
        fake = self.useFixture(fake_test.FakeCompute(
            "[database]\nconnection = %s\n" % self.url))
        endpoint = fake.url + "/v2.1/"
        self.compute = openstack.connection.Connection(
            auth_type="none", auth={"endpoint": endpoint},
            compute_endpoint_override=endpoint).compute

    def wait(self, server, status):
        return self.compute.wait_for_server(
            server, status=status, interval=fake_test.STEP / 2,
            wait=fake_test.WAIT)

    def test_resize_confirm_and_revert(self):
        server = self.wait(self.compute.create_server(
            name="vm", flavor_id="1", image_id="cirros"), "ACTIVE")
        self.compute.resize_server(server, "2")
        server = self.wait(server, "VERIFY_RESIZE")
        self.compute.confirm_server_resize(server)
        server = self.wait(server, "ACTIVE")
        self.assertEqual(("active", None, 1),
                         (server.vm_state, server.task_state,
                          server.power_state))

        self.compute.stop_server(server)
        server = self.wait(server, "SHUTOFF")
        self.compute.resize_server(server, "1")
        server = self.wait(server, "VERIFY_RESIZE")
        self.compute.revert_server_resize(server)
        # Give it the time a wrong answer (ACTIVE) would need, then look.
        time.sleep(4 * fake_test.STEP)
        server = self.wait(server, "SHUTOFF")
        self.assertEqual(("stopped", None, 4),
                         (server.vm_state, server.task_state,
                          server.power_state))


class TestPromisesSQLite(_Promises, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestPromisesPostgreSQL(_Promises, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestPromisesMySQL(_Promises, base.TestCase):
    FIXTURE = base.MySQLMigrated


class TestFakeComputeSQLite(_FakeCompute, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestFakeComputePostgreSQL(_FakeCompute, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestFakeComputeMySQL(_FakeCompute, base.TestCase):
    FIXTURE = base.MySQLMigrated
