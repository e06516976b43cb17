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

"""The guard answers only where Nova reaches its state check, in Nova's
words (webtest against the guard, a stand-in service and a state source
that answers what Nova's database would)."""

import io
import json

import webob
import webob.dec
import webtest

from tests import base
from vmstate.api.middleware import ComputeGuard

U = "4d7c1f0e-5a3b-4c2d-9e8f-0a1b2c3d4e5f"
JSON = {"Content-Type": "application/json"}
MEMBER = {"X-Project-Id": "0a1b", "X-User-Id": "u", "X-Roles": "member"}
ADMIN = {"X-Project-Id": "0a1b", "X-User-Id": "a", "X-Roles": "admin"}


class Service:
    def __init__(self):
        self.seen = []

    @webob.dec.wsgify
    def __call__(self, req):
        self.seen.append((req.method, req.path_info))
        return webob.Response(status=299, json_body={"nova": True})


class Source:
    """What Nova's database holds for one server; counts the reads."""

    supports_reservation = False
    ids_as_written = True

    def __init__(self, **state):
        self.state = {"uuid": U, "vm_state": "active", "task_state": None,
                      "project_id": "0a1b", "user_id": "u",
                      "host": "compute1", "locked": False,
                      "launched_at": "2026-11-29", **state}
        self.reads = []

    def get(self, context, uuid, probe=None, item=None):
        self.reads.append((uuid, probe, item))
        if uuid.lower() != U:
            return None
        return dict(self.state)


class NovaContext:
    """Nova's request context as the guard sees it: ``can`` answers."""

    def __init__(self, allowed, is_admin=False):
        self.allowed = allowed
        self.asked = []
        self.project_id, self.user_id = "0a1b", "u"
        self.roles = ["member"]
        self.is_admin = is_admin

    def can(self, rule, target=None, fatal=True):
        self.asked.append((rule, target, fatal))
        return rule in self.allowed


class TestNovasOrder(base.TestCase):

    def guard(self, **state):
        self.service = Service()
        guard = ComputeGuard(self.service, {})
        guard.source = self.source = Source(**state)
        return webtest.TestApp(guard)

    def post(self, app, body, headers=MEMBER, path="/v2.1/servers/%s/action"
             % U, version=None, **kw):
        headers = dict(headers, **JSON)
        if version:
            headers["OpenStack-API-Version"] = "compute %s" % version
        return app.post(path, json.dumps(body), headers=headers,
                        expect_errors=True, **kw)

    def assertRefused(self, res, message):
        self.assertEqual(409, res.status_int, res.body)
        self.assertEqual(message, res.json["conflictingRequest"]["message"])
        self.assertEqual([], self.service.seen)

    def assertNovas(self, res):
        """Nova's answer reached the caller, the guard's did not."""
        self.assertEqual(299, res.status_int, res.body)
        self.assertEqual(1, len(self.service.seen))
        self.service.seen.clear()

    def test_novas_words(self):
        app = self.guard(vm_state="active")
        for body, word in (({"shelveOffload": None}, "shelveOffload"),
                           ({"confirmResize": None}, "confirmResize"),
                           ({"revertResize": None}, "revertResize"),
                           ({"unshelve": None}, "unshelve")):
            self.assertRefused(self.post(app, body, ADMIN),
                               "Cannot '%s' instance %s while it is in "
                               "vm_state active" % (word, U))
        app = self.guard(vm_state="shelved_offloaded", host=None)
        for body, word in (
                ({"createImage": {"name": "snap"}}, "createImage"),
                ({"changePassword": {"adminPass": "x"}}, "changePassword"),
                ({"reboot": {"type": "HARD"}}, "reboot"),
                ({"os-migrateLive": {"host": None, "block_migration": True,
                                     "disk_over_commit": False}},
                 "os-migrateLive")):
            self.assertRefused(self.post(app, body, ADMIN),
                               "Cannot '%s' instance %s while it is in "
                               "vm_state shelved_offloaded" % (word, U))

    def test_policy_first(self):
        # A member's shelveOffload: Nova's 403, not the state; no read.
        app = self.guard(vm_state="active")
        self.assertNovas(self.post(app, {"shelveOffload": None}))
        self.assertEqual([], self.source.reads)
        # A manager's migrate is Nova's to refuse, a member's is not.
        app = self.guard(vm_state="paused")
        self.assertNovas(self.post(app, {"migrate": None}))
        res = self.post(app, {"migrate": None},
                        dict(MEMBER, **{"X-Roles": "manager"}))
        self.assertRefused(res, "Cannot 'migrate' instance %s while it is "
                           "in vm_state paused" % U)

    def test_novas_own_policy_decides_inside_nova(self):
        app = self.guard(vm_state="active")
        nova = NovaContext(allowed={"os_compute_api:os-shelve:"
                                    "shelve_offload"})
        res = self.post(app, {"shelveOffload": None},
                        extra_environ={"nova.context": nova})
        self.assertRefused(res, "Cannot 'shelveOffload' instance %s while "
                           "it is in vm_state active" % U)
        self.assertEqual([("os_compute_api:os-shelve:shelve_offload",
                           {"project_id": "0a1b", "user_id": "u"}, False)],
                         nova.asked)
        nova = NovaContext(allowed=())
        self.assertNovas(self.post(app, {"shelveOffload": None},
                                   extra_environ={"nova.context": nova}))

    def test_locked_server_is_novas_for_a_non_admin(self):
        app = self.guard(vm_state="paused", locked=True)
        self.assertNovas(self.post(app, {"pause": None}))
        self.assertRefused(self.post(app, {"pause": None}, ADMIN),
                           "Cannot 'pause' instance %s while it is in "
                           "vm_state paused" % U)
        # Nova checks no lock for a snapshot: refused whoever asks.
        app = self.guard(vm_state="building", locked=True)
        self.assertRefused(self.post(app, {"createImage": {"name": "s"}}),
                           "Cannot 'createImage' instance %s while it is "
                           "in vm_state building" % U)

    def test_no_host_is_novas_where_it_checks_first(self):
        app = self.guard(vm_state="shelved_offloaded", host=None)
        for body in ({"os-start": None}, {"os-stop": None}):
            self.assertNovas(self.post(app, body))
        self.assertNovas(self.post(app, {"trigger_crash_dump": None},
                                   version="2.17"))
        # A resize checks the state before the host.
        self.assertRefused(self.post(app, {"resize": {"flavorRef": "2"}}),
                           "Cannot 'resize' instance %s while it is in "
                           "vm_state shelved_offloaded" % U)

    def test_chunked_body_is_read_as_nova_reads_it(self):
        # A server that de-chunks (wsgi.input_terminated): WebOb reads the
        # body without a length, and so does Nova, which refuses it.
        app = self.guard(vm_state="stopped")
        raw = json.dumps({"os-stop": None}).encode()
        req = webob.Request.blank(
            "/v2.1/servers/%s/action" % U, method="POST",
            headers=dict(ADMIN, **JSON),
            environ={"wsgi.input_terminated": True,
                     "wsgi.input": io.BytesIO(raw)})
        req.environ.pop("CONTENT_LENGTH", None)
        req.headers["Transfer-Encoding"] = "chunked"
        res = req.get_response(app.app)
        self.assertEqual(409, res.status_int, res.body)
        self.assertEqual([], self.service.seen)

    def test_evacuate_of_a_server_without_host_is_novas(self):
        # Nova: "The target host can't be the same one." (400) first.
        app = self.guard(vm_state="shelved_offloaded", host=None)
        self.assertNovas(self.post(app, {"evacuate": {}}, ADMIN,
                                   version="2.14"))
        app = self.guard(vm_state="shelved_offloaded")
        self.assertRefused(self.post(app, {"evacuate": {}}, ADMIN,
                                     version="2.14"),
                           "Cannot 'evacuate' instance %s while it is in "
                           "vm_state shelved_offloaded" % U)

    def test_route_missing_at_the_microversion(self):
        app = self.guard(vm_state="stopped")
        self.assertNovas(self.post(app, {"trigger_crash_dump": None},
                                   version="2.16"))
        self.assertEqual([], self.source.reads)
        self.assertRefused(self.post(app, {"trigger_crash_dump": None},
                                     version="2.17"),
                           "Cannot 'trigger_crash_dump' instance %s while "
                           "it is in vm_state stopped" % U)

    def test_malformed_requests_are_novas(self):
        app = self.guard(vm_state="stopped")
        self.assertNovas(self.post(app, {"reboot": {"type": "sOfT"}}))
        self.assertNovas(self.post(app, {"pause": None}, version="2.999"))
        self.assertNovas(self.post(app, {"pause": None},
                                   path="/v2.1/servers/%s/action/" % U))
        self.assertNovas(app.post("/v2.1/servers/%s/action" % U,
                                  json.dumps({"pause": None}),
                                  headers=dict(MEMBER, **{
                                      "Content-Type": "application/xml"}),
                                  expect_errors=True))
        self.assertEqual([], self.source.reads)

    def test_project_in_the_path_must_be_the_callers(self):
        app = self.guard(vm_state="stopped")
        self.assertNovas(self.post(
            app, {"pause": None}, path="/v2.1/ffff/servers/%s/action" % U))
        self.assertRefused(self.post(
            app, {"pause": None}, path="/v2.1/0a1b/servers/%s/action" % U),
            "Cannot 'pause' instance %s while it is in vm_state stopped" % U)

    def test_metadata_key_must_be_set(self):
        app = self.guard(vm_state="building", metadata_key=False)
        path = "/v2.1/servers/%s/metadata/k" % U
        res = app.delete(path, headers=MEMBER, expect_errors=True)
        self.assertNovas(res)
        self.assertEqual([(U, "metadata_key", "k")], self.source.reads)
        app = self.guard(vm_state="building", metadata_key=True)
        self.assertRefused(app.delete(path, headers=MEMBER,
                                      expect_errors=True),
                           "Cannot 'delete metadata' instance %s while it "
                           "is in vm_state building" % U)

    def test_metadata_body_must_name_the_key(self):
        app = self.guard(vm_state="building")
        path = "/v2.1/servers/%s/metadata/k" % U
        self.assertNovas(app.put(path, json.dumps({"meta": {"j": "v"}}),
                                 headers=dict(MEMBER, **JSON),
                                 expect_errors=True))
        self.assertRefused(app.put(path, json.dumps({"meta": {"k": "v"}}),
                                   headers=dict(MEMBER, **JSON),
                                   expect_errors=True),
                           "Cannot 'update metadata' instance %s while it "
                           "is in vm_state building" % U)

    def test_detached_volume_is_novas_404(self):
        app = self.guard(vm_state="building", volume_attached=False)
        path = "/v2.1/servers/%s/os-volume_attachments/v1" % U
        self.assertNovas(app.delete(path, headers=MEMBER,
                                    expect_errors=True))
        app = self.guard(vm_state="building", volume_attached=True)
        self.assertRefused(app.delete(path, headers=MEMBER,
                                      expect_errors=True),
                           "Cannot 'detach_volume' instance %s while it "
                           "is in vm_state building" % U)

    def test_swap_and_attachment_update_are_novas(self):
        app = self.guard(vm_state="stopped")
        path = "/v2.1/servers/%s/os-volume_attachments/%s" % (U, U)
        body = json.dumps({"volumeAttachment": {
            "volumeId": U, "delete_on_termination": True}})
        for version in ("2.84", "2.85"):
            self.assertEqual(299, app.put(path, body, headers=dict(
                ADMIN, **JSON, **{"OpenStack-API-Version":
                                  "compute " + version}),
                expect_errors=True).status_int)
        self.assertEqual([], self.source.reads)

    def test_no_task_running_is_novas_generic_message(self):
        app = self.guard(vm_state="active")
        res = app.delete("/v2.1/servers/%s/migrations/7" % U,
                         headers=dict(ADMIN, **{
                             "OpenStack-API-Version": "compute 2.24"}),
                         expect_errors=True)
        self.assertRefused(res, "Instance %s is in an invalid state for "
                           "'abort live migration'" % U)

    def test_server_named_as_nova_names_it(self):
        app = self.guard(vm_state="stopped")
        upper = U.upper()
        self.assertRefused(self.post(app, {"pause": None},
                                     path="/v2.1/servers/%s/action" % upper),
                           "Cannot 'pause' instance %s while it is in "
                           "vm_state stopped" % upper)
        # update metadata names the instance by its uuid.
        res = app.post("/v2.1/servers/%s/metadata" % upper,
                       json.dumps({"metadata": {"a": "b"}}),
                       headers=dict(MEMBER, **JSON), expect_errors=True)
        self.assertEqual(299, res.status_int)   # stopped allows it
        app = self.guard(vm_state="building")
        res = app.post("/v2.1/servers/%s/metadata" % upper,
                       json.dumps({"metadata": {"a": "b"}}),
                       headers=dict(MEMBER, **JSON), expect_errors=True)
        self.assertRefused(res, "Cannot 'update metadata' instance %s while "
                           "it is in vm_state building" % U)

    def test_unguarded_and_unknown_pass_without_a_read(self):
        app = self.guard()
        app.get("/v2.1/servers/%s" % U, headers=MEMBER, expect_errors=True)
        self.post(app, {"lock": None})
        self.assertEqual([], self.source.reads)
        self.assertEqual(2, len(self.service.seen))
