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

"""The guard's reservation, in-process, on SQLite, PostgreSQL and MariaDB.

* The service adopts the guard's task: one begin per request (the fake
  compute API behind the guard, as ``vmstate-fake-compute`` runs it).
* The guard reads and reserves in the caller's project only: another
  project's server passes untouched, nothing is written or shown.
* The reservation is released however the request ends: an error status,
  an exception from the service, an answer closed early (client gone);
  never over another task.
* A deleted server passes untouched.
"""

import http
import json
import time

import webob
import webob.dec
import webtest

from tests.functional.db import base
from vmstate import exception
from vmstate import lifecycle
from vmstate import states
from vmstate.api.middleware import ComputeGuard
from vmstate.api.middleware import guard as guard_mod
from vmstate.db import api as db_api
from vmstate.fake import api as fake_api
from vmstate.fake import driver
from vmstate.matrix import loader

WAIT = 20


def headers(project, roles="member"):
    return {"X-Project-Id": project, "X-User-Id": "u-" + project,
            "X-Roles": roles, "Content-Type": "application/json"}


def begins(events, action):
    """The history rows of ``events`` that began ``action``."""
    task_state = loader.get().definition(action).begins
    return [e for e in events
            if e["action"] == action and e["to"]["task_state"] == task_state]


class Service:
    """A compute service that continues the guard's reservation.

    It answers as Nova does for a server the caller cannot see (404),
    else with ``answer`` (202 by default) after adopting the reserved
    task; ``fail`` raises instead; ``lazy`` answers from a generator
    that calls start_response at its first step, with ``chunks`` bodies.
    """

    def __init__(self):
        self.answer = 202
        self.fail = None
        self.lazy = False
        self.chunks = [b"{}"]
        self.reservations = []
        self.adopted = []
        self.closed = 0
        self.reached = 0

    def __call__(self, environ, start_response):
        self.reached += 1
        reserved = environ.get(guard_mod.RESERVATION)
        self.reservations.append(reserved)
        if self.fail is not None:
            raise self.fail
        context = guard_mod.caller_context(environ)
        status = "%d %s" % (self.answer, http.HTTPStatus(self.answer).phrase)
        if reserved is None:
            parts = environ["PATH_INFO"].split("/")
            uuid = parts[parts.index("servers") + 1].lower()
            try:
                row = db_api.instance_get(context, uuid)
            except exception.InstanceNotFound:
                row = None
            if row is None or row["vm_state"] == states.DELETED:
                status = "404 Not Found"
        elif reserved["task_id"] is not None:
            try:
                self.adopted.append(lifecycle.adopt(
                    context, reserved["uuid"],
                    task_id=reserved["task_id"]))
            except exception.TaskAborted:
                status = "409 Conflict"
        if not self.lazy:
            start_response(status, [("Content-Type", "application/json")])
            return list(self.chunks)
        return self._lazily(status, start_response)

    def _lazily(self, status, start_response):
        try:
            start_response(status, [("Content-Type", "application/json")])
            yield from self.chunks
        finally:
            self.closed += 1


class ClientGone(BaseException):
    """What a green WSGI server raises in a request whose client left."""


class _Reservation:

    def setUp(self):
        super().setUp()
        self.service = Service()
        self.guard = ComputeGuard(self.service, {"reserve": "true"})
        self.app = webtest.TestApp(self.guard)
        self.a = base.member("p-a", "u-p-a")
        self.b = base.member("p-b", "u-p-b")

    def server(self, ctx=None, vm_state="active", task_state=None):
        return db_api.instance_create(ctx or self.a, {
            "vm_state": vm_state, "task_state": task_state})

    def post(self, uuid, body, status, project="p-a", roles="member"):
        return self.app.post("/v2.1/servers/%s/action" % uuid,
                             json.dumps(body),
                             headers=headers(project, roles), status=status,
                             expect_errors=status >= 400)

    def events(self, uuid):
        return db_api.instance_events(self.admin, uuid)

    def row(self, uuid):
        return db_api.instance_get(self.admin, uuid)

    def environ(self, uuid, body, project="p-a"):
        raw = json.dumps(body).encode()
        req = webob.Request.blank("/v2.1/servers/%s/action" % uuid,
                                  method="POST", body=raw,
                                  headers=headers(project))
        return req.environ

    def call(self, environ):
        """The status of a complete request to the guard, as a server
        sends it."""
        answered = []
        body = self.guard(environ, lambda s, h, e=None: answered.append(s))
        try:
            b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        return answered[-1]

    # -- the handoff ----------------------------------------------------------

    def test_service_receives_the_begun_task(self):
        uuid = self.server()["uuid"]
        self.post(uuid, {"os-stop": None}, 202)
        row = self.row(uuid)
        self.assertEqual([{"uuid": uuid, "action": "stop",
                           "task_id": row["task_id"],
                           "task_state": "powering-off",
                           "vm_state": "active", "version": 2,
                           "project_id": "p-a"}],
                         self.service.reservations)
        # The service carries the same task on: one begin, its end.
        self.service.adopted[0].finish()
        events = self.events(uuid)
        self.assertEqual(["create", "stop", "stop"],
                         [e["action"] for e in events])
        self.assertEqual(1, len(begins(events, "stop")))
        self.assertEqual(("stopped", None),
                         (self.row(uuid)["vm_state"],
                          self.row(uuid)["task_state"]))

    def test_task_less_action_hands_over_no_task(self):
        uuid = self.server()["uuid"]
        self.app.post("/v2.1/servers/%s/os-volume_attachments" % uuid,
                      json.dumps({"volumeAttachment": {
                          "volumeId": "9b5c1e2a-3f4d-4e6a-8b7c-0d1e2f3a4b5c",
                      }}),
                      headers=headers("p-a"), status=202)
        self.assertIsNone(self.service.reservations[0]["task_id"])
        self.assertEqual("attach_volume",
                         self.service.reservations[0]["action"])
        self.assertEqual([], self.service.adopted)

    # -- the caller's project only ------------------------------------------

    def test_other_projects_server_passes_untouched(self):
        created = self.server(vm_state="building", task_state="scheduling")
        uuid = created["uuid"]
        res = self.app.delete("/v2.1/servers/%s" % uuid,
                              headers=headers("p-b"), status=404,
                              expect_errors=True)
        self.assertEqual(404, res.status_int)
        self.assertEqual([None], self.service.reservations)
        row = self.row(uuid)
        self.assertEqual((1, created["task_id"], "scheduling"),
                         (row["version"], row["task_id"],
                          row["task_state"]))
        # A's build worker still owns its task and finishes it.
        build = lifecycle.adopt(self.a, uuid, task_id=created["task_id"])
        build.checkpoint(states.SPAWNING)
        self.assertEqual("active", build.finish()["vm_state"])

    def test_other_projects_refused_state_is_never_shown(self):
        uuid = self.server(vm_state="stopped")["uuid"]
        for conf in ({"reserve": "true"}, {}):
            app = webtest.TestApp(ComputeGuard(self.service, conf))
            res = app.post("/v2.1/servers/%s/action" % uuid,
                           json.dumps({"os-stop": None}),
                           headers=headers("p-b"), status=404,
                           expect_errors=True)
            self.assertNotIn(b"stopped", res.body)
            self.assertNotIn(b"allowed", res.body)
        self.assertEqual(2, self.service.reached)
        self.assertEqual(1, self.row(uuid)["version"])
        # Its own project is refused, as before.
        res = self.post(uuid, {"os-stop": None}, 409)
        self.assertIn("vm_state stopped",
                      res.json["conflictingRequest"]["message"])

    def test_admin_reaches_every_project(self):
        uuid = self.server(vm_state="stopped")["uuid"]
        self.post(uuid, {"os-stop": None}, 409, project="p-b",
                  roles="admin")
        self.post(uuid, {"os-start": None}, 202, project="p-b",
                  roles="admin")
        self.assertEqual("powering-on", self.row(uuid)["task_state"])
        self.assertEqual("p-a", self.service.reservations[0]["project_id"])

    def test_nova_context_is_the_caller(self):
        uuid = self.server(vm_state="stopped")["uuid"]

        class NovaContext:      # what Nova's keystonecontext leaves
            project_id, user_id, roles, is_admin = "p-b", "u", ["member"], \
                False
            request_id = "req-0f1e2d3c-0000-4000-8000-000000000001"
        env = self.environ(uuid, {"os-start": None}, project="p-a")
        env[guard_mod.NOVA_CONTEXT] = NovaContext()
        # p-b's request on p-a's server: untouched, whatever the headers.
        self.assertEqual("404 Not Found", self.call(env))
        self.assertEqual(1, self.row(uuid)["version"])
        NovaContext.project_id = "p-a"
        env = self.environ(uuid, {"os-start": None}, project="p-b")
        env[guard_mod.NOVA_CONTEXT] = NovaContext()
        self.assertEqual("202 Accepted", self.call(env))
        self.assertEqual(NovaContext.request_id,
                         self.events(uuid)[-1]["request_id"])

    # -- released however the request ends ----------------------------------

    def assertReleased(self, uuid, reason_part):
        row = self.row(uuid)
        self.assertEqual(("active", None, None),
                         (row["vm_state"], row["task_state"],
                          row["task_id"]))
        events = self.events(uuid)
        self.assertEqual(["create", "stop", "stop"],
                         [e["action"] for e in events])
        self.assertEqual(("powering-off", None),
                         (events[-1]["from"]["task_state"],
                          events[-1]["to"]["task_state"]))
        self.assertIn(reason_part, events[-1]["reason"])

    def test_error_status_releases(self):
        uuid = self.server()["uuid"]
        self.service.answer = 400
        self.post(uuid, {"os-stop": None}, 400)
        self.assertReleased(uuid, "answered 400")

    def test_exception_from_the_service_releases(self):
        uuid = self.server()["uuid"]
        self.service.fail = RuntimeError("compute exploded")
        err = self.assertRaises(RuntimeError, self.post, uuid,
                                {"os-stop": None}, 202)
        self.assertEqual("compute exploded", str(err))
        self.assertReleased(uuid, "raised RuntimeError")

    def test_green_thread_killed_releases(self):
        uuid = self.server()["uuid"]
        self.service.fail = ClientGone()
        env = self.environ(uuid, {"os-stop": None})
        self.assertRaises(ClientGone, self.guard, env,
                          lambda s, h, e=None: None)
        self.assertReleased(uuid, "raised ClientGone")

    def test_exception_while_answering_releases(self):
        uuid = self.server()["uuid"]
        self.service.lazy = True

        def chunks():
            yield b"{"
            raise RuntimeError("lost half way")
        self.service.chunks = chunks()
        body = self.guard(self.environ(uuid, {"os-stop": None}),
                          lambda s, h, e=None: None)
        self.assertRaises(RuntimeError, b"".join, body)
        body.close()
        self.assertReleased(uuid, "raised RuntimeError while answering")

    def test_client_gone_before_the_answer_releases(self):
        uuid = self.server()["uuid"]
        self.service.lazy = True
        answered = []
        body = self.guard(self.environ(uuid, {"os-stop": None}),
                          lambda s, h, e=None: answered.append(s))
        self.assertEqual("powering-off", self.row(uuid)["task_state"])
        # The server closes the answer without reading it.
        body.close()
        self.assertEqual([], answered)
        self.assertReleased(uuid, "client went away")

    def test_client_gone_during_the_answer_releases(self):
        uuid = self.server()["uuid"]
        self.service.lazy = True
        self.service.chunks = [b"{", b"}"]
        body = self.guard(self.environ(uuid, {"os-stop": None}),
                          lambda s, h, e=None: None)
        self.assertEqual(b"{", next(iter(body)))
        body.close()
        self.assertEqual(1, self.service.closed)
        self.assertReleased(uuid, "client went away")

    def test_error_status_given_late_releases(self):
        uuid = self.server()["uuid"]
        self.service.lazy = True
        self.service.answer = 500
        body = self.guard(self.environ(uuid, {"os-stop": None}),
                          lambda s, h, e=None: None)
        self.assertEqual("powering-off", self.row(uuid)["task_state"])
        self.assertEqual(b"{}", b"".join(body))
        body.close()
        self.assertReleased(uuid, "answered 500")

    def test_complete_success_keeps_the_reservation(self):
        uuid = self.server()["uuid"]
        self.service.lazy = True
        self.service.chunks = [b"{", b"}"]
        body = self.guard(self.environ(uuid, {"os-stop": None}),
                          lambda s, h, e=None: None)
        self.assertEqual(b"{}", b"".join(body))
        body.close()
        self.assertEqual(1, self.service.closed)
        row = self.row(uuid)
        self.assertEqual(("powering-off", 2),
                         (row["task_state"], row["version"]))
        self.assertEqual(row["task_id"], self.service.adopted[0].task_id)

    def test_release_never_replaces_another_task(self):
        uuid = self.server()["uuid"]
        self.service.answer = 500
        taken_over = []

        def delete_meanwhile(environ, start_response):
            taken_over.append(lifecycle.begin(self.a, uuid, "delete"))
            return self.service(environ, start_response)
        app = webtest.TestApp(ComputeGuard(delete_meanwhile,
                                           {"reserve": "true"}))
        app.post("/v2.1/servers/%s/action" % uuid,
                 json.dumps({"os-stop": None}), headers=headers("p-a"),
                 status=500, expect_errors=True)
        row = self.row(uuid)
        self.assertEqual(("deleting", taken_over[0].task_id),
                         (row["task_state"], row["task_id"]))
        self.assertEqual(["create", "stop", "delete"],
                         [e["action"] for e in self.events(uuid)])

    # -- deleted ------------------------------------------------------------

    def test_deleted_server_passes_untouched(self):
        uuid = self.server(vm_state="deleted")["uuid"]
        for conf in ({"reserve": "true"}, {}):
            app = webtest.TestApp(ComputeGuard(self.service, conf))
            app.post("/v2.1/servers/%s/action" % uuid,
                     json.dumps({"os-start": None}), headers=headers("p-a"),
                     status=404, expect_errors=True)
            # Nova's unchecked delete too: nothing is begun on it.
            app.delete("/v2.1/servers/%s" % uuid, headers=headers("p-a"),
                       status=404, expect_errors=True)
        self.assertEqual([None] * 4, self.service.reservations)
        self.assertEqual(1, self.row(uuid)["version"])
        self.assertEqual(["create"],
                         [e["action"] for e in self.events(uuid)])

    def test_released_delete_gives_the_build_back_to_its_owner(self):
        created = self.server(vm_state="building", task_state="scheduling")
        uuid = created["uuid"]
        build = lifecycle.adopt(self.a, uuid)
        build.checkpoint("spawning")
        self.service.answer = 500
        self.app.delete("/v2.1/servers/%s" % uuid, headers=headers("p-a"),
                        status=500, expect_errors=True)
        row = self.row(uuid)
        self.assertEqual(("building", "spawning", build.task_id, "create"),
                         (row["vm_state"], row["task_state"],
                          row["task_id"], row["task_action"]))
        self.assertEqual(["create", "create", "delete", "delete"],
                         [e["action"] for e in self.events(uuid)])
        # The build's worker never noticed: it checkpoints and finishes.
        build.checkpoint()
        self.assertEqual("active", build.finish()["vm_state"])


class TestReservationSQLite(_Reservation, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestReservationPostgreSQL(_Reservation, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestReservationMySQL(_Reservation, base.TestCase):
    FIXTURE = base.MySQLMigrated


class _FakeCompute:
    """The fake compute API behind the guard, as vmstate-fake-compute
    assembles it: one begin per request, the driver walking that task."""

    def setUp(self):
        super().setUp()
        self.driver = driver.FakeDriver(0.01, workers=4)
        self.addCleanup(self.driver.stop)
        compute = fake_api.ComputeAPI(self.driver)
        self.app = webtest.TestApp(fake_api.ContextFilter(
            ComputeGuard(compute, {"reserve": "true"})))

    def server(self, vm_state="active"):
        return db_api.instance_create(self.ctx, {
            "vm_state": vm_state, "task_state": None,
            "power_state": states.RUNNING})["uuid"]

    def settled(self, uuid):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            row = db_api.instance_get(self.admin, uuid)
            if row["task_state"] is None:
                return row
            time.sleep(0.02)
        self.fail("%s still has task %s" % (uuid, row["task_state"]))

    def test_one_begin_per_request(self):
        cases = [
            ({"reboot": {"type": "SOFT"}}, "reboot", 202, "active"),
            ({"os-stop": None}, "stop", 202, "stopped"),
            ({"os-start": None}, "start", 202, "active"),
            ({"pause": None}, "pause", 202, "paused"),
            ({"unpause": None}, "unpause", 202, "active"),
            ({"reboot": {"type": "HARD"}}, "reboot_hard", 202, "active"),
            # Nova's evacuate is an admin's (a member gets Nova's 403),
            # and below 2.14 names onSharedStorage (else Nova's 400).
            ({"evacuate": {"onSharedStorage": False}}, "evacuate", 200,
             "active", "admin"),
        ]
        uuid = self.server()
        for body, action, status, reached, *roles in cases:
            res = self.app.post("/servers/%s/action" % uuid,
                                json.dumps(body),
                                headers=headers("p1", *roles),
                                status=status)
            self.assertEqual(status, res.status_int)
            self.assertEqual(reached, self.settled(uuid)["vm_state"])
            events = db_api.instance_events(self.admin, uuid)
            self.assertEqual(1, len(begins(events, action)),
                             [(e["action"], e["to"]) for e in events])
            # The guard's begin is the one, and its task ran to the end.
            self.assertEqual("reserved by the compute guard",
                             begins(events, action)[0]["reason"], action)
            self.assertEqual((action, None),
                             (events[-1]["action"],
                              events[-1]["to"]["task_state"]))
        self.app.delete("/servers/%s" % uuid, headers=headers("p1"),
                        status=204)
        self.assertEqual("deleted", self.settled(uuid)["vm_state"])
        events = db_api.instance_events(self.admin, uuid)
        self.assertEqual(1, len(begins(events, "delete")))
        # Every request's events carry one request id: one begin each.
        by_request = {}
        for event in events[1:]:
            by_request.setdefault(event["request_id"], []).append(event)
        self.assertEqual(len(cases) + 1, len(by_request))

    def test_other_project_delete_leaves_the_build_alone(self):
        created = db_api.instance_create(self.ctx, {})
        uuid = created["uuid"]
        self.app.delete("/servers/%s" % uuid, headers=headers("p2"),
                        status=404)
        self.app.post("/servers/%s/action" % uuid,
                      json.dumps({"os-stop": None}), headers=headers("p2"),
                      status=404)
        row = db_api.instance_get(self.admin, uuid)
        self.assertEqual((1, created["task_id"]),
                         (row["version"], row["task_id"]))

    def test_deleted_server_is_novas_404_and_untouched(self):
        uuid = self.server()
        self.app.delete("/servers/%s" % uuid, headers=headers("p1"),
                        status=204)
        version = self.settled(uuid)["version"]
        self.app.post("/servers/%s/action" % uuid,
                      json.dumps({"os-start": None}), headers=headers("p1"),
                      status=404)
        # A second DELETE (Nova's delete checks no state) is Nova's 404
        # too, and begins nothing.
        self.app.delete("/servers/%s" % uuid, headers=headers("p1"),
                        status=404)
        self.assertEqual(version,
                         db_api.instance_get(self.admin, uuid)["version"])


    def test_reservation_of_another_request_is_a_conflict(self):
        uuid = self.server()
        other = self.server()
        task = lifecycle.begin(self.ctx, other, "stop")
        compute = fake_api.ComputeAPI(self.driver)
        for reserved in (dict(uuid=other, action="stop"),
                         dict(uuid=uuid, action="pause")):
            reserved.update(task_id=task.task_id, task_state="powering-off")
            req = webob.Request.blank(
                "/servers/%s/action" % uuid, method="POST",
                body=json.dumps({"os-stop": None}).encode(),
                headers=headers("p1"))
            req.environ[guard_mod.RESERVATION] = reserved
            res = req.get_response(compute)
            self.assertEqual(409, res.status_int)
            self.assertIn("reserved", res.json["conflictingRequest"]
                          ["message"])
        # Neither server was touched by the API.
        self.assertEqual(1, db_api.instance_get(self.admin, uuid)["version"])
        self.assertEqual(task.task_id,
                         db_api.instance_get(self.admin, other)["task_id"])


class TestFakeComputeSQLite(_FakeCompute, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestFakeComputePostgreSQL(_FakeCompute, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestFakeComputeMySQL(_FakeCompute, base.TestCase):
    FIXTURE = base.MySQLMigrated
