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

"""The compute guard's route table against Nova's routes (reference)."""

import itertools
import json

import testscenarios

from tests import base
from vmstate.api.middleware import routes

load_tests = testscenarios.load_tests_apply_scenarios

SERVER = "4d7c1f0e-5a3b-4c2d-9e8f-0a1b2c3d4e5f"
PREFIXES = ["/v2.1", "/v2.1/p-123", "/v2", "/v2/p-123", "", "/p-123"]

# From shared/reference/nova-guards.md: (method, path below the server,
# body, expected action).
ACTION_BODIES = [
    ({"reboot": {"type": "SOFT"}}, "reboot"),
    ({"reboot": {"type": "soft"}}, "reboot"),
    ({"reboot": {"type": "HARD"}}, "reboot_hard"),
    ({"reboot": {"type": "Hard"}}, "reboot_hard"),
    ({"os-start": None}, "start"),
    ({"os-stop": None}, "stop"),
    ({"resize": {"flavorRef": "2"}}, "resize"),
    ({"migrate": None}, "migrate"),
    ({"confirmResize": None}, "confirm_resize"),
    ({"revertResize": None}, "revert_resize"),
    ({"rebuild": {"imageRef": "x"}}, "rebuild"),
    ({"createImage": {"name": "snap"}}, "snapshot"),
    ({"createBackup": {"name": "b", "backup_type": "daily",
                       "rotation": 1}}, "backup"),
    ({"changePassword": {"adminPass": "x"}}, "set_admin_password"),
    ({"pause": None}, "pause"),
    ({"unpause": None}, "unpause"),
    ({"suspend": None}, "suspend"),
    ({"resume": None}, "resume"),
    ({"rescue": {}}, "rescue"),
    ({"unrescue": None}, "unrescue"),
    ({"shelve": None}, "shelve"),
    ({"shelveOffload": None}, "shelve_offload"),
    ({"unshelve": None}, "unshelve"),
    ({"os-migrateLive": {"host": None}}, "live_migrate"),
    ({"evacuate": {}}, "evacuate"),
    ({"forceDelete": None}, "force_delete"),
    ({"restore": None}, "restore"),
    ({"trigger_crash_dump": None}, "trigger_crash_dump"),
    # Not state-guarded.
    ({"os-resetState": {"state": "active"}}, None),
    ({"lock": None}, None),
    ({"unlock": None}, None),
    ({"os-getConsoleOutput": {}}, None),
    ({"addSecurityGroup": {"name": "default"}}, None),
    ({"reboot": {"type": "GENTLE"}}, None),
    ({"reboot": {}}, None),
    ({"reboot": None}, None),
]
OTHER_ROUTES = [
    ("DELETE", "", None, "delete"),
    ("POST", "/os-interface", {"interfaceAttachment": {}},
     "attach_interface"),
    ("DELETE", "/os-interface/port-1", None, "detach_interface"),
    ("POST", "/os-volume_attachments", {"volumeAttachment": {}},
     "attach_volume"),
    ("PUT", "/os-volume_attachments/vol-1", {"volumeAttachment": {}},
     "swap_volume"),
    ("DELETE", "/os-volume_attachments/vol-1", None, "detach_volume"),
    ("POST", "/metadata", {"metadata": {"a": "b"}},
     "update_instance_metadata"),
    ("PUT", "/metadata", {"metadata": {"a": "b"}},
     "update_instance_metadata"),
    ("PUT", "/metadata/a", {"meta": {"a": "b"}},
     "update_instance_metadata"),
    ("DELETE", "/metadata/a", None, "delete_instance_metadata"),
    ("POST", "/migrations/7/action", {"force_complete": None},
     "live_migrate_force_complete"),
    ("DELETE", "/migrations/7", None, "live_migrate_abort"),
    # Not state-guarded.
    ("GET", "", None, None),
    ("PUT", "", {"server": {"name": "x"}}, None),
    ("GET", "/metadata", None, None),
    ("GET", "/os-interface", None, None),
    ("GET", "/os-volume_attachments", None, None),
    ("GET", "/migrations", None, None),
    ("POST", "/migrations/7/action", {"something": None}, None),
    ("GET", "/diagnostics", None, None),
    ("POST", "/os-security-groups", {}, None),
    ("DELETE", "/tags/t", None, None),
]


def _scenarios():
    cases = [("POST", "/action", body, action)
             for body, action in ACTION_BODIES] + OTHER_ROUTES
    for prefix, (method, tail, body, action) in itertools.product(
            PREFIXES, cases):
        path = "%s/servers/%s%s" % (prefix, SERVER, tail)
        name = "%s %s %s" % (method, path, json.dumps(body))
        yield name, {"method": method, "path": path, "body": body,
                     "action": action}


class TestRouteTable(base.TestCase):

    scenarios = list(_scenarios())

    def test_action(self):
        table = routes.RouteTable()
        match = table.match(self.method, self.path)
        raw = b"" if self.body is None else json.dumps(self.body).encode()
        found = None if match is None else table.action(match, lambda: raw)
        self.assertEqual(self.action, found)
        if found is not None:
            self.assertEqual(SERVER, match.server_id)


class TestRouteEdges(base.TestCase):

    def setUp(self):
        super().setUp()
        self.table = routes.RouteTable()

    def action(self, method, path, body=b""):
        match = self.table.match(method, path)
        return match and self.table.action(match, lambda: body)

    def test_collection_and_non_server_paths(self):
        for method, path in [("POST", "/v2.1/servers"),
                             ("GET", "/v2.1/servers/detail"),
                             ("POST", "/v2.1/os-keypairs"),
                             ("DELETE", "/v2.1/images/%s" % SERVER),
                             ("POST", "/"), ("DELETE", "/v2.1"),
                             ("DELETE", "/v2.1/p/flavors/%s" % SERVER)]:
            self.assertIsNone(self.table.match(method, path), path)

    def test_two_keys_is_novas_400(self):
        body = json.dumps({"os-stop": None, "os-start": None}).encode()
        err = self.assertRaises(routes.MalformedBody, self.action, "POST",
                                "/v2.1/servers/%s/action" % SERVER, body)
        self.assertEqual(400, err.code)
        self.assertEqual("Malformed message body: too many body keys",
                         err.message)

    def test_unreadable_body_passes_to_the_service(self):
        for body in (b"", b"{", b"[]", b"{}", b'"os-stop"', b"\xff"):
            self.assertIsNone(self.action(
                "POST", "/v2.1/servers/%s/action" % SERVER, body))

    def test_trailing_slash(self):
        self.assertEqual("delete", self.action(
            "DELETE", "/v2.1/servers/%s/" % SERVER))

    def test_soft_delete_deployments(self):
        table = routes.RouteTable(soft_delete=True)
        match = table.match("DELETE", "/v2.1/servers/%s" % SERVER)
        self.assertEqual("soft_delete", table.action(match, lambda: b""))
        match = table.match("POST", "/v2.1/servers/%s/action" % SERVER)
        self.assertEqual("force_delete", table.action(
            match, lambda: b'{"forceDelete": null}'))

    def test_body_is_not_read_for_fixed_routes(self):
        def body():
            raise AssertionError("body read")
        match = self.table.match("DELETE", "/v2.1/servers/%s" % SERVER)
        self.assertEqual("delete", self.table.action(match, body))
