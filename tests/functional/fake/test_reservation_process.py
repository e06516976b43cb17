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

"""The real ``vmstate-fake-compute`` with ``[guard] reserve = true``, on
SQLite, PostgreSQL and MariaDB: one begin per request, and another
project's request leaves a server untouched."""

import http.client
import json
import time

from tests.functional.db import base
from tests.functional.fake import test_openstacksdk
from vmstate.db import api as db_api
from vmstate.matrix import loader

WAIT = 30


class _ReserveProcess:

    def setUp(self):
        super().setUp()
        conf = "[database]\nconnection = %s\n[guard]\nreserve = true\n" % (
            self.url)
        self.fake = self.useFixture(test_openstacksdk.FakeCompute(conf))
        self.host, self.port = self.fake.url.split("//")[1].split(":")

    def request(self, method, path, body=None, project="p1"):
        conn = http.client.HTTPConnection(self.host, int(self.port),
                                          timeout=30)
        try:
            conn.request(method, "/v2.1" + path,
                         None if body is None else json.dumps(body),
                         {"Content-Type": "application/json",
                          "X-Project-Id": project, "X-User-Id": "u-" + project,
                          "X-Roles": "member"})
            res = conn.getresponse()
            raw = res.read()
            return (res.status, json.loads(raw) if raw else None,
                    res.getheader("x-openstack-request-id"))
        finally:
            conn.close()

    def settled(self, uuid):
        deadline = time.monotonic() + WAIT
        while True:
            row = db_api.instance_get(self.admin, uuid)
            if row["task_state"] is None:
                return row
            if time.monotonic() > deadline:
                self.fail("%s still has task %s" % (uuid, row["task_state"]))
            time.sleep(0.05)

    def create(self, project="p1"):
        status, body, _ = self.request("POST", "/servers", {"server": {
            "name": "vm", "flavorRef": "1", "imageRef": "cirros"}},
            project=project)
        self.assertEqual(202, status, body)
        return body["server"]["id"]

    def begins(self, uuid, action):
        task_state = loader.get().definition(action).begins
        return [e for e in db_api.instance_events(self.admin, uuid)
                if e["action"] == action
                and e["to"]["task_state"] == task_state]

    def test_one_begin_per_request(self):
        uuid = self.create()
        self.assertEqual("active", self.settled(uuid)["vm_state"])
        for body, action, code, reached in [
                ({"reboot": {"type": "SOFT"}}, "reboot", 202, "active"),
                ({"os-stop": None}, "stop", 202, "stopped"),
                ({"os-start": None}, "start", 202, "active"),
                ({"pause": None}, "pause", 202, "paused"),
                ({"unpause": None}, "unpause", 202, "active"),
                ({"reboot": {"type": "HARD"}}, "reboot_hard", 202,
                 "active"),
                ({"evacuate": {}}, "evacuate", 200, "active")]:
            status, answer, request_id = self.request(
                "POST", "/servers/%s/action" % uuid, body)
            self.assertEqual(code, status, (action, answer))
            self.assertEqual(reached, self.settled(uuid)["vm_state"])
            found = self.begins(uuid, action)
            self.assertEqual(1, len(found), (action, found))
            # The request's begin, made by the guard, carried on by the API.
            self.assertEqual(request_id, found[0]["request_id"])
        status, answer, request_id = self.request("DELETE",
                                                  "/servers/%s" % uuid)
        self.assertEqual(204, status, answer)
        self.assertEqual("deleted", self.settled(uuid)["vm_state"])
        found = self.begins(uuid, "delete")
        self.assertEqual([request_id], [e["request_id"] for e in found])
        status, _, _ = self.request("GET", "/servers/%s" % uuid)
        self.assertEqual(404, status)

    def test_other_projects_requests_leave_the_server_alone(self):
        uuid = self.create("p1")
        for method, path, body in [
                ("DELETE", "/servers/%s" % uuid, None),
                ("POST", "/servers/%s/action" % uuid, {"os-stop": None})]:
            status, answer, _ = self.request(method, path, body,
                                             project="p2")
            self.assertEqual(404, status, answer)
            self.assertIn("itemNotFound", answer)
        # The build was not preempted: it ends ACTIVE, and the history is
        # the build's alone.
        self.assertEqual("active", self.settled(uuid)["vm_state"])
        events = db_api.instance_events(self.admin, uuid)
        self.assertEqual({"create"}, {e["action"] for e in events})
        self.assertEqual({"p1"}, {e["project_id"] for e in events})


class TestReserveProcessSQLite(_ReserveProcess, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestReserveProcessPostgreSQL(_ReserveProcess, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestReserveProcessMySQL(_ReserveProcess, base.TestCase):
    FIXTURE = base.MySQLMigrated
