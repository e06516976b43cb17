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



"""GET /v1/instances/{uuid}/wait: the long-poll, checked against the
OpenAPI description like every API answer."""

import time

from oslo_policy import policy as oslo_policy

from tests import concurrency
from tests import connections_fixture
from tests import events_fixture
from tests.functional.api import base
from vmstate.api import policy
from vmstate.api.controllers import instances

OWN = base.OWNER
PATIENCE = 30


class WaitAPITestCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(events_fixture.Bus())
        self.flags(group="events", resync_interval=PATIENCE)
        self.read = self.useFixture(events_fixture.WaitRead()).event

    def assertSameInstance(self, expected, actual):
        """The same instance at the same version, as the views show it."""
        for field in ("uuid", "project_id", "version", "vm_state",
                      "task_state", "power_state", "created_at",
                      "updated_at", "allowed_actions"):
            self.assertEqual(expected[field], actual[field], field)

    def report(self, uuid, **values):
        """PATCH new states, as a compute service does (fenced on the
        version it read)."""
        seen = self.get("/v1/instances/%s" % uuid).json["instance"]
        return self.patch("/v1/instances/%s" % uuid, {
            "instance": values, "expected": {"version": seen["version"]}})

    def wait_path(self, uuid, *targets, timeout=None):
        query = "&".join("for=%s" % t for t in targets)
        if timeout is not None:
            query += "&timeout=%s" % timeout
        return "/v1/instances/%s/wait?%s" % (uuid, query)

    def long_poll(self, path, headers=OWN, status=200):
        """GET ``path`` in another thread, once it waits; the function
        returned gives the answer."""
        thread = concurrency.Background(
            lambda: self.get(path, headers=headers, status=status),
            name="long-poll", test=self, timeout=PATIENCE)

        def join():
            thread.join(PATIENCE)
            self.assertFalse(thread.is_alive(), "the long-poll hangs")
            return thread.outcome(0)

        self.assertTrue(self.read.wait(PATIENCE), "the wait did not start")
        return join


class TestWait(WaitAPITestCase):

    def test_already_there(self):
        inst = self.create(vm_state="active", task_state=None)
        body = self.get(self.wait_path(inst["uuid"], "active"),
                        headers=OWN).json
        self.assertEqual(["instance", "seen", "status"], sorted(body))
        self.assertEqual(("reached", ["active"]),
                         (body["status"], body["seen"]))
        self.assertSameInstance(inst, body["instance"])

    def test_woken_by_a_transition(self):
        inst = self.create(vm_state="active", task_state=None)
        held = self.useFixture(
            connections_fixture.CheckedOut(self.db_engine()))
        join = self.long_poll(self.wait_path(inst["uuid"], "stopped",
                                             "active", timeout=PATIENCE))
        # The waiting request holds no database connection.
        self.assertEqual(0, held.count)
        began = time.monotonic()
        # A compute service reports its progress.
        for vm_state, task_state, power_state in (
                ("active", "powering-off", 1), ("stopped", None, 4),
                ("stopped", "powering-on", 4), ("active", None, 1)):
            self.report(inst["uuid"], vm_state=vm_state,
                        task_state=task_state, power_state=power_state)
        body = join().json
        self.assertLess(time.monotonic() - began, PATIENCE / 3)
        self.assertEqual("reached", body["status"])
        self.assertEqual(["active", "stopped", "active"], body["seen"])
        self.assertEqual((5, "active", None, 1),
                         (body["instance"]["version"],
                          body["instance"]["vm_state"],
                          body["instance"]["task_state"],
                          body["instance"]["power_state"]))
        # The instance as GET shows it.
        self.assertEqual(self.get("/v1/instances/%s" % inst["uuid"],
                                  headers=OWN).json["instance"],
                         body["instance"])
        # Where a client that wants the steps resumes the stream.
        events = self.get("/v1/instances/%s/events?since=1" % inst["uuid"],
                          headers=OWN).json["events"]
        self.assertEqual([2, 3, 4, 5], [e["version"] for e in events])

    def db_engine(self):
        from vmstate.db import connections
        return connections.get_engine()

    def test_failed_on_error(self):
        inst = self.create(vm_state="active", task_state=None)
        join = self.long_poll(self.wait_path(inst["uuid"], "stopped"))
        self.report(inst["uuid"], task_state="powering-off")
        self.report(inst["uuid"], vm_state="error", task_state=None)
        body = join().json
        self.assertEqual(("failed", ["active", "error"]),
                         (body["status"], body["seen"]))

    def test_failed_on_deleted_unless_awaited(self):
        inst = self.create(vm_state="deleted", task_state=None)
        for targets, status in ((("active",), "failed"),
                                (("deleted",), "reached")):
            body = self.get(self.wait_path(inst["uuid"], *targets,
                                           timeout=PATIENCE),
                            headers=OWN).json
            self.assertEqual(status, body["status"])

    def test_timeout(self):
        inst = self.create(vm_state="active", task_state=None)
        for timeout in ("0", "0.05"):
            body = self.get(self.wait_path(inst["uuid"], "stopped",
                                           timeout=timeout),
                            headers=OWN).json
            self.assertEqual(("timeout", ["active"]),
                             (body["status"], body["seen"]))
            self.assertSameInstance(inst, body["instance"])

    def test_timeout_is_lowered_to_max_wait(self):
        self.flags(group="api", max_wait=1)
        inst = self.create(vm_state="active", task_state=None)
        for path in (self.wait_path(inst["uuid"], "stopped", timeout=3600),
                     self.wait_path(inst["uuid"], "stopped")):
            began = time.monotonic()
            body = self.get(path, headers=OWN).json
            elapsed = time.monotonic() - began
            self.assertEqual("timeout", body["status"])
            self.assertGreaterEqual(elapsed, 1)
            self.assertLess(elapsed, PATIENCE / 3)

    def test_stopping_service_answers_503(self):
        inst = self.create(vm_state="active", task_state=None)
        join = self.long_poll(self.wait_path(inst["uuid"], "stopped"),
                              status=503)
        self.addCleanup(instances.STOPPING.clear)
        instances.STOPPING.set()
        self.fault(join(), "serviceUnavailable", 503)
        res = self.get(self.wait_path(inst["uuid"], "stopped"),
                       headers=OWN, status=503)
        self.fault(res, "serviceUnavailable", 503)


class TestRefusals(WaitAPITestCase):

    def setUp(self):
        super().setUp()
        self.uuid = self.create(vm_state="active", task_state=None)["uuid"]

    def bad(self, query, message, headers=OWN):
        res = self.get("/v1/instances/%s/wait?%s" % (self.uuid, query),
                       headers=headers, status=400)
        detail = self.fault(res, "badRequest", 400)
        self.assertIn(message, detail["message"])

    def test_states(self):
        self.bad("timeout=1", "Name the vm_state to wait for")
        self.bad("for=runnning", "for 'runnning' is not a vm_state; valid: "
                 "active, building")
        self.bad("for=active&for=", "for '' is not a vm_state")
        self.bad("&".join(["for=active"] * 17),
                 "Wait for at most 16 vm_states, not 17")

    def test_timeouts(self):
        for value in ("-1", "abc", "1e3", "inf", "nan", "", "+5", "0x10",
                      "1.2.3", "10" * 10):
            self.bad("for=active&timeout=%s" % value,
                     "timeout must be a number of seconds >= 0")
        self.bad("for=active&timeout=1&timeout=2",
                 "timeout may be given only once")

    def test_unknown_parameter(self):
        self.bad("for=active&until=stopped", "Unknown query parameter(s): "
                 "until; allowed: for, timeout")

    def test_other_project_and_unknown_instances_are_404(self):
        for path, headers in (
                (self.wait_path(self.uuid, "active"), base.OTHER),
                (self.wait_path(self.new_uuid(), "active"), OWN),
                ("/v1/instances/not-a-uuid/wait?for=active", OWN)):
            res = self.get(path, headers=headers, status=404)
            self.fault(res, "itemNotFound", 404)

    def test_policy(self):
        policy.get_enforcer().set_rules(oslo_policy.Rules.from_dict(
            {"vmstate:instance:wait": "!"}), overwrite=False)
        res = self.get(self.wait_path(self.uuid, "active"), headers=OWN,
                       status=403)
        self.fault(res, "forbidden", 403)
        # Admins pass the rule "!" no more than anyone.
        self.get(self.wait_path(self.uuid, "active"), headers=base.ADMIN,
                 status=403)

    def test_only_get(self):
        res = self.post("/v1/instances/%s/wait" % self.uuid, {},
                        headers=OWN, status=405)
        self.fault(res, "badMethod", 405)
