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

"""The compute guard filter in front of a stand-in compute service."""

import json
import os
import threading
from unittest import mock

import fixtures
from oslo_db import exception as db_exc
import webob
import webob.dec
import webtest

from tests import base
from tests import concurrency
from tests import db_fixture
from vmstate import context
from vmstate import exception
from vmstate import lifecycle
from vmstate.api.middleware import ComputeGuard
from vmstate.db import api as db_api
from vmstate.db import connections

SERVICE_ANSWER = {"ok": True}


class Compute:
    """A compute service that records what reached it.

    ``answer`` is the status it replies with; ``gate``, when set, holds
    each request until the test lets it go (to overlap two requests).
    """

    def __init__(self):
        self.seen = []
        self.answer = 202
        self.gate = None
        self.entered = threading.Semaphore(0)

    @webob.dec.wsgify
    def __call__(self, req):
        self.seen.append((req.method, req.path_info, req.body))
        self.entered.release()
        if self.gate is not None:
            self.gate.wait(10)
        res = webob.Response(status=self.answer,
                             content_type="application/json")
        res.text = json.dumps(SERVICE_ANSWER)
        return res


class GuardTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.db = self.useFixture(db_fixture.Database())
        self.ctx = context.get_admin_context()
        self.compute = Compute()

    def app(self, **conf):
        return webtest.TestApp(ComputeGuard(self.compute, conf))

    def server(self, vm_state="active", task_state=None):
        return db_api.instance_create(self.ctx, {
            "vm_state": vm_state, "task_state": task_state})["uuid"]

    def action(self, app, uuid, body, status, prefix="/v2.1"):
        return app.post("%s/servers/%s/action" % (prefix, uuid),
                        json.dumps(body),
                        headers={"Content-Type": "application/json"},
                        status=status, expect_errors=status >= 400)


class TestCheck(GuardTestCase):

    def test_allowed_action_reaches_the_service(self):
        uuid = self.server()
        res = self.action(self.app(), uuid, {"os-stop": None}, 202)
        self.assertEqual(SERVICE_ANSWER, res.json)
        self.assertEqual(1, len(self.compute.seen))
        # Checking is not starting: the store is untouched.
        self.assertEqual(1, db_api.instance_get(self.ctx, uuid)["version"])

    def test_refusal_is_novas_body_plus_allowed_actions(self):
        uuid = self.server(vm_state="stopped")
        res = self.action(self.app(), uuid, {"os-stop": None}, 409)
        self.assertEqual({"conflictingRequest": {
            "code": 409,
            "message": "Cannot 'stop' instance %s while it is in vm_state "
                       "stopped" % uuid,
            "allowed_actions": sorted(res.json["conflictingRequest"]
                                      ["allowed_actions"])}}, res.json)
        self.assertIn("start",
                      res.json["conflictingRequest"]["allowed_actions"])
        self.assertEqual([], self.compute.seen)

    def test_refused_by_the_task(self):
        uuid = self.server(task_state="powering-off")
        res = self.action(self.app(), uuid,
                          {"reboot": {"type": "soft"}}, 409)
        self.assertEqual("Cannot 'reboot' instance %s while it is in "
                         "task_state powering-off" % uuid,
                         res.json["conflictingRequest"]["message"])

    def test_every_prefix_and_route_kind(self):
        uuid = self.server(vm_state="stopped")
        app = self.app()
        for prefix in ("/v2.1", "/v2.1/p-1", "/v2", "", "/p-1"):
            self.action(app, uuid, {"pause": None}, 409, prefix=prefix)
        app.delete("/v2.1/servers/%s" % uuid, status=202)
        app.post("/v2.1/servers/%s/os-interface" % uuid, "{}",
                 headers={"Content-Type": "application/json"}, status=202)
        self.server(vm_state="soft-delete")
        res = app.post("/v2.1/servers/%s/os-interface" % self.server(
            vm_state="soft-delete"), "{}",
            headers={"Content-Type": "application/json"}, status=409,
            expect_errors=True)
        self.assertIn("vm_state soft-delete",
                      res.json["conflictingRequest"]["message"])

    def test_unguarded_requests_pass_without_a_query(self):
        uuid = self.server()
        counter = self.useFixture(db_fixture.StatementCounter(
            self.db.engine))
        app = self.app()
        app.get("/v2.1/servers/%s" % uuid, status=202)
        app.get("/v2.1/servers/detail", status=202)
        app.post("/v2.1/servers", "{}", status=202)
        self.action(app, uuid, {"lock": None}, 202)
        app.put("/v2.1/servers/%s" % uuid, "{}", status=202)
        self.assertEqual([], counter.statements)
        self.assertEqual(5, len(self.compute.seen))

    def test_guarded_request_is_one_read(self):
        uuid = self.server()
        counter = self.useFixture(db_fixture.StatementCounter(
            self.db.engine))
        self.action(self.app(), uuid, {"os-stop": None}, 202)
        self.assertEqual(1, counter.count, counter.statements)
        self.assertTrue(counter.statements[0].lstrip().upper()
                        .startswith("SELECT"))

    def test_unknown_server_passes_to_the_service(self):
        self.compute.answer = 404
        self.action(self.app(), "0d5b3b3e-0000-4000-8000-000000000000",
                    {"os-stop": None}, 404)
        self.assertEqual(1, len(self.compute.seen))

    def test_two_body_keys_are_left_to_nova(self):
        # Nova answers them (400 "Malformed request body"), before any
        # state check: the guard neither refuses nor reads.
        uuid = self.server(vm_state="stopped")
        self.compute.answer = 400
        counter = self.useFixture(db_fixture.StatementCounter(
            self.db.engine))
        self.action(self.app(), uuid, {"os-stop": None, "pause": None}, 400)
        self.assertEqual(1, len(self.compute.seen))
        self.assertEqual([], counter.statements)

    def test_unreadable_body_is_left_to_the_service(self):
        uuid = self.server(vm_state="stopped")
        self.compute.answer = 400
        self.app().post("/v2.1/servers/%s/action" % uuid, b"{oops",
                        status=400, expect_errors=True)
        self.assertEqual(1, len(self.compute.seen))

    def test_body_stays_readable_for_the_service(self):
        uuid = self.server()
        self.action(self.app(), uuid, {"os-stop": None}, 202)
        self.assertEqual(b'{"os-stop": null}', self.compute.seen[0][2])

    def test_store_down_is_503_never_a_pass(self):
        uuid = self.server(vm_state="stopped")
        with mock.patch.object(db_api, "instance_get", side_effect=(
                db_exc.DBConnectionError("gone"))):
            res = self.action(self.app(), uuid, {"os-stop": None}, 503)
        self.assertEqual(503, res.json["serviceUnavailable"]["code"])
        self.assertIn("unavailable",
                      res.json["serviceUnavailable"]["message"])
        self.assertEqual([], self.compute.seen)

    def test_upper_case_server_id_is_the_same_server(self):
        uuid = self.server(vm_state="stopped")
        res = self.action(self.app(), uuid.upper(), {"pause": None}, 409)
        self.assertIn("vm_state stopped",
                      res.json["conflictingRequest"]["message"])
        self.assertEqual([], self.compute.seen)

    def test_body_too_deep_to_read_is_left_to_the_service(self):
        uuid = self.server(vm_state="stopped")
        self.compute.answer = 400
        self.app().post("/v2.1/servers/%s/action" % uuid,
                        b"[" * 100000, status=400, expect_errors=True)
        self.assertEqual(1, len(self.compute.seen))

    def test_soft_delete_deployment(self):
        uuid = self.server(vm_state="active", task_state="deleting")
        # soft_delete is allowed in any state, as delete is.
        self.app(soft_delete="true").delete("/v2.1/servers/%s" % uuid,
                                            status=202)

    def test_unknown_state_source_fails_at_start(self):
        err = self.assertRaises(exception.VMStateError, ComputeGuard,
                                self.compute,
                                {"state_source": "carrier-pigeon"})
        self.assertIn("carrier-pigeon", str(err))
        self.assertIn("nova_db", str(err))
        self.assertIn("vmstate", str(err))


class TestReserve(GuardTestCase):

    def test_reservation_begins_the_action(self):
        uuid = self.server()
        self.action(self.app(reserve="true"), uuid, {"os-stop": None}, 202)
        row = db_api.instance_get(self.ctx, uuid)
        self.assertEqual("powering-off", row["task_state"])

    def test_two_concurrent_requests_cannot_both_pass(self):
        uuid = self.server()
        app = self.app(reserve="true")
        self.compute.gate = threading.Event()

        def first():
            return self.action(app, uuid, {"os-stop": None}, 202)

        def second():
            try:
                self.assertTrue(self.compute.entered.acquire(timeout=10))
                # The first is inside the service; the second must not
                # get there.
                return self.action(app, uuid, {"reboot": {"type": "SOFT"}},
                                   409)
            finally:
                self.compute.gate.set()

        first, second = concurrency.run_concurrently(first, second,
                                                     timeout=60)
        self.assertEqual((202, 409), (first.status_int, second.status_int))
        self.assertEqual(1, len(self.compute.seen))
        self.assertIn("task_state powering-off",
                      second.json["conflictingRequest"]["message"])

    def test_error_answer_releases_the_reservation(self):
        uuid = self.server()
        self.compute.answer = 400
        self.action(self.app(reserve="true"), uuid, {"os-stop": None}, 400)
        row = db_api.instance_get(self.ctx, uuid)
        self.assertEqual(("active", None), (row["vm_state"],
                                            row["task_state"]))
        events = db_api.instance_events(self.ctx, uuid)
        self.assertEqual(["create", "stop", "stop"],
                         [e["action"] for e in events])
        self.assertIn("400", events[-1]["reason"])

    def test_release_never_undoes_a_newer_decision(self):
        uuid = self.server()
        self.compute.answer = 500
        self.compute.gate = threading.Event()
        app = self.app(reserve="true")

        def stop():
            return self.action(app, uuid, {"os-stop": None}, 500)

        def delete_meanwhile():
            try:
                self.assertTrue(self.compute.entered.acquire(timeout=10))
                # A delete wins while the service is still working on the
                # stop.
                lifecycle.begin(self.ctx, uuid, "delete")
            finally:
                self.compute.gate.set()

        answer, _ = concurrency.run_concurrently(stop, delete_meanwhile,
                                                 timeout=60)
        self.assertEqual(500, answer.status_int)
        row = db_api.instance_get(self.ctx, uuid)
        self.assertEqual("deleting", row["task_state"])

    def test_store_down_while_reserving_is_503(self):
        uuid = self.server(vm_state="stopped")
        with mock.patch.object(lifecycle, "begin", side_effect=(
                db_exc.DBConnectionError("gone"))):
            res = self.action(self.app(reserve="true"), uuid,
                              {"os-stop": None}, 503)
        self.assertEqual(503, res.json["serviceUnavailable"]["code"])
        self.assertEqual([], self.compute.seen)

    def test_reserve_needs_the_vmstate_source(self):
        self.flags(group="nova_db", connection="sqlite://")
        err = self.assertRaises(exception.VMStateError, ComputeGuard,
                                self.compute,
                                {"reserve": "true",
                                 "state_source": "nova_db"})
        self.assertIn("reserve", str(err))


class TestOwnConfiguration(base.TestCase):
    """Inside a host service, vmstate keeps to its own configuration."""

    def test_engine_uses_vmstates_database_not_the_hosts(self):
        from oslo_config import cfg
        from oslo_db import options

        tmp = self.useFixture(fixtures.TempDir()).path
        ours = "sqlite:///%s/vmstate.sqlite" % tmp
        # The host (say Nova) has its own [database] on the global CONF.
        cfg.CONF.register_opts(options.database_opts, "database")
        self.addCleanup(cfg.CONF.clear_override, "connection", "database")
        cfg.CONF.set_override("connection",
                              "sqlite:///%s/host/nova.sqlite" % tmp,
                              "database")
        self.flags(group="database", connection=ours)
        facade = connections.main.make_new_manager()
        with mock.patch.object(connections, "main", facade):
            engine = connections.get_engine()
            self.addCleanup(facade.dispose_pool)
            self.assertEqual(ours, str(engine.url))
        self.assertFalse(os.path.exists(os.path.join(tmp, "host")))
