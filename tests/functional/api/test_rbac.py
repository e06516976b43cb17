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

"""Secure RBAC: every endpoint x persona x own / another project.

Each persona asks in the instance's own project and in another one; the
answer is the success code, 403 (the persona may see the instance but not
do this), or 404 (it may not even see it). Every cell runs on a fresh
instance in the state the endpoint needs, so one cell's success cannot
change another's answer. The whole table is compared at once: a failure
lists every cell that differs.
"""

from tests.functional.api import base

OWNER = "p-own"
FOREIGN = "p-foreign"

#: Persona -> X-Roles (the noauth hook adds keystone's implied roles).
PERSONAS = {
    "reader": "reader",
    "member": "member",
    "service": "service",
    "admin": "admin",
    "no_role": "observer",
}

READ, ACT, SERVICE, ADMIN = "read", "act", "service", "admin"

#: Which personas may do what, by rule class; in the owner's project.
ALLOWED = {
    READ: {"reader", "member", "service", "admin"},
    ACT: {"member", "service", "admin"},
    SERVICE: {"service", "admin"},
    ADMIN: {"admin"},
}
#: Who sees other projects' instances at all (404 for everyone else).
SEES_ALL = {"service", "admin"}

#: endpoint -> (rule class, instance values, method, path suffix, body,
#: success code). Path suffixes are below /v1/instances/{uuid}.
ENDPOINTS = {
    "show": (READ, {}, "GET", "", None, 200),
    "events": (READ, {}, "GET", "/events", None, 200),
    "wait": (READ, {}, "GET", "/wait?for=active&timeout=0", None, 200),
    "action": (ACT, {}, "POST", "/actions", {"action": "reboot"}, 202),
    "queue_cancel": (ACT, {}, "DELETE", "/queue", None, 200),
    "patch": (SERVICE, {}, "PATCH", "",
              {"instance": {"power_state": 4},
               "expected": {"task_state": None}}, 200),
    "heartbeat": (SERVICE, {"vm_state": "active",
                            "task_state": "rebooting"},
                  "POST", "/heartbeat", {"task_state": "rebooting"}, 200),
    "power_state": (SERVICE, {}, "PUT", "/power_state",
                    {"power_state": 1}, 200),
    "reset": (ADMIN, {"vm_state": "active", "task_state": "rebooting"},
              "POST", "/reset", {"vm_state": "active", "reason": "stuck"},
              200),
    # In error through a reset, so that it has a vm_state to go back to.
    "clear_error": (ADMIN, {"reset_to": "error"},
                    "POST", "/clear_error", {"reason": "fixed"}, 200),
}


def headers(persona, project):
    return {"X-Project-Id": project, "X-User-Id": "u-" + persona,
            "X-Roles": PERSONAS[persona]}


def expected(rule, success, persona, where):
    if where == "foreign" and persona not in SEES_ALL:
        return 404
    return success if persona in ALLOWED[rule] else 403


class TestPersonas(base.APITestCase):

    def instance(self, reset_to=None, **values):
        values.setdefault("vm_state", "active")
        values.setdefault("task_state", None)
        values["project_id"] = OWNER
        res = self.post("/v1/instances", {"instance": values},
                        headers=base.ADMIN, status=201)
        uuid = res.json["instance"]["uuid"]
        if reset_to is not None:
            self.post("/v1/instances/%s/reset" % uuid,
                      {"vm_state": reset_to, "reason": "test"},
                      headers=base.ADMIN, status=200)
        return uuid

    def call(self, method, path, body, hdrs):
        return self.app.request(
            path, method=method, headers=hdrs, expect_errors=True,
            **({"json": body} if body is not None else {}))

    def check_table(self, endpoints):
        want, got = {}, {}
        for name in endpoints:
            rule, values, method, suffix, body, success = ENDPOINTS[name]
            for persona in PERSONAS:
                for where, project in (("own", OWNER), ("foreign", FOREIGN)):
                    uuid = self.instance(**values)
                    if name == "heartbeat":
                        # A heartbeat names its task (issue 11).
                        shown = self.get("/v1/instances/%s" % uuid,
                                         headers=base.ADMIN)
                        body = dict(
                            body, task_id=shown.json["instance"]["task_id"])
                    res = self.call(method, "/v1/instances/%s%s" % (
                        uuid, suffix), body, headers(persona, project))
                    cell = (name, persona, where)
                    want[cell] = expected(rule, success, persona, where)
                    got[cell] = res.status_int
                    if res.status_int >= 400:
                        fault = {403: "forbidden", 404: "itemNotFound"}.get(
                            res.status_int)
                        if fault:
                            self.fault(res, fault, res.status_int)
        diff = {c: (want[c], got[c]) for c in want if want[c] != got[c]}
        self.assertEqual({}, diff, "(expected, got) per cell")

    def test_reads(self):
        self.check_table(["show", "events", "wait"])

    def test_member_operations(self):
        self.check_table(["action", "queue_cancel"])

    def test_service_operations(self):
        self.check_table(["patch", "heartbeat", "power_state"])

    def test_admin_operations(self):
        self.check_table(["reset", "clear_error"])

    def test_matrix_for_every_reader(self):
        for persona in PERSONAS:
            for project in (OWNER, FOREIGN):
                res = self.call("GET", "/v1/matrix", None,
                                headers(persona, project))
                self.assertEqual(403 if persona == "no_role" else 200,
                                 res.status_int, (persona, project))

    def test_list_own_project_and_all_projects(self):
        self.instance()
        for persona in PERSONAS:
            res = self.call("GET", "/v1/instances", None,
                            headers(persona, OWNER))
            self.assertEqual(403 if persona == "no_role" else 200,
                             res.status_int, persona)
            if res.status_int == 200:
                self.assertEqual([OWNER], [
                    i["project_id"] for i in res.json["instances"]])
            # Another project's list: admins only.
            res = self.call("GET", "/v1/instances?project_id=" + OWNER,
                            None, headers(persona, FOREIGN))
            self.assertEqual(200 if persona == "admin" else 403,
                             res.status_int, persona)

    def test_create_in_own_and_another_project(self):
        for persona in PERSONAS:
            for where, project in (("own", OWNER), ("foreign", FOREIGN)):
                res = self.call("POST", "/v1/instances",
                                {"instance": {"project_id": OWNER}},
                                headers(persona, project))
                if where == "own":
                    want = 201 if persona in ALLOWED[ACT] else 403
                else:
                    want = 201 if persona in SEES_ALL else 403
                self.assertEqual(want, res.status_int, (persona, where))
                if want == 201:
                    self.assertEqual(OWNER,
                                     res.json["instance"]["project_id"])

    def test_implied_roles_only_downwards(self):
        # A reader is no member, however the roles are spelled.
        uuid = self.instance()
        for roles in ("reader", "Reader", " reader ,", "reader,observer"):
            res = self.call("POST", "/v1/instances/%s/actions" % uuid,
                            {"action": "reboot"},
                            {"X-Project-Id": OWNER, "X-User-Id": "u",
                             "X-Roles": roles})
            self.assertEqual(403, res.status_int, roles)

    def test_system_scope_is_refused(self):
        # Every rule is project-scoped: a system-scoped caller (even with
        # the admin role) is outside the rules' scope.
        uuid = self.instance()
        res = self.call("GET", "/v1/instances/%s" % uuid, None,
                        {"X-Project-Id": OWNER, "X-User-Id": "u",
                         "X-Roles": "admin", "OpenStack-System-Scope": "all"})
        self.assertEqual(403, res.status_int)


class TestNoauthIdentity(base.APITestCase):

    def test_present_but_empty_identity_headers_are_400(self):
        res = self.post("/v1/instances", {"instance": {}}, status=201)
        uuid = res.json["instance"]["uuid"]
        for hdrs in ({"X-Project-Id": "", "X-User-Id": "", "X-Roles": ""},
                     {"X-Roles": ""},
                     {"X-Roles": " , "},
                     {"X-Project-Id": "p", "X-User-Id": "u", "X-Roles": ""},
                     {"X-User-Id": " "},
                     {"X-Project-Id": ""},
                     {"X-Tenant-Id": ""}):
            for method, path, body in (
                    ("GET", "/v1/instances/" + uuid, None),
                    ("POST", "/v1/instances/%s/reset" % uuid,
                     {"vm_state": "error", "reason": "x"})):
                res = self.app.request(
                    path, method=method, headers=hdrs, expect_errors=True,
                    **({"json": body} if body else {}))
                fault = self.fault(res, "badRequest", 400)
                self.assertIn("is empty", fault["message"])
        # Nothing changed.
        shown = self.get("/v1/instances/" + uuid).json["instance"]
        self.assertEqual("building", shown["vm_state"])

    def test_no_identity_headers_is_the_noauth_admin(self):
        res = self.post("/v1/instances", {"instance": {}}, status=201)
        self.assertEqual("admin", res.json["instance"]["project_id"])
