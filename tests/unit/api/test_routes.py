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
PREFIXES = ["/v2.1", "/v2.1/0a1b-23", "/v2", "/v2/0a1b-23", "",
            "/0a1b-23"]

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
    ({"rebuild": {"imageRef": SERVER}}, "rebuild"),
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
    ({"os-migrateLive": {"host": None, "block_migration": True,
                         "disk_over_commit": False}}, "live_migrate"),
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
    ("POST", "/os-volume_attachments", {"volumeAttachment": {
        "volumeId": SERVER}}, "attach_volume"),
    ("PUT", "/os-volume_attachments/vol-1", None, "swap_volume"),
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


# Routes that exist from a microversion on.
VERSIONED = ("trigger_crash_dump", "live_migrate_force_complete",
             "live_migrate_abort")


def _scenarios():
    cases = [("POST", "/action", body, action)
             for body, action in ACTION_BODIES] + OTHER_ROUTES
    for prefix, (method, tail, body, action) in itertools.product(
            PREFIXES, cases):
        path = "%s/servers/%s%s" % (prefix, SERVER, tail)
        name = "%s %s %s" % (method, path, json.dumps(body))
        yield name, {"method": method, "path": path, "body": body,
                     "action": action}


def decide(table, method, path, body=None, headers=None,
           content_type="application/json", script_name=""):
    match = table.match(method, path, script_name)
    if match is None:
        return None
    raw = b"" if body is None else (
        body if isinstance(body, bytes) else json.dumps(body).encode())
    return table.decide(match, method, headers or {}, content_type,
                        len(raw) if raw else None, lambda: raw)


class TestRouteTable(base.TestCase):

    scenarios = list(_scenarios())

    def test_action(self):
        table = routes.RouteTable()
        found = decide(table, self.method, self.path, self.body,
                       {"OpenStack-API-Version": "compute 2.24"})
        expected = self.action
        if self.path.startswith("/v2/") and expected in VERSIONED:
            expected = None     # Nova's legacy /v2: no microversions
        if self.path.startswith("/v2/") and expected == "evacuate":
            expected = None     # /v2 needs onSharedStorage (as to 2.13)
        self.assertEqual(expected, found and found.action)
        if found is not None:
            self.assertEqual(SERVER, found.match.server_id)


PATH = "/v2.1/servers/%s" % SERVER


class TestNovasOrder(base.TestCase):
    """What Nova answers before its state check passes the guard."""

    def setUp(self):
        super().setUp()
        self.table = routes.RouteTable()

    def action(self, body, version=None, path=PATH + "/action", **kw):
        headers = ({} if version is None
                   else {"OpenStack-API-Version": "compute %s" % version})
        found = decide(self.table, "POST", path, body, headers, **kw)
        return found and found.action

    def test_collection_and_non_server_paths(self):
        for method, path in [("POST", "/v2.1/servers"),
                             ("GET", "/v2.1/servers/detail"),
                             ("POST", "/v2.1/os-keypairs"),
                             ("DELETE", "/v2.1/images/%s" % SERVER),
                             ("POST", "/"), ("DELETE", "/v2.1"),
                             ("DELETE", "/v2.1/p/flavors/%s" % SERVER)]:
            self.assertIsNone(self.table.match(method, path), path)

    def test_paths_nova_does_not_route(self):
        # Nova's router answers 404 for each.
        for path in (PATH + "/", "/v2.1//servers/%s" % SERVER,
                     "/v2.1/servers//%s" % SERVER, PATH + "//",
                     "//v2.1/servers/%s" % SERVER):
            self.assertIsNone(self.table.match("DELETE", path), path)

    def test_route_exists_from_its_microversion(self):
        body = {"trigger_crash_dump": None}
        self.assertIsNone(self.action(body))
        self.assertIsNone(self.action(body, "2.16"))
        self.assertEqual("trigger_crash_dump", self.action(body, "2.17"))
        self.assertEqual("trigger_crash_dump", self.action(body, "latest"))
        # Nova's legacy /v2 has no microversions: below all of them.
        self.assertIsNone(self.action(
            body, "2.17", path="/v2/servers/%s/action" % SERVER))
        self.assertIsNone(self.action(
            body, "2.17", path="/servers/%s/action" % SERVER,
            script_name="/v2"))
        abort = "%s/migrations/7" % PATH
        self.assertIsNone(decide(self.table, "DELETE", abort, headers={
            "OpenStack-API-Version": "compute 2.23"}))
        self.assertEqual("live_migrate_abort", decide(
            self.table, "DELETE", abort, headers={
                "OpenStack-API-Version": "compute 2.24"}).action)

    def test_microversions_nova_refuses(self):
        for version in ("2.999", "3.0", "2.0", "2.01", "two", "2.",
                        "2.1.1", "1.5"):
            self.assertIsNone(self.action({"pause": None}, version),
                              version)
        self.assertIsNone(decide(self.table, "POST", PATH + "/action",
                                 {"pause": None},
                                 {"X-OpenStack-Nova-API-Version": "2.999"}))
        self.assertEqual("pause", decide(
            self.table, "POST", PATH + "/action", {"pause": None},
            {"X-OpenStack-Nova-API-Version": "2.5"}).action)

    def test_content_types(self):
        body = {"pause": None}
        for ok in ("application/json", "application/vnd.openstack."
                   "compute+json", "", "text/plain"):
            self.assertEqual("pause", self.action(body, content_type=ok))
        for refused in ("application/xml", "text/html",
                        "application/x-www-form-urlencoded"):
            self.assertIsNone(self.action(body, content_type=refused))

    def test_reboot_types_exactly_as_novas_schema(self):
        for kind, action in (("SOFT", "reboot"), ("Soft", "reboot"),
                             ("soft", "reboot"), ("HARD", "reboot_hard"),
                             ("Hard", "reboot_hard"),
                             ("hard", "reboot_hard")):
            self.assertEqual(action, self.action({"reboot": {"type": kind}}))
        for kind in ("sOfT", "hARD", "SOFT ", "", None, 1):
            self.assertIsNone(self.action({"reboot": {"type": kind}}))
        self.assertIsNone(self.action(
            {"reboot": {"type": "SOFT", "extra": 1}}))

    def test_bodies_nova_refuses_or_might(self):
        for body in ({"os-stop": None, "pause": None}, {}, [],
                     {"resize": {}}, {"resize": {"flavorRef": ""}},
                     {"rebuild": {"imageRef": "not-a-uuid"}},
                     {"createImage": {}},
                     {"createImage": {"name": " padded "}},
                     {"trigger_crash_dump": {}},
                     {"os-migrateLive": {"host": "other"}},
                     {"evacuate": {"host": "h1"}},
                     {"unshelve": {"availability_zone": "az"}},
                     {"rescue": {"rescue_image_ref": SERVER}}):
            self.assertIsNone(self.action(body, "2.17"), body)
        for raw in (b"", b"{", b"\xff", b'"os-stop"', b"[" * 100000):
            self.assertIsNone(self.action(raw), raw)

    def test_bodies_by_microversion(self):
        live_old = {"os-migrateLive": {"host": None, "block_migration": False,
                                       "disk_over_commit": False}}
        live_new = {"os-migrateLive": {"host": None,
                                       "block_migration": "auto"}}
        self.assertEqual("live_migrate", self.action(live_old, "2.24"))
        self.assertIsNone(self.action(live_old, "2.25"))
        self.assertIsNone(self.action(live_new, "2.24"))
        self.assertEqual("live_migrate", self.action(live_new, "2.25"))
        self.assertEqual("evacuate", self.action(
            {"evacuate": {"onSharedStorage": True}}, "2.13"))
        self.assertIsNone(self.action({"evacuate": {}}, "2.13"))
        self.assertEqual("evacuate", self.action({"evacuate": {}}, "2.14"))

    def test_volume_update_is_never_a_guarded_swap(self):
        # Nova asks Cinder before the state (a swap of a volume that is not
        # migrating is its own 409); from 2.85 the same volume is an
        # update with no state check. The table says so.
        found = decide(self.table, "PUT",
                       PATH + "/os-volume_attachments/" + SERVER,
                       {"volumeAttachment": {"volumeId": SERVER}},
                       {"OpenStack-API-Version": "compute 2.85"})
        self.assertEqual("swap_volume", found.action)
        self.assertIn("never", found.route.before_state)

    def test_soft_delete_deployments(self):
        table = routes.RouteTable(soft_delete=True)
        self.assertEqual("soft_delete",
                         decide(table, "DELETE", PATH).action)
        self.assertEqual("force_delete", decide(
            table, "POST", PATH + "/action", {"forceDelete": None}).action)

    def test_body_is_not_read_for_routes_without_one(self):
        def body():
            raise AssertionError("body read")
        match = self.table.match("DELETE", PATH)
        self.assertEqual("delete", self.table.decide(
            match, "DELETE", {}, "", None, body).action)


class TestNovasWords(base.TestCase):
    """Nova's word per route (the action argument of
    ``raise_http_conflict_for_instance_invalid_state``)."""

    WORDS = {
        "shelveOffload": "shelveOffload", "createImage": "createImage",
        "changePassword": "changePassword", "confirmResize": "confirmResize",
        "revertResize": "revertResize", "createBackup": "createBackup",
        "os-migrateLive": "os-migrateLive", "os-start": "start",
        "os-stop": "stop", "reboot": "reboot", "migrate": "migrate",
        "trigger_crash_dump": "trigger_crash_dump", "unshelve": "unshelve",
    }

    def test_action_words(self):
        by_key = {r.key: r.word for r in routes.ROUTES if r.key}
        for key, word in self.WORDS.items():
            self.assertEqual(word, by_key[key], key)

    def test_other_words(self):
        words = {(r.method, r.tail): r.word for r in routes.ROUTES}
        self.assertEqual("update metadata", words[("PUT", ("metadata",))])
        self.assertEqual("delete metadata",
                         words[("DELETE", ("metadata", "*"))])
        self.assertEqual("abort live migration",
                         words[("DELETE", ("migrations", "*"))])
        self.assertEqual("force_complete",
                         words[("POST", ("migrations", "*", "action"))])

    def test_message(self):
        self.assertEqual(
            "Cannot 'shelveOffload' instance U while it is in vm_state "
            "active", routes.nova_message("shelveOffload", "U", "vm_state",
                                          "active"))
        self.assertEqual(
            "Instance U is in an invalid state for 'abort live migration'",
            routes.nova_message("abort live migration", "U", "task_state",
                                None))

    def test_fake_compute_dispatch(self):
        self.assertEqual("shelve_offload",
                         routes.server_action(b'{"shelveOffload": null}'))
        self.assertEqual("reboot_hard",
                         routes.server_action(b'{"reboot": {"type": "hArD"}}'))
        self.assertIsNone(routes.server_action(b'{"lock": null}'))
        self.assertRaises(routes.MalformedBody, routes.server_action,
                          b'{"lock": null, "pause": null}')
