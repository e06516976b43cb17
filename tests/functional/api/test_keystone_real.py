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

"""The real ``vmstate-api`` with ``auth_strategy = keystone`` against a
real Keystone (:mod:`tests.keystone_fixture`): tokens of every persona
of two projects, as issued by Keystone (with the roles its bootstrap
implies), checked by keystonemiddleware, decided by vmstate's policy
(``vmstate/api/policies.py``)."""

import time

import testtools

from tests import keystone_fixture
from tests.functional.api import test_process


class _KeystoneAPI(testtools.TestCase):

    #: keystonemiddleware's token cache ([keystone_authtoken]
    #: token_cache_time), in seconds: how long a revoked token that was
    #: already accepted may still be.
    TOKEN_CACHE_TIME = 300

    def setUp(self):
        super().setUp()
        self.cloud = keystone_fixture.keystone(self)
        self.api = self.useFixture(test_process.APIProcess(
            self.cloud.authtoken_conf(self.TOKEN_CACHE_TIME)))

    def call(self, user, method, path, body=None, **headers):
        if user is not None:
            headers["X-Auth-Token"] = user.token()
        return self.api.request(method, path, body, headers)

    def create(self, user, **values):
        values.setdefault("vm_state", "active")
        values.setdefault("task_state", None)
        status, body = self.call(user, "POST", "/v1/instances",
                                 {"instance": values})
        self.assertEqual(201, status, body)
        self.assertEqual(user.project_id, body["instance"]["project_id"])
        return body["instance"]["uuid"]

    def assertFault(self, expected, answer, fault):
        status, body = answer
        self.assertEqual(expected, status, body)
        self.assertEqual([fault], list(body), body)
        self.assertEqual(expected, body[fault]["code"])


class TestKeystoneProcess(_KeystoneAPI):

    def test_no_token_and_bad_tokens_are_401_faults(self):
        for path in ("/v1/instances", "/v1/matrix"):
            self.assertFault(401, self.call(None, "GET", path),
                             "unauthorized")
        self.assertFault(401, self.api.request(
            "GET", "/v1/instances", headers={"X-Auth-Token": "garbage"}),
            "unauthorized")
        # Identity headers without a token name nobody.
        self.assertFault(401, self.api.request(
            "GET", "/v1/instances", headers={
                "X-Project-Id": self.cloud.projects["a"],
                "X-Roles": "admin"}), "unauthorized")
        # Discovery needs no token.
        self.assertEqual(200, self.call(None, "GET", "/")[0])

    def test_project_isolation(self):
        own = self.create(self.cloud.member_a)
        other = self.create(self.cloud.member_b)
        status, body = self.call(self.cloud.member_a, "GET", "/v1/instances")
        self.assertEqual(200, status, body)
        self.assertEqual([own], [i["uuid"] for i in body["instances"]])
        for path in ("/v1/instances/%s", "/v1/instances/%s/events"):
            self.assertFault(404, self.call(self.cloud.member_a, "GET",
                                            path % other), "itemNotFound")
        self.assertFault(404, self.call(
            self.cloud.member_a, "POST", "/v1/instances/%s/actions" % other,
            {"action": "stop"}), "itemNotFound")
        # Filtering by another project needs every project's view.
        self.assertFault(403, self.call(
            self.cloud.member_a, "GET",
            "/v1/instances?project_id=" + self.cloud.projects["b"]),
            "forbidden")
        # The reader of a sees its project's instance, not b's.
        self.assertEqual(200, self.call(self.cloud.reader_a, "GET",
                                        "/v1/instances/" + own)[0])
        self.assertFault(404, self.call(self.cloud.reader_a, "GET",
                                        "/v1/instances/" + other),
                         "itemNotFound")

    def test_reader_reads_and_is_refused_writes(self):
        uuid = self.create(self.cloud.member_a)
        reader = self.cloud.reader_a
        for path in ("/v1/instances/" + uuid,
                     "/v1/instances/%s/events" % uuid,
                     "/v1/instances/%s/wait?for=active&timeout=1" % uuid,
                     "/v1/matrix"):
            status, body = self.call(reader, "GET", path)
            self.assertEqual(200, status, (path, body))
        for method, path, body in (
                ("POST", "/v1/instances/%s/actions" % uuid,
                 {"action": "stop"}),
                ("DELETE", "/v1/instances/%s/queue" % uuid, None),
                ("POST", "/v1/instances", {"instance": {}}),
                ("PATCH", "/v1/instances/" + uuid,
                 {"instance": {"power_state": 4},
                  "expected": {"task_state": None}}),
                ("POST", "/v1/instances/%s/reset" % uuid,
                 {"vm_state": "error", "reason": "r"})):
            self.assertFault(403, self.call(reader, method, path, body),
                             "forbidden")
        # Nothing changed.
        status, body = self.call(reader, "GET",
                                 "/v1/instances/%s/events" % uuid)
        self.assertEqual(["create"], [e["action"] for e in body["events"]])

    def test_member_acts_service_reports_admin_resets(self):
        uuid = self.create(self.cloud.member_a)
        member = self.cloud.member_a
        status, begun = self.call(member, "POST",
                                  "/v1/instances/%s/actions" % uuid,
                                  {"action": "stop"})
        self.assertEqual(202, status, begun)
        task = begun["instance"]["task_id"]
        report = {"instance": {"vm_state": "stopped", "task_state": None,
                               "power_state": 4},
                  "expected": {"task_id": task}}
        # Progress reports are the service role's, not a member's.
        self.assertFault(403, self.call(
            member, "POST", "/v1/instances/%s/heartbeat" % uuid,
            {"task_id": task}), "forbidden")
        self.assertFault(403, self.call(member, "PATCH",
                                        "/v1/instances/" + uuid, report),
                         "forbidden")
        self.assertFault(403, self.call(
            member, "POST", "/v1/instances/%s/reset" % uuid,
            {"vm_state": "error", "reason": "r"}), "forbidden")
        # The compute worker (role service, a project of its own) reports
        # on a's instance.
        service = self.cloud.compute
        self.assertEqual(200, self.call(
            service, "POST", "/v1/instances/%s/heartbeat" % uuid,
            {"task_id": task})[0])
        status, body = self.call(service, "PATCH", "/v1/instances/" + uuid,
                                 report)
        self.assertEqual(200, status, body)
        self.assertEqual("stopped", body["instance"]["vm_state"])
        # The admin sees every project and resets.
        other = self.create(self.cloud.member_b)
        admin = self.cloud.admin
        status, body = self.call(admin, "GET",
                                 "/v1/instances?project_id="
                                 + self.cloud.projects["b"])
        self.assertEqual(200, status, body)
        self.assertEqual([other], [i["uuid"] for i in body["instances"]])
        status, body = self.call(admin, "POST",
                                 "/v1/instances/%s/reset" % other,
                                 {"vm_state": "error", "reason": "disk"})
        self.assertEqual(200, status, body)
        self.assertEqual("error", body["instance"]["vm_state"])
        status, body = self.call(self.cloud.member_b, "GET",
                                 "/v1/instances/%s/events" % other)
        [_, reset] = body["events"]
        self.assertEqual("reset_state", reset["action"])

    def test_service_token_is_checked(self):
        uuid = self.create(self.cloud.member_a)
        # A user's request forwarded by a service carries both tokens.
        both = {"X-Service-Token": self.cloud.compute.token()}
        status, body = self.call(self.cloud.member_a, "GET",
                                 "/v1/instances/" + uuid, **both)
        self.assertEqual(200, status, body)
        self.assertFault(401, self.call(
            self.cloud.member_a, "GET", "/v1/instances/" + uuid,
            **{"X-Service-Token": "garbage"}), "unauthorized")
        # service_token_roles_required: a member's token is no service's.
        self.assertFault(401, self.call(
            self.cloud.member_a, "GET", "/v1/instances/" + uuid,
            **{"X-Service-Token": self.cloud.member_b.token()}),
            "unauthorized")


class TestRevocation(_KeystoneAPI):

    TOKEN_CACHE_TIME = 2
    #: The lifetimes tried for the expiring token: long enough to use it
    #: once on a loaded machine (each Keystone request may take seconds).
    TRUST_SECONDS = (20, 60)

    def test_revoked_tokens_are_refused(self):
        uuid = self.create(self.cloud.member_a)
        ks = self.cloud
        fresh = self.cloud.member_a.new_token()
        ks.revoke(fresh)
        self.assertFault(401, self.api.request(
            "GET", "/v1/instances/" + uuid, headers={"X-Auth-Token": fresh}),
            "unauthorized")
        # One already accepted is refused once keystonemiddleware's cache
        # of it ([keystone_authtoken] token_cache_time) expires.
        used = self.cloud.member_a.new_token()
        self.assertEqual(200, self.api.request(
            "GET", "/v1/instances/" + uuid,
            headers={"X-Auth-Token": used})[0])
        ks.revoke(used)
        time.sleep(self.TOKEN_CACHE_TIME + 1)
        self.assertFault(401, self.api.request(
            "GET", "/v1/instances/" + uuid, headers={"X-Auth-Token": used}),
            "unauthorized")

    def test_expired_tokens_are_refused(self):
        uuid = self.create(self.cloud.member_a)
        path = "/v1/instances/" + uuid
        # member_b acts for member_a on project a through a trust that
        # expires soon: so does its token. On a machine too slow to use
        # it before it expires, again with a longer lifetime.
        for lifetime in self.TRUST_SECONDS:
            token, expires = self.cloud.expiring_token(
                self.cloud.member_a, self.cloud.member_b, lifetime)
            status, body = self.api.request(
                "GET", path, headers={"X-Auth-Token": token})
            if time.time() < expires - 1:
                break
        else:
            self.fail("no token could be used before it expired")
        self.assertEqual(200, status, body)
        time.sleep(max(0, expires - time.time()) + self.TOKEN_CACHE_TIME
                   + 1)
        self.assertFault(401, self.api.request(
            "GET", path, headers={"X-Auth-Token": token}), "unauthorized")
