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

"""The history checker's audit finds what it claims to find."""

import copy
import io

from tests import base
from tools import history_check as hc
from vmstate.matrix import loader

UUID = "6a3e0c7e-7f1b-4d0a-9a55-2f0e6f1f6c11"


def snap(vm_state, task_state=None, power_state=1):
    return {"vm_state": vm_state, "task_state": task_state,
            "power_state": power_state}


def event(version, action, before, after):
    return {"version": version, "action": action, "from": before,
            "to": after, "created_at": "x", "request_id": "req-x"}


GOOD = [
    event(1, "create", snap(None, None, None), snap("active")),
    event(2, "stop", snap("active"), snap("active", "powering-off")),
    event(3, "update", snap("active", "powering-off"),
          snap("stopped", None, 4)),
]
ROW = {"uuid": UUID, "vm_state": "stopped", "task_state": None,
       "power_state": 4, "version": 3}


class TestAudit(base.TestCase):

    def audit(self, events, row=ROW, acknowledged=((2, "stop"),
                                                   (3, "update")),
              fences=None):
        ledger = hc.Ledger()
        for version, kind in acknowledged:
            ledger.acknowledged[(UUID, version)] = kind
            if kind == "update":
                # Reports fenced on the version they read.
                ledger.fences[(UUID, version)] = {"version": version - 1}
        for key, fence in (fences or {}).items():
            ledger.fences[(UUID, key)] = fence
        hc._audit_one(UUID, row, events, loader.load(["nova"]), ledger)
        return ledger.violations

    def test_a_good_history_has_no_violation(self):
        self.assertEqual([], self.audit(GOOD))

    def test_nothing_leaves_deleted(self):
        events = [
            event(1, "create", snap(None, None, None), snap("deleted")),
            event(2, "update", snap("deleted"), snap("active")),
        ]
        found = self.audit(events, row=dict(ROW, vm_state="active",
                                            power_state=1, version=2),
                           acknowledged=((2, "update"),))
        self.assertTrue(any("left deleted" in v for v in found), found)

    def test_a_report_naming_only_the_task_state_is_no_owner(self):
        events = copy.deepcopy(GOOD)
        for e in events[1:]:
            e["task_id"] = "t1"
        found = self.audit(events, fences={
            3: {"task_state": "powering-off"}})
        self.assertTrue(any("without owning it" in v for v in found), found)
        # Named by its id: the owner.
        self.assertEqual([], self.audit(events, fences={
            3: {"task_id": "t1"}}))
        # Another task's id: not the owner.
        found = self.audit(events, fences={3: {"task_id": "t2"}})
        self.assertTrue(any("without owning it" in v for v in found), found)

    def test_a_resize_confirmed_and_reverted(self):
        events = [
            event(1, "create", snap(None, None, None), snap("resized")),
            event(2, "confirm_resize", snap("resized"),
                  snap("resized", "resize_confirming")),
            event(3, "update", snap("resized", "resize_confirming"),
                  snap("resized")),
            event(4, "revert_resize", snap("resized"),
                  snap("resized", "resize_reverting")),
            event(5, "update", snap("resized", "resize_reverting"),
                  snap("active")),
        ]
        found = self.audit(events, row=dict(ROW, vm_state="active",
                                            power_state=1, version=5),
                           acknowledged=((2, "confirm_resize"),
                                         (3, "update"),
                                         (4, "revert_resize"),
                                         (5, "update")))
        self.assertTrue(any("confirmed or reverted already" in v
                            for v in found), found)

    def test_gap_in_versions(self):
        events = copy.deepcopy(GOOD)
        events[2]["version"] = 4
        found = self.audit(events, row=dict(ROW, version=4),
                           acknowledged=((2, "stop"), (4, "update")))
        self.assertTrue(any("consecutive" in v for v in found), found)

    def test_broken_chain(self):
        events = copy.deepcopy(GOOD)
        events[2]["from"] = snap("active", None)
        found = self.audit(events)
        self.assertTrue(any("starts from" in v for v in found), found)

    def test_action_the_matrix_refuses(self):
        events = copy.deepcopy(GOOD)
        events[1] = event(2, "start", snap("active"),
                          snap("active", "powering-on"))
        events[2]["from"] = snap("active", "powering-on")
        found = self.audit(events, acknowledged=((2, "start"),
                                                 (3, "update")))
        self.assertTrue(any("does not allow" in v for v in found), found)

    def test_action_that_did_not_set_its_task(self):
        events = copy.deepcopy(GOOD)
        events[1]["to"] = snap("active", "rebooting")
        events[2]["from"] = snap("active", "rebooting")
        found = self.audit(events)
        self.assertTrue(any("set task_state" in v for v in found), found)

    def test_row_disagrees_with_history(self):
        found = self.audit(GOOD, row=dict(ROW, vm_state="active"))
        self.assertTrue(any("disagrees" in v for v in found), found)
        found = self.audit(GOOD, row=dict(ROW, version=4))
        self.assertTrue(any("history ends" in v for v in found), found)

    def test_lost_and_phantom_changes(self):
        found = self.audit(GOOD, acknowledged=((2, "stop"), (3, "update"),
                                               (4, "reboot")))
        self.assertTrue(any("not in the history" in v for v in found),
                        found)
        found = self.audit(GOOD, acknowledged=((2, "stop"),))
        self.assertTrue(any("no client was told" in v for v in found),
                        found)

    def test_ledger_flags_5xx_and_double_acknowledgement(self):
        ledger = hc.Ledger()
        ledger.record("reboot", 500, UUID, {"computeFault": {}})
        body = {"instance": {"version": 2}}
        ledger.record("stop", 202, UUID, body)
        ledger.record("update", 200, UUID, body)
        self.assertEqual(2, len(ledger.violations))

    def test_report(self):
        ledger = hc.Ledger()
        ledger.record("stop", 202, UUID, {"instance": {"version": 2}})
        ledger.record("stop", 409, UUID, None)
        out = io.StringIO()
        hc.report(ledger, 3, out)
        self.assertIn("operations: 2", out.getvalue())
        self.assertIn("1 x 202, 1 x 409", out.getvalue())
        self.assertIn("violations: 0", out.getvalue())


def guarded(version, action, before, after, request_id):
    return dict(event(version, action, before, after),
                request_id=request_id)


# One hard reboot through the guard: its begin, the driver's steps, its end.
REBOOT = [
    event(1, "create", snap(None, None, None), snap("active")),
    guarded(2, "reboot_hard", snap("active"),
            snap("active", "rebooting_hard"), "req-1"),
    guarded(3, "reboot_hard", snap("active", "rebooting_hard"),
            snap("active", "reboot_pending_hard"), "req-1"),
    guarded(4, "reboot_hard", snap("active", "reboot_pending_hard"),
            snap("active"), "req-1"),
]


class TestGuardAudit(base.TestCase):
    """One begin per request through the guard."""

    def audit(self, events, status=202, action="reboot_hard"):
        ledger = hc.Ledger()
        ledger.record_guard(action, status, UUID, None, "req-1")
        last = events[-1]
        row = dict(last["to"], uuid=UUID, version=last["version"])
        hc._audit_one(UUID, row, events, loader.load(["nova"]), ledger)
        return ledger.violations

    def test_one_begin_and_its_steps_are_no_violation(self):
        # The steps carry the action's name but are not begins, and no
        # REST client was told of them: neither is a violation.
        self.assertEqual([], self.audit(REBOOT))

    def test_second_begin_of_one_request(self):
        # The service began the action again over the guard's task.
        events = copy.deepcopy(REBOOT)
        events.insert(2, guarded(3, "reboot_hard",
                                 snap("active", "rebooting_hard"),
                                 snap("active", "rebooting_hard"), "req-1"))
        for n, e in enumerate(events, 1):
            e["version"] = n
        found = self.audit(events)
        self.assertTrue(any("began 2 times" in v for v in found), found)

    def test_accepted_request_that_never_began(self):
        found = self.audit(REBOOT[:1])
        self.assertTrue(any("began 0 times" in v for v in found), found)

    def test_refused_request_may_leave_its_reservation_and_release(self):
        events = [REBOOT[0], REBOOT[1],
                  guarded(3, "reboot_hard", snap("active", "rebooting_hard"),
                          snap("active"), "req-1")]
        self.assertEqual([], self.audit(events, status=409))
        self.assertEqual([], self.audit(REBOOT[:1], status=409))

    def test_begin_the_matrix_refuses(self):
        found = self.audit([event(1, "create", snap(None, None, None),
                                  snap("stopped")),
                            guarded(2, "pause", snap("stopped"),
                                    snap("stopped", "pausing"), "req-1")],
                           action="pause")
        self.assertTrue(any("does not allow" in v for v in found), found)

    def test_guard_request_without_request_id_or_with_5xx(self):
        ledger = hc.Ledger()
        ledger.record_guard("stop", 202, UUID, None, None)
        ledger.record_guard("stop", 500, UUID, None, "req-2")
        self.assertEqual(2, len(ledger.violations), ledger.violations)
TIMED_OUT = GOOD[:2] + [
    event(3, "timeout", snap("active", "powering-off"), snap("active")),
]


class TestSweptAndStale(base.TestCase):

    def audit(self, events, row, acknowledged, swept=("timeout",)):
        ledger = hc.Ledger()
        for version, kind in acknowledged:
            ledger.acknowledged[(UUID, version)] = kind
        hc._audit_one(UUID, row, events, loader.load(["nova"]), ledger,
                      swept)
        return ledger.violations

    def test_a_sweeper_timeout_needs_no_client(self):
        row = dict(ROW, vm_state="active", power_state=1)
        self.assertEqual([], self.audit(TIMED_OUT, row, ((2, "stop"),)))
        # Unless timeouts are not expected: then it is a phantom.
        found = self.audit(TIMED_OUT, row, ((2, "stop"),), swept=())
        self.assertTrue(any("no client was told" in v for v in found),
                        found)

    def test_a_timeout_that_ended_no_task_fired_twice(self):
        events = TIMED_OUT + [
            event(4, "timeout", snap("active"), snap("active"))]
        row = dict(ROW, vm_state="active", power_state=1, version=4)
        found = self.audit(events, row, ((2, "stop"),))
        self.assertTrue(any("ended no running task" in v for v in found),
                        found)

    def test_a_read_older_than_an_acknowledged_write_is_stale(self):
        ledger = hc.Ledger()
        self.assertEqual(0, ledger.floor(UUID))
        ledger.record("stop", 202, UUID, {"instance": {"version": 2}})
        floor = ledger.floor(UUID)
        self.assertEqual(2, floor)
        ledger.read(UUID, floor, 2, "API 0")
        ledger.read(UUID, floor, 3, "API 1")
        self.assertEqual([], ledger.violations)
        ledger.read(UUID, floor, 1, "API 2")
        self.assertEqual(1, len(ledger.violations))
        self.assertIn("stale read: API 2 answered version 1",
                      ledger.violations[0])
        self.assertEqual(3, ledger.reads)


class FakeClient:
    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = 0

    def request(self, method, path, body=None):
        self.sent += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self):
        pass


class TestBalanced(base.TestCase):

    def balanced(self, *clients):
        balanced = hc.Balanced(["http://a", "http://b"])
        balanced.clients = list(clients)
        return balanced

    def test_a_refused_connection_goes_to_another_api(self):
        refused = FakeClient([ConnectionRefusedError()])
        fine = FakeClient([(200, {"ok": 1})])
        balanced = self.balanced(refused, fine)
        balanced.rng.choice = lambda seq: seq[0]
        self.assertEqual((200, {"ok": 1}), balanced.request("GET", "/"))
        self.assertEqual((1, 1), (refused.sent, fine.sent))
        self.assertEqual(1, balanced.last)

    def test_an_api_answering_503_is_left_out_for_a_while(self):
        sick = FakeClient([(503, None)])
        fine = FakeClient([(200, None), (200, None)])
        balanced = self.balanced(sick, fine)
        balanced.rng.choice = lambda seq: seq[0]
        self.assertEqual(503, balanced.request("GET", "/")[0])
        self.assertEqual(200, balanced.request("GET", "/")[0])
        self.assertEqual(200, balanced.request("GET", "/")[0])
        self.assertEqual((1, 2), (sick.sent, fine.sent))

    def test_every_api_refusing_is_an_unreachable_request(self):
        balanced = self.balanced(FakeClient([ConnectionRefusedError()]),
                                 FakeClient([ConnectionRefusedError()]))
        self.assertRaises(ConnectionRefusedError, balanced.request, "GET",
                          "/")
