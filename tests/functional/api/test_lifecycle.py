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

"""The lifecycle engine through the REST API: queued actions, admin
resets, power-state reports. Every answer is held to the OpenAPI
description (base.CheckedApp)."""

from tests import lifecycle_fixtures
from tests.functional.api import base
from vmstate import context
from vmstate import lifecycle
from vmstate import states
from vmstate.db import api as db_api

A, OWN, X, S = base.ADMIN, base.OWNER, base.OTHER, base.SERVICE


class LifecycleAPITestCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(lifecycle_fixtures.Engine())
        self.admin_ctx = context.get_admin_context()

    def active(self, **values):
        values.setdefault("vm_state", "active")
        values.setdefault("task_state", None)
        return self.create(**values)

    def path(self, inst, sub=""):
        return "/v1/instances/%s%s" % (inst["uuid"], sub)

    def queue(self, inst, action, headers=None, status=202, **body):
        body = dict(body, action=action, queue=True)
        return self.post(self.path(inst, "/actions"), body,
                         headers=OWN if headers is None else headers,
                         status=status)

    def finish(self, inst, vm_state, power_state=None):
        """The compute worker reports the end of the task (PATCH)."""
        current = self.get(self.path(inst)).json["instance"]
        values = {"vm_state": vm_state, "task_state": None}
        if power_state is not None:
            values["power_state"] = power_state
        return self.patch(self.path(inst), {
            "instance": values,
            "expected": {"task_id": current["task_id"]}})

    def history(self, inst):
        return [(e["action"], e["to"]["vm_state"], e["to"]["task_state"])
                for e in self.get(self.path(inst, "/events")).json["events"]]


class TestQueuedActions(LifecycleAPITestCase):

    def test_drain_in_order_through_the_api(self):
        inst = self.active()
        self.act(inst["uuid"], "reboot")
        first = self.queue(inst, "snapshot", reason="before the update")
        queued = first.json["queued"]
        self.assertEqual(("snapshot", 1, False, [], "alice",
                          "before the update"),
                         (queued["action"], queued["position"],
                          queued["collapsed"], queued["superseded"],
                          queued["user_id"], queued["reason"]))
        self.assertEqual("rebooting", first.json["instance"]["task_state"])
        self.queue(inst, "stop")
        again = self.queue(inst, "stop")
        self.assertTrue(again.json["queued"]["collapsed"])
        self.assertEqual(2, again.json["queued"]["position"])
        view = self.get(self.path(inst), headers=OWN).json["instance"]
        self.assertEqual(["snapshot", "stop"],
                         [q["action"] for q in view["queue"]])
        listed = self.get("/v1/instances", headers=OWN).json["instances"]
        self.assertEqual(["snapshot", "stop"],
                         [q["action"] for q in listed[0]["queue"]])
        # The worker ends the reboot: the snapshot starts at once, in
        # the request that ended it (its answer is the instance as that
        # change left it).
        self.assertIsNone(self.finish(inst, "active").json["instance"][
            "task_state"])
        done = self.get(self.path(inst)).json["instance"]
        self.assertEqual("image_snapshot_pending", done["task_state"])
        self.assertEqual(["stop"], [q["action"] for q in done["queue"]])
        self.finish(inst, "active")
        done = self.get(self.path(inst)).json["instance"]
        self.assertEqual("powering-off", done["task_state"])
        self.assertNotIn("queue", done)
        self.finish(inst, "stopped", power_state=4)
        self.assertEqual([
            ("create", "active", None),
            ("reboot", "active", "rebooting"),
            ("update", "active", None),
            ("snapshot", "active", "image_snapshot_pending"),
            ("update", "active", None),
            ("stop", "active", "powering-off"),
            ("update", "stopped", None)], self.history(inst))
        # Who asked is who started it, even when it started later.
        events = db_api.instance_events(self.admin_ctx, inst["uuid"])
        self.assertEqual("alice", events[3]["user_id"])

    def test_without_queue_a_busy_instance_refuses(self):
        inst = self.active()
        self.act(inst["uuid"], "reboot")
        res = self.act(inst["uuid"], "stop", status=409)
        self.assertEqual("stop", self.fault(res, "conflictingRequest",
                                            409)["action"])

    def test_deployment_default(self):
        self.flags(group="lifecycle", queue_actions=True)
        inst = self.active()
        self.act(inst["uuid"], "reboot")
        res = self.act(inst["uuid"], "stop")
        self.assertEqual("stop", res.json["queued"]["action"])
        # A request may still refuse to wait.
        res = self.post(self.path(inst, "/actions"),
                        {"action": "pause", "queue": False}, headers=OWN,
                        status=409)
        self.fault(res, "conflictingRequest", 409)

    def test_refusals(self):
        self.flags(group="lifecycle", max_queued_actions=2)
        inst = self.active()
        self.act(inst["uuid"], "reboot")
        res = self.queue(inst, "unpause", status=409)
        detail = self.fault(res, "conflictingRequest", 409)
        self.assertIn("Cannot queue 'unpause'", detail["message"])
        self.assertIn("it needs paused", detail["message"])
        self.queue(inst, "stop")
        self.queue(inst, "start")
        res = self.queue(inst, "pause", status=409)
        detail = self.fault(res, "conflictingRequest", 409)
        self.assertTrue(detail["queue_full"])
        # Idle and refused: waiting would not help.
        idle = self.active(vm_state="stopped")
        res = self.queue(idle, "reboot", status=409)
        self.assertEqual("stopped", self.fault(res, "conflictingRequest",
                                               409)["vm_state"])
        self.queue(inst, "explode", status=400)
        self.post(self.path(inst, "/actions"),
                  {"action": "stop", "queue": "yes"}, headers=OWN,
                  status=400)

    def test_cancel(self):
        inst = self.active()
        self.act(inst["uuid"], "reboot")
        self.queue(inst, "stop")
        self.app.delete(self.path(inst, "/queue"), headers=X, status=404)
        res = self.app.delete(self.path(inst, "/queue"), headers=OWN)
        self.assertEqual(["stop"], [q["action"]
                                    for q in res.json["cancelled"]])
        self.assertNotIn("queue", res.json["instance"])
        self.finish(inst, "active")
        self.assertIsNone(self.get(self.path(inst)).json["instance"][
            "task_state"])

    def test_another_project_cannot_queue(self):
        inst = self.active()
        self.act(inst["uuid"], "reboot")
        self.queue(inst, "stop", headers=X, status=404)


class TestReset(LifecycleAPITestCase):

    def reset(self, inst, headers=A, status=200, **body):
        body.setdefault("vm_state", "active")
        body.setdefault("reason", "worker died")
        return self.post(self.path(inst, "/reset"), body, headers=headers,
                         status=status)

    def test_reset_a_stuck_task(self):
        inst = self.active()
        self.act(inst["uuid"], "reboot")
        res = self.reset(inst, vm_state="error", reason="stuck since noon",
                         headers=base.member("p-admin", "root",
                                             roles="admin"))
        view = res.json["instance"]
        self.assertEqual(("error", None), (view["vm_state"],
                                           view["task_state"]))
        event = db_api.instance_events(self.admin_ctx, inst["uuid"])[-1]
        self.assertEqual(("reset_state", "root", "stuck since noon"),
                         (event["action"], event["user_id"],
                          event["reason"]))
        self.assertEqual({"vm_state": "active", "task_state": "rebooting",
                          "power_state": 0}, event["from"])
        fault = db_api.instance_get(self.admin_ctx, inst["uuid"])["fault"]
        self.assertEqual("ResetState", fault["type"])
        self.assertIn("stuck since noon", fault["message"])
        # And back: active clears the fault.
        self.reset(inst)
        self.assertIsNone(db_api.instance_get(self.admin_ctx,
                                              inst["uuid"])["fault"])

    def test_admin_only(self):
        inst = self.active()
        for headers in (OWN, S):
            res = self.reset(inst, headers=headers, status=403)
            self.fault(res, "forbidden", 403)
            res = self.post(self.path(inst, "/clear_error"),
                            {"reason": "x"}, headers=headers, status=403)
            self.fault(res, "forbidden", 403)

    def test_bad_requests(self):
        inst = self.active()
        for body in ({"vm_state": "stopped", "reason": "x"},
                     {"vm_state": "active"},
                     {"vm_state": "active", "reason": ""},
                     {"vm_state": "active", "reason": "   "},
                     {"vm_state": "active", "reason": "x", "task_state": 1}):
            res = self.post(self.path(inst, "/reset"), body, status=400)
            self.fault(res, "badRequest", 400)
        self.app.get(self.path(inst, "/reset"), status=405)
        self.reset({"uuid": self.new_uuid()}, status=404)
        self.reset({"uuid": "not-a-uuid"}, status=404)

    def test_a_deleted_instance_stays_deleted(self):
        inst = self.active(vm_state="deleted")
        res = self.reset(inst, status=409)
        self.fault(res, "conflictingRequest", 409)

    def test_clear_error(self):
        inst = self.active(vm_state="stopped")
        self.act(inst["uuid"], "start")
        self.finish(inst, "error")
        res = self.post(self.path(inst, "/clear_error"),
                        {"reason": "host repaired"})
        self.assertEqual(("stopped", None),
                         (res.json["instance"]["vm_state"],
                          res.json["instance"]["task_state"]))
        event = db_api.instance_events(self.admin_ctx, inst["uuid"])[-1]
        self.assertEqual(("clear_error", "host repaired"),
                         (event["action"], event["reason"]))
        res = self.post(self.path(inst, "/clear_error"), {"reason": "again"},
                        status=409)
        self.assertIn("not in error", self.fault(
            res, "conflictingRequest", 409)["message"])

    def test_clear_error_after_a_failed_build_names_reset(self):
        inst = self.create()            # building, its build task running
        self.finish(inst, "error")      # the build failed
        res = self.post(self.path(inst, "/clear_error"), {"reason": "x"},
                        status=409)
        message = self.fault(res, "conflictingRequest", 409)["message"]
        self.assertIn("building", message)
        self.assertIn("/reset", message)
        shown = self.get(self.path(inst)).json["instance"]
        self.assertEqual(("error", None), (shown["vm_state"],
                                           shown["task_state"]))

    def test_clear_error_without_history(self):
        inst = self.active(vm_state="error")
        res = self.post(self.path(inst, "/clear_error"), {"reason": "x"},
                        status=409)
        self.assertIn("reset its state instead", self.fault(
            res, "conflictingRequest", 409)["message"])


class TestHeartbeat(LifecycleAPITestCase):

    def test_a_heartbeat_postpones_the_timeout(self):
        clock = self.useFixture(lifecycle_fixtures.Clock())
        self.flags(group="lifecycle", task_timeouts={"rebooting": "60"})
        inst = self.active()
        started = self.act(inst["uuid"], "reboot").json["instance"]
        version, task_id = started["version"], started["task_id"]
        clock.advance(50)
        res = self.post(self.path(inst, "/heartbeat"),
                        {"task_id": task_id, "task_state": "rebooting"},
                        headers=S, status=200)
        self.assertEqual(version, res.json["instance"]["version"])
        clock.advance(50)
        self.assertEqual(0, lifecycle.Sweeper().sweep().total_fired)
        clock.advance(11)
        self.assertEqual(1, lifecycle.Sweeper().sweep().total_fired)
        # The task is over: the worker hears it.
        res = self.post(self.path(inst, "/heartbeat"),
                        {"task_id": task_id}, headers=S, status=409)
        self.assertIn("preempted", self.fault(res, "conflictingRequest",
                                              409)["message"])

    def test_policy_and_input(self):
        inst = self.active()
        task_id = self.new_uuid()
        res = self.post(self.path(inst, "/heartbeat"),
                        {"task_id": task_id}, headers=OWN, status=403)
        self.fault(res, "forbidden", 403)
        # A heartbeat names its task: a task_state alone is refused.
        for body in ({}, {"task_state": "rebooting"}, {"task_id": ""},
                     {"task_id": None}, {"task_id": "abc"},
                     {"task_id": task_id, "task_state": ""},
                     {"task_id": task_id, "task_state": None},
                     {"task_id": task_id, "x": 1}):
            self.post(self.path(inst, "/heartbeat"), body, headers=S,
                      status=400)
        self.post("/v1/instances/%s/heartbeat" % self.new_uuid(),
                  {"task_id": task_id}, headers=S, status=404)


class TestPowerState(LifecycleAPITestCase):

    def setUp(self):
        super().setUp()
        self.clock = self.useFixture(lifecycle_fixtures.Clock())

    def report(self, inst, power_state, headers=S, status=200):
        return self.app.put_json(self.path(inst, "/power_state"),
                                 {"power_state": power_state},
                                 headers=headers, status=status,
                                 expect_errors=status >= 400)

    def test_observers_report_and_drift_acts_once(self):
        self.flags(group="lifecycle", power_drift_grace=30,
                   power_drift_reaction="stop")
        inst = self.active(power_state=states.RUNNING)
        res = self.report(inst, states.SHUTDOWN)
        self.assertEqual((True, None), (res.json["changed"],
                                        res.json["reaction"]))
        self.assertEqual(4, res.json["instance"]["power_state"])
        res = self.report(inst, states.SHUTDOWN)
        self.assertEqual((False, None), (res.json["changed"],
                                         res.json["reaction"]))
        self.clock.advance(31)
        res = self.report(inst, states.SHUTDOWN)
        self.assertEqual("stop", res.json["reaction"])
        self.assertEqual("powering-off", res.json["instance"]["task_state"])
        res = self.report(inst, states.SHUTDOWN, headers=A)
        self.assertIsNone(res.json["reaction"])

    def test_policy_and_input(self):
        inst = self.active()
        res = self.report(inst, 4, headers=OWN, status=403)
        self.fault(res, "forbidden", 403)
        for value in (2, "4", None, 1.5):
            res = self.report(inst, value, status=400)
            self.fault(res, "badRequest", 400)
        self.report({"uuid": self.new_uuid()}, 4, status=404)
        self.app.post_json(self.path(inst, "/power_state"),
                           {"power_state": 4}, headers=S, status=405)
