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

"""/v1/instances: every endpoint, every error, for each kind of caller."""

import json

from tests import db_fixture
from tests.functional.api import base
from vmstate import states
from vmstate.db import connections

A, OWN, X, S = base.ADMIN, base.OWNER, base.OTHER, base.SERVICE
CONTRACT_VIEW = {"uuid", "project_id", "vm_state", "task_state",
                 "task_id", "power_state", "version", "created_at",
                 "updated_at", "allowed_actions"}


class TestCreate(base.APITestCase):

    def test_defaults(self):
        inst = self.create()
        self.assertEqual(CONTRACT_VIEW, set(inst))
        self.assertEqual(("building", "scheduling", 0, 1, "p-owner"),
                         (inst["vm_state"], inst["task_state"],
                          inst["power_state"], inst["version"],
                          inst["project_id"]))
        self.assertEqual(["delete", "force_delete", "soft_delete"],
                         inst["allowed_actions"])
        self.assertRegex(inst["created_at"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

    def test_explicit_values_and_location(self):
        uuid = self.new_uuid().upper()
        res = self.post("/v1/instances", {"instance": {
            "uuid": uuid, "vm_state": "active", "task_state": None,
            "power_state": 1}}, headers=OWN, status=201)
        inst = res.json["instance"]
        self.assertEqual(uuid.lower(), inst["uuid"])
        self.assertEqual(("active", None, 1),
                         (inst["vm_state"], inst["task_state"],
                          inst["power_state"]))
        self.assertIn("reboot", inst["allowed_actions"])
        self.assertTrue(res.headers["Location"].endswith(
            "/v1/instances/%s" % uuid.lower()))

    def test_task_default_goes_with_the_vm_state_default(self):
        inst = self.create(vm_state="active")
        self.assertEqual(("active", None, 1),
                         (inst["vm_state"], inst["task_state"],
                          inst["version"]))
        self.assertIn("reboot", inst["allowed_actions"])
        inst = self.create(task_state="spawning")
        self.assertEqual(("building", "spawning"),
                         (inst["vm_state"], inst["task_state"]))

    def test_admin_and_service_create_for_any_project(self):
        for headers in (A, S):
            inst = self.create(headers=headers, project_id="p-elsewhere")
            self.assertEqual("p-elsewhere", inst["project_id"])

    def test_member_cannot_create_for_another_project(self):
        res = self.post("/v1/instances",
                        {"instance": {"project_id": "p-other"}},
                        headers=OWN, status=403)
        self.fault(res, "forbidden", 403)
        self.assertEqual([], self.get("/v1/instances").json["instances"])

    def test_member_may_name_its_own_project(self):
        inst = self.create(headers=OWN, project_id="p-owner")
        self.assertEqual("p-owner", inst["project_id"])

    def test_duplicate_uuid_is_a_conflict(self):
        uuid = self.new_uuid()
        self.create(uuid=uuid)
        res = self.post("/v1/instances", {"instance": {"uuid": uuid}},
                        headers=OWN, status=409)
        self.fault(res, "conflictingRequest", 409)

    def test_bad_bodies(self):
        cases = [
            {"instance": {"uuid": "not-a-uuid"}},
            {"instance": {"vm_state": "running"}},
            {"instance": {"task_state": "sleeping"}},
            {"instance": {"power_state": 2}},
            {"instance": {"power_state": "1"}},
            {"instance": {"power_state": True}},
            {"instance": {"colour": "blue"}},
            {"instance": {"project_id": ""}},
            {"instance": []},
            {"server": {}},
            {},
            [],
            "instance",
        ]
        for body in cases:
            res = self.post("/v1/instances", body, headers=OWN, status=400)
            self.fault(res, "badRequest", 400)
        self.assertEqual([], self.get("/v1/instances").json["instances"])

    def test_unknown_field_is_named(self):
        res = self.post("/v1/instances", {"instance": {"colour": "blue"}},
                        status=400)
        self.assertIn("colour", self.fault(res, "badRequest", 400)
                      ["message"])

    def test_malformed_and_empty_json(self):
        for raw in (b'{"instance": ', b"", b"\xff\xfe", b"{'a': 1}"):
            res = self.app.post("/v1/instances", raw, headers={
                "Content-Type": "application/json"}, status=400,
                expect_errors=True)
            self.fault(res, "badRequest", 400)

    def test_wrong_content_type(self):
        res = self.app.post("/v1/instances", b"instance=1", headers={
            "Content-Type": "application/x-www-form-urlencoded"},
            status=415, expect_errors=True)
        self.fault(res, "badMediaType", 415)

    def test_body_over_112_kib(self):
        big = {"instance": {}, "pad": "x" * (112 * 1024)}
        res = self.app.post("/v1/instances", json.dumps(big), headers={
            "Content-Type": "application/json"}, status=413,
            expect_errors=True)
        self.fault(res, "requestEntityTooLarge", 413)
        self.assertEqual([], self.get("/v1/instances").json["instances"])


class TestShow(base.APITestCase):

    def test_one_statement_with_or_without_a_queue(self):
        inst = self.create(task_state="rebooting", vm_state="active")
        engine = connections.get_engine()
        counter = self.useFixture(db_fixture.StatementCounter(engine))
        res = self.get("/v1/instances/%s" % inst["uuid"], headers=OWN)
        self.assertNotIn("queue", res.json["instance"])
        self.assertEqual(1, counter.count, counter.statements)
        self.post("/v1/instances/%s/actions" % inst["uuid"],
                  {"action": "stop", "queue": True}, headers=OWN,
                  status=202)
        counter.reset()
        res = self.get("/v1/instances/%s" % inst["uuid"], headers=OWN)
        self.assertEqual(["stop"], [e["action"]
                                    for e in res.json["instance"]["queue"]])
        self.assertEqual(1, counter.count, counter.statements)

    def test_admin_and_owner_see_it(self):
        inst = self.create()
        for headers in (A, OWN):
            res = self.get("/v1/instances/%s" % inst["uuid"],
                           headers=headers)
            self.assertEqual(inst, res.json["instance"])

    def test_other_project_gets_404_not_403(self):
        inst = self.create()
        res = self.get("/v1/instances/%s" % inst["uuid"], headers=X,
                       status=404)
        self.assertIn(inst["uuid"], self.fault(res, "itemNotFound",
                                               404)["message"])

    def test_unknown_and_malformed_ids(self):
        for uuid in (self.new_uuid(), "nope", "1" * 300):
            res = self.get("/v1/instances/%s" % uuid, status=404)
            self.fault(res, "itemNotFound", 404)

    def test_uppercase_id_finds_it(self):
        inst = self.create()
        res = self.get("/v1/instances/%s" % inst["uuid"].upper())
        self.assertEqual(inst["uuid"], res.json["instance"]["uuid"])


class TestList(base.APITestCase):

    def test_project_scoping(self):
        mine = [self.create(headers=OWN)["uuid"] for _ in range(2)]
        theirs = self.create(headers=X)["uuid"]
        listed = [i["uuid"] for i in
                  self.get("/v1/instances", headers=OWN).json["instances"]]
        self.assertEqual(mine, listed)
        listed = [i["uuid"] for i in
                  self.get("/v1/instances", headers=X).json["instances"]]
        self.assertEqual([theirs], listed)
        listed = [i["uuid"] for i in
                  self.get("/v1/instances").json["instances"]]
        self.assertEqual(sorted(mine + [theirs]), sorted(listed))

    def test_project_filter_is_for_admins(self):
        self.create(headers=OWN)
        other = self.create(headers=X)
        res = self.get("/v1/instances?project_id=p-other")
        self.assertEqual([other["uuid"]],
                         [i["uuid"] for i in res.json["instances"]])
        res = self.get("/v1/instances?project_id=p-other", headers=OWN,
                       status=403)
        self.fault(res, "forbidden", 403)

    def test_state_filters(self):
        building = self.create()
        active = self.create(vm_state="active", task_state=None)
        stopped = self.create(vm_state="stopped", task_state=None)

        def listed(query):
            res = self.get("/v1/instances?" + query, headers=OWN)
            return sorted(i["uuid"] for i in res.json["instances"])

        self.assertEqual([active["uuid"]], listed("vm_state=active"))
        self.assertEqual(sorted([active["uuid"], stopped["uuid"]]),
                         listed("vm_state=active&vm_state=stopped"))
        self.assertEqual([building["uuid"]], listed("task_state=scheduling"))
        self.assertEqual(sorted([active["uuid"], stopped["uuid"]]),
                         listed("task_state="))
        self.assertEqual([], listed("vm_state=building&task_state="))

    def test_pagination(self):
        uuids = [self.create()["uuid"] for _ in range(5)]
        seen, url, pages = [], "/v1/instances?limit=2", 0
        while url:
            res = self.get(url, headers=OWN)
            seen += [i["uuid"] for i in res.json["instances"]]
            url = res.json["next"]
            pages += 1
            self.assertLessEqual(pages, 4)
        self.assertEqual(uuids, seen)
        res = self.get("/v1/instances?limit=2&marker=%s" % uuids[1],
                       headers=OWN)
        self.assertEqual(uuids[2:4],
                         [i["uuid"] for i in res.json["instances"]])
        self.assertIn("marker=%s" % uuids[3], res.json["next"])

    def test_limit_zero_and_default(self):
        self.create()
        self.assertEqual([], self.get("/v1/instances?limit=0")
                         .json["instances"])
        res = self.get("/v1/instances")
        self.assertEqual(1, len(res.json["instances"]))
        self.assertIsNone(res.json["next"])

    def test_limit_is_capped(self):
        self.flags(group="api", max_limit=2)
        for _ in range(3):
            self.create()
        res = self.get("/v1/instances?limit=50")
        self.assertEqual(2, len(res.json["instances"]))
        self.assertIsNotNone(res.json["next"])

    def test_bad_queries(self):
        for query in ("limit=-1", "limit=x", "limit=1.5", "limit=",
                      "limit=1&limit=2", "marker=nope",
                      "marker=%s" % self.new_uuid(), "vm_state=running",
                      "task_state=sleeping", "sort=uuid"):
            res = self.get("/v1/instances?" + query, status=400)
            self.fault(res, "badRequest", 400)

    def test_marker_of_another_project_is_unknown(self):
        theirs = self.create(headers=X)
        res = self.get("/v1/instances?marker=%s" % theirs["uuid"],
                       headers=OWN, status=400)
        self.fault(res, "badRequest", 400)


class TestActions(base.APITestCase):

    def active(self, headers=None, **kw):
        return self.create(headers=headers, vm_state="active",
                           task_state=None, power_state=1, **kw)

    def test_start_sets_the_task(self):
        inst = self.active()
        res = self.act(inst["uuid"], "reboot")
        after = res.json["instance"]
        self.assertEqual(("active", "rebooting", inst["version"] + 1),
                         (after["vm_state"], after["task_state"],
                          after["version"]))
        self.assertIn("reboot_hard", after["allowed_actions"])
        self.assertNotIn("reboot", after["allowed_actions"])

    def test_admin_and_service_may_act_on_any_project(self):
        for headers in (A, S):
            inst = self.active()
            self.act(inst["uuid"], "stop", headers=headers)

    def test_refused_is_novas_409(self):
        inst = self.create(vm_state="stopped", task_state=None)
        res = self.act(inst["uuid"], "stop", status=409)
        fault = self.fault(res, "conflictingRequest", 409)
        self.assertEqual("Cannot 'stop' instance %s while it is in vm_state "
                         "stopped" % inst["uuid"], fault["message"])
        self.assertEqual(("stop", "stopped", None),
                         (fault["action"], fault["vm_state"],
                          fault["task_state"]))
        self.assertEqual(inst["allowed_actions"], fault["allowed_actions"])
        self.assertIn("start", fault["allowed_actions"])

    def test_refused_by_the_task(self):
        inst = self.active()
        self.act(inst["uuid"], "reboot")
        res = self.act(inst["uuid"], "reboot", status=409)
        fault = self.fault(res, "conflictingRequest", 409)
        self.assertEqual("Cannot 'reboot' instance %s while it is in "
                         "task_state rebooting" % inst["uuid"],
                         fault["message"])
        shown = self.get("/v1/instances/%s" % inst["uuid"]).json
        self.assertEqual(inst["version"] + 1, shown["instance"]["version"])

    def test_delete_is_allowed_while_building(self):
        inst = self.create()
        after = self.act(inst["uuid"], "delete").json["instance"]
        self.assertEqual(("building", states.DELETING),
                         (after["vm_state"], after["task_state"]))

    def test_unknown_action_is_400(self):
        inst = self.active()
        res = self.act(inst["uuid"], "frobnicate", status=400)
        self.assertIn("frobnicate", self.fault(res, "badRequest",
                                               400)["message"])

    def test_bad_action_bodies(self):
        inst = self.active()
        for body in ({}, {"action": ""}, {"action": 1}, {"action": None},
                     {"action": "reboot", "force": True}, ["reboot"]):
            res = self.post("/v1/instances/%s/actions" % inst["uuid"], body,
                            headers=OWN, status=400)
            self.fault(res, "badRequest", 400)
        shown = self.get("/v1/instances/%s" % inst["uuid"]).json
        self.assertEqual(inst["version"], shown["instance"]["version"])

    def test_other_project_gets_404(self):
        inst = self.active()
        res = self.act(inst["uuid"], "reboot", headers=X, status=404)
        self.fault(res, "itemNotFound", 404)
        shown = self.get("/v1/instances/%s" % inst["uuid"]).json
        self.assertIsNone(shown["instance"]["task_state"])

    def test_unknown_instance(self):
        res = self.act(self.new_uuid(), "reboot", status=404)
        self.fault(res, "itemNotFound", 404)


class TestUpdate(base.APITestCase):

    def path(self, inst):
        return "/v1/instances/%s" % inst["uuid"]

    def test_service_reports_progress_with_expected(self):
        inst = self.create()
        res = self.patch(self.path(inst), {
            "instance": {"task_state": "networking"},
            "expected": {"vm_state": "building",
                         "task_state": "scheduling",
                         "version": inst["version"]}})
        after = res.json["instance"]
        self.assertEqual(("building", "networking", inst["version"] + 1),
                         (after["vm_state"], after["task_state"],
                          after["version"]))

    def test_admin_may_update(self):
        inst = self.create()
        self.patch(self.path(inst), {"instance": {"power_state": 1},
                                     "expected": {"vm_state": "building"}},
                   headers=A)

    def test_members_may_not(self):
        inst = self.create()
        res = self.patch(self.path(inst), {"instance": {"power_state": 1}},
                         headers=OWN, status=403)
        self.fault(res, "forbidden", 403)
        # Another project's member does not even see it (404, never 403).
        res = self.patch(self.path(inst), {"instance": {"power_state": 1}},
                         headers=X, status=404)
        self.fault(res, "itemNotFound", 404)

    def test_compare_failure_reports_expected_and_actual(self):
        inst = self.create()
        res = self.patch(self.path(inst), {
            "instance": {"vm_state": "active", "task_state": None},
            "expected": {"task_state": "spawning",
                         "task_id": inst["task_id"]}}, status=409)
        fault = self.fault(res, "conflictingRequest", 409)
        self.assertEqual({"task_state": "spawning",
                          "task_id": inst["task_id"]}, fault["expected"])
        self.assertEqual("scheduling", fault["actual"]["task_state"])
        self.assertEqual("building", fault["actual"]["vm_state"])
        shown = self.get(self.path(inst)).json["instance"]
        self.assertEqual(inst["version"], shown["version"])

    def test_stale_version_loses(self):
        inst = self.create()
        body = {"instance": {"power_state": 1},
                "expected": {"version": inst["version"]}}
        self.patch(self.path(inst), body)
        res = self.patch(self.path(inst), body, status=409)
        fault = self.fault(res, "conflictingRequest", 409)
        self.assertEqual(inst["version"] + 1, fault["actual"]["version"])

    def test_expected_null_task_means_no_task(self):
        inst = self.create()
        res = self.patch(self.path(inst), {
            "instance": {"vm_state": "active"},
            "expected": {"task_state": None}}, status=409)
        self.fault(res, "conflictingRequest", 409)

    def test_bad_bodies(self):
        inst = self.create()
        for body in ({"instance": {}},
                     {"instance": {"vm_state": "running"}},
                     {"instance": {"version": 7}},
                     {"instance": {"power_state": 9}},
                     {"instance": {"task_state": None},
                      "expected": {"version": 0}},
                     {"instance": {"task_state": None},
                      "expected": {"version": "1"}},
                     {"instance": {"task_state": None},
                      "expected": {"colour": "red"}},
                     {"expected": {}}):
            res = self.patch(self.path(inst), body, status=400)
            self.fault(res, "badRequest", 400)
        self.assertEqual(inst, self.get(self.path(inst)).json["instance"])

    def test_unknown_instance(self):
        res = self.patch("/v1/instances/%s" % self.new_uuid(),
                         {"instance": {"power_state": 1},
                          "expected": {"version": 1}}, status=404)
        self.fault(res, "itemNotFound", 404)


class TestFencedUpdate(base.APITestCase):
    """A report that changes a running task names it (issue 11)."""

    def path(self, inst):
        return "/v1/instances/%s" % inst["uuid"]

    def test_expected_is_required(self):
        inst = self.create(vm_state="active", task_state=None)
        res = self.patch(self.path(inst), {"instance": {"vm_state": "error"}},
                         status=400)
        self.assertIn("'expected' is a required property",
                      self.fault(res, "badRequest", 400)["message"])
        self.assertEqual(inst, self.get(self.path(inst)).json["instance"])

    def test_a_task_state_alone_is_no_fence(self):
        inst = self.create(vm_state="active", task_state=None)
        first = self.act(inst["uuid"], "rebuild").json["instance"]
        second = self.act(inst["uuid"], "evacuate", headers=A).json[
            "instance"]
        self.assertEqual(("rebuilding", "rebuilding"),
                         (first["task_state"], second["task_state"]))
        self.assertNotEqual(first["task_id"], second["task_id"])
        stale = {"instance": {"vm_state": "error", "task_state": None},
                 "expected": {"task_state": "rebuilding"}}
        res = self.patch(self.path(inst), stale, status=400)
        message = self.fault(res, "badRequest", 400)["message"]
        self.assertIn("expected.task_id", message)
        self.assertIn("expected.version", message)
        # Named: the stale worker's task is over.
        stale["expected"] = {"task_id": first["task_id"]}
        self.patch(self.path(inst), stale, status=409)
        res = self.post(self.path(inst) + "/heartbeat",
                        {"task_id": first["task_id"]}, headers=base.SERVICE,
                        status=409)
        # The evacuation's worker is not disturbed.
        shown = self.get(self.path(inst)).json["instance"]
        self.assertEqual(second["task_id"], shown["task_id"])
        self.post(self.path(inst) + "/heartbeat",
                  {"task_id": second["task_id"], "task_state": "rebuilding"},
                  headers=base.SERVICE)
        done = self.patch(self.path(inst), {
            "instance": {"vm_state": "active", "task_state": None},
            "expected": {"task_id": second["task_id"]}}).json["instance"]
        self.assertEqual(("active", None, None),
                         (done["vm_state"], done["task_state"],
                          done["task_id"]))

    def test_the_version_is_a_fence(self):
        inst = self.create(vm_state="active", task_state=None)
        started = self.act(inst["uuid"], "stop").json["instance"]
        done = self.patch(self.path(inst), {
            "instance": {"vm_state": "stopped", "task_state": None},
            "expected": {"version": started["version"]}}).json["instance"]
        self.assertEqual("stopped", done["vm_state"])

    def test_no_task_needs_no_fence(self):
        inst = self.create(vm_state="active", task_state=None)
        done = self.patch(self.path(inst), {
            "instance": {"vm_state": "stopped"},
            "expected": {"task_state": None}}).json["instance"]
        self.assertEqual("stopped", done["vm_state"])


class TestEvents(base.APITestCase):

    def test_history_is_a_chain(self):
        inst = self.create(vm_state="active", task_state=None,
                           power_state=1)
        task_id = self.act(inst["uuid"], "stop").json["instance"]["task_id"]
        self.patch("/v1/instances/%s" % inst["uuid"], {
            "instance": {"vm_state": "stopped", "task_state": None,
                         "power_state": 4},
            "expected": {"task_id": task_id}})
        events = self.get("/v1/instances/%s/events" % inst["uuid"],
                          headers=OWN).json["events"]
        self.assertEqual([1, 2, 3], [e["version"] for e in events])
        self.assertEqual(["create", "stop", "update"],
                         [e["action"] for e in events])
        for event in events:
            self.assertEqual({"version", "action", "task_id", "from", "to",
                              "created_at", "request_id"}, set(event))
            self.assertTrue(event["request_id"].startswith("req-"))
        # The stop's start and its end belong to its task.
        self.assertEqual([None, task_id, task_id],
                         [e["task_id"] for e in events])
        for before, after in zip(events, events[1:], strict=False):
            self.assertEqual(before["to"], after["from"])
        self.assertEqual({"vm_state": "active", "task_state":
                          "powering-off", "power_state": 1},
                         events[1]["to"])
        shown = self.get("/v1/instances/%s" % inst["uuid"]).json["instance"]
        self.assertEqual(shown["version"], events[-1]["version"])
        self.assertEqual({"vm_state": "stopped", "task_state": None,
                          "power_state": 4}, events[-1]["to"])

    def test_since(self):
        inst = self.create(vm_state="active", task_state=None)
        self.act(inst["uuid"], "reboot")
        events = self.get("/v1/instances/%s/events?since=1"
                          % inst["uuid"]).json["events"]
        self.assertEqual([2], [e["version"] for e in events])
        for query in ("since=-1", "since=x", "until=3"):
            res = self.get("/v1/instances/%s/events?%s" % (inst["uuid"],
                                                            query),
                           status=400)
            self.fault(res, "badRequest", 400)

    def test_other_project_gets_404(self):
        inst = self.create()
        res = self.get("/v1/instances/%s/events" % inst["uuid"], headers=X,
                       status=404)
        self.fault(res, "itemNotFound", 404)


class TestStatementsPerRequest(base.APITestCase):
    """The data statements each request sends (issue 14, target 3): one
    per list page, its queues included (a show's one statement is
    :class:`TestShow`'s); starting an action two, with its history row;
    ending a task at most three (on SQLite and PostgreSQL; MariaDB has no
    UPDATE .. RETURNING and reads the changed row once more)."""

    def counter(self):
        return self.useFixture(db_fixture.StatementCounter(
            connections.get_engine()))

    def test_a_list_page_is_one_statement(self):
        for _ in range(3):
            self.create(headers=OWN)
        counter = self.counter()
        res = self.get("/v1/instances?limit=2", headers=OWN)
        self.assertEqual(2, len(res.json["instances"]))
        self.assertEqual(1, counter.count, counter.statements)
        counter.reset()
        marker = res.json["instances"][-1]["uuid"]
        res = self.get("/v1/instances?limit=2&marker=%s" % marker,
                       headers=OWN)
        self.assertEqual(1, len(res.json["instances"]))
        self.assertEqual(1, counter.count, counter.statements)

    def test_starting_an_action_is_two(self):
        # The member's rule is judged on its own project without a read;
        # the change says its queue is empty, so the view reads none.
        inst = self.create(vm_state="active", task_state=None, headers=OWN)
        counter = self.counter()
        res = self.post("/v1/instances/%s/actions" % inst["uuid"],
                        {"action": "reboot"}, headers=OWN, status=202)
        self.assertEqual("rebooting", res.json["instance"]["task_state"])
        self.assertNotIn("queue", res.json["instance"])
        self.assertEqual(2, counter.count, counter.statements)
        self.assertTrue(counter.statements[0].startswith("UPDATE"))

    def test_ending_a_task_is_three(self):
        inst = self.create(vm_state="active", task_state=None)
        started = self.post("/v1/instances/%s/actions" % inst["uuid"],
                            {"action": "reboot"}, headers=OWN,
                            status=202).json["instance"]
        counter = self.counter()
        res = self.patch("/v1/instances/%s" % inst["uuid"], {
            "instance": {"task_state": None},
            "expected": {"task_id": started["task_id"]}})
        self.assertIsNone(res.json["instance"]["task_state"])
        self.assertLessEqual(counter.count, 3, counter.statements)

    def test_a_queue_is_still_shown(self):
        inst = self.create(vm_state="active", task_state=None, headers=OWN)
        self.post("/v1/instances/%s/actions" % inst["uuid"],
                  {"action": "reboot"}, headers=OWN, status=202)
        self.post("/v1/instances/%s/actions" % inst["uuid"],
                  {"action": "stop", "queue": True}, headers=OWN,
                  status=202)
        # A hard reboot starts over the reboot; the stop is still queued.
        res = self.post("/v1/instances/%s/actions" % inst["uuid"],
                        {"action": "reboot_hard"}, headers=OWN, status=202)
        self.assertEqual(["stop"], [e["action"] for e in
                                    res.json["instance"]["queue"]])


class TestNeverLaunched(base.APITestCase):
    """Nova's must_have_launched in every view vmstate gives (issue 12):
    a show, a list page, and the answer of a change."""

    def test_every_view_leaves_out_what_needs_a_launch(self):
        inst = self.create()        # building, scheduling: never launched
        self.assertEqual("building", inst["vm_state"])
        shown = self.get("/v1/instances/%s" % inst["uuid"]).json[
            "instance"]["allowed_actions"]
        listed = [i["allowed_actions"] for i in self.get(
            "/v1/instances").json["instances"] if i["uuid"] == inst["uuid"]]
        self.assertEqual([shown], listed)
        failed = self.patch("/v1/instances/%s" % inst["uuid"], {
            "instance": {"vm_state": "error", "task_state": None},
            "expected": {"task_id": inst["task_id"]}}).json["instance"]
        self.assertEqual("error", failed["vm_state"])
        # A failed build never launched: only delete (and force_delete).
        self.assertNotIn("rebuild", failed["allowed_actions"])
        self.assertIn("delete", failed["allowed_actions"])
        self.assertEqual(failed["allowed_actions"], self.get(
            "/v1/instances/%s" % inst["uuid"]).json["instance"][
                "allowed_actions"])
        # Once it ran, an error allows a rebuild again.
        ran = self.create(vm_state="active", task_state=None)
        errored = self.patch("/v1/instances/%s" % ran["uuid"], {
            "instance": {"vm_state": "error"},
            "expected": {"version": ran["version"]}}).json["instance"]
        self.assertIn("rebuild", errored["allowed_actions"])
        self.assertEqual(errored["allowed_actions"], [
            i for i in self.get("/v1/instances").json["instances"]
            if i["uuid"] == ran["uuid"]][0]["allowed_actions"])
