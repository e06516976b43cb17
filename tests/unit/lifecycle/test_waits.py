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



"""lifecycle.wait_for: states, sequences, failures, timeouts, cancellation,
no lost wake-up, no query while waiting, and a thousand waiters."""

import functools
import threading
import time

import fixtures

from tests import concurrency
from tests import connections_fixture
from tests import events_fixture
from tests.unit.db import base
from vmstate import events
from vmstate import exception
from vmstate import lifecycle
from vmstate.db import action_queue
from vmstate.db import api
from vmstate.events.drivers import local

# Long enough never to end a test that works: these tests end by events.
PATIENCE = 30


class Waiter(threading.Thread):
    """``wait_for`` in a thread, its progress observable from the test."""

    def __init__(self, ctx, uuid, targets, timeout=PATIENCE, **kwargs):
        super().__init__(daemon=True)
        self.args = (ctx, uuid, targets, timeout)
        self.kwargs = kwargs
        self.progress = []
        self.result = self.error = None
        self.finished = False
        self._cond = threading.Condition()

    def _on_progress(self, progress):
        with self._cond:
            self.progress.append(progress)
            self._cond.notify_all()

    def run(self):
        try:
            self.result = lifecycle.wait_for(
                *self.args, on_progress=self._on_progress, **self.kwargs)
        except Exception as err:
            self.error = err
        finally:
            with self._cond:
                self.finished = True
                self._cond.notify_all()

    def until_version(self, version, timeout=10):
        """Block until the waiter observed ``version`` (or ended)."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: self.finished or bool(
                    self.progress and self.progress[-1].version >= version),
                timeout)
        assert ok, "the waiter did not observe version %d" % version
        return self

    def begun(self):
        """Block until the waiter has read the instance: it waits now."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: self.finished or bool(self.progress), 10)
        assert ok, "the waiter did not start"
        return self

    def outcome(self, timeout=10):
        self.join(timeout)
        assert not self.is_alive(), "the wait did not end"
        if self.error is not None:
            raise self.error
        return self.result


def start(*args, **kwargs):
    waiter = Waiter(*args, **kwargs)
    waiter.start()
    return waiter


class HoldingBus(events.Bus):
    """A bus that can drop, hold, reorder, repeat and trim deliveries."""

    def __init__(self):
        super().__init__(local.LocalDriver(None))
        self.drop = set()
        self.holding = False
        self.held = []
        self.states_only = False

    def deliver(self, change):
        if change.version in self.drop:
            return
        if self.states_only:
            change = change.states_only()
        if self.holding:
            self.held.append(change)
            return
        super().deliver(change)

    def release(self, times=1):
        """Deliver what was held, newest first, ``times`` over."""
        self.holding = False
        held, self.held = self.held, []
        for _ in range(times):
            for change in reversed(held):
                super().deliver(change)


class WaitTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.bus = self.useFixture(events_fixture.Bus()).bus
        # Waits here end by events; the safety net must not be what ends
        # them (its own tests say so).
        self.flags(group="events", resync_interval=PATIENCE)

    def step(self, uuid, action):
        """Begin and finish ``action``, as a compute worker would."""
        return lifecycle.begin(self.ctx, uuid, action).finish()

    def private_bus(self):
        """A bus this process does not publish to (another process's)."""
        bus = HoldingBus()
        self.addCleanup(bus.close)
        return bus

    def holding_bus(self):
        """A HoldingBus that this process publishes to."""
        bus = self.private_bus()
        events.set_bus(bus)
        self.addCleanup(events.set_bus, self.bus)
        return bus


class TestStates(WaitTestCase):

    def test_current_state_counts_for_the_first(self):
        inst = self.create()
        counter = self.count_statements()
        result = lifecycle.wait_for(self.ctx, inst["uuid"], "active", 0)
        self.assertEqual(("reached", ("active",), ("active",)),
                         (result.status, result.seen, result.reached))
        self.assertEqual(inst["version"], result.instance["version"])
        self.assertNotIn("event", result.instance)
        self.assertIsNone(result.reason)
        self.assertEqual(1, counter.count)
        self.assertEqual(0, self.bus.subscriber_count())

    def test_a_state_with_a_task_running_is_not_reached(self):
        inst = self.create()
        task = lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        waiter = start(self.ctx, inst["uuid"], ["active"]).begun()
        self.assertFalse(waiter.finished)
        task.finish()
        result = waiter.outcome()
        self.assertEqual("reached", result.status)
        self.assertEqual([(2, "rebooting"), (3, None)],
                         [(p.version, p.task_state)
                          for p in waiter.progress])
        self.assertEqual(3, result.instance["version"])

    def test_stopped_then_active(self):
        inst = self.create()
        waiter = start(self.ctx, inst["uuid"], ["stopped", "active"]).begun()
        self.step(inst["uuid"], "stop")
        waiter.until_version(3)
        self.assertFalse(waiter.finished)
        self.step(inst["uuid"], "start")
        result = waiter.outcome()
        self.assertEqual(("reached", ("active", "stopped", "active"),
                          ("stopped", "active")),
                         (result.status, result.seen, result.reached))
        self.assertEqual(
            [(1, "active", None, (), "stopped"),
             (2, "active", "powering-off", (), "stopped"),
             (3, "stopped", None, ("stopped",), "active"),
             (4, "stopped", "powering-on", ("stopped",), "active"),
             (5, "active", None, ("stopped", "active"), None)],
            [(p.version, p.vm_state, p.task_state, p.reached, p.waiting_for)
             for p in waiter.progress])
        self.assertEqual(("active", None, 5),
                         (result.instance["vm_state"],
                          result.instance["task_state"],
                          result.instance["version"]))

    def test_the_current_state_counts_for_the_first_only(self):
        inst = self.create(vm_state="stopped")
        waiter = start(self.ctx, inst["uuid"], ["active", "stopped"]).begun()
        self.step(inst["uuid"], "start")
        waiter.until_version(3)
        self.assertFalse(waiter.finished)
        self.step(inst["uuid"], "stop")
        result = waiter.outcome()
        self.assertEqual(("stopped", "active", "stopped"), result.seen)
        self.assertEqual("reached", result.status)

    def test_one_version_counts_for_one_state(self):
        inst = self.create()
        result = lifecycle.wait_for(self.ctx, inst["uuid"],
                                    ["active", "active"], 0)
        self.assertEqual(("timeout", ("active",)),
                         (result.status, result.reached))
        waiter = start(self.ctx, inst["uuid"], ["active", "active"]).begun()
        self.step(inst["uuid"], "reboot")
        self.assertEqual("reached", waiter.outcome().status)

    def test_awaited_failure_states_are_reached(self):
        inst = self.create()
        waiter = start(self.ctx, inst["uuid"], "deleted").begun()
        self.step(inst["uuid"], "delete")
        self.assertEqual("reached", waiter.outcome().status)
        self.assertEqual(("active", "deleted"), waiter.result.seen)
        inst = self.create()
        waiter = start(self.ctx, inst["uuid"], "error").begun()
        lifecycle.begin(self.ctx, inst["uuid"], "reboot").fail("boom")
        self.assertEqual("reached", waiter.outcome().status)


class TestFailures(WaitTestCase):

    def test_fails_at_once_on_error(self):
        inst = self.create()
        waiter = start(self.ctx, inst["uuid"], ["stopped", "active"]).begun()
        began = time.monotonic()
        lifecycle.begin(self.ctx, inst["uuid"], "stop").fail("disk on fire")
        result = waiter.outcome()
        self.assertLess(time.monotonic() - began, PATIENCE / 3)
        self.assertEqual(("failed", ("active", "error"), ()),
                         (result.status, result.seen, result.reached))
        self.assertIn("is error, from which stopped cannot be reached",
                      result.reason)
        self.assertEqual("disk on fire", result.instance["fault"]["message"])

    def test_fails_on_deleted(self):
        inst = self.create()
        waiter = start(self.ctx, inst["uuid"], "stopped").begun()
        self.step(inst["uuid"], "delete")
        result = waiter.outcome()
        self.assertEqual(("failed", ("active", "deleted")),
                         (result.status, result.seen))

    def test_already_in_error_fails_at_once(self):
        inst = self.create(vm_state="error")
        result = lifecycle.wait_for(self.ctx, inst["uuid"], "active",
                                    PATIENCE)
        self.assertEqual("failed", result.status)

    def test_a_task_running_in_error_may_still_get_there(self):
        inst = self.launched_in_error()
        task = lifecycle.begin(self.ctx, inst["uuid"], "rebuild")
        waiter = start(self.ctx, inst["uuid"], "active").begun()
        task.finish()
        self.assertEqual("reached", waiter.outcome().status)
        self.assertEqual(("error", "active"), waiter.result.seen)

    def launched_in_error(self):
        """An instance that ran once, then went to error (a rebuild of
        one that never launched is refused, as in Nova)."""
        inst = self.create()
        return api.transition(self.ctx, inst["uuid"], {"vm_state": "error"},
                              expected={"version": inst["version"]})

    def test_a_failed_way_out_of_error_fails(self):
        inst = self.launched_in_error()
        task = lifecycle.begin(self.ctx, inst["uuid"], "rebuild")
        waiter = start(self.ctx, inst["uuid"], "active").begun()
        task.fail("image gone")
        self.assertEqual("failed", waiter.outcome().status)

    def test_staying_settled_is_no_new_failure(self):
        inst = self.launched_in_error()
        waiter = start(self.ctx, inst["uuid"], ["error", "active"]).begun()
        # Only the power state changes: the instance stays where it was.
        api.transition(self.ctx, inst["uuid"], {"power_state": 4})
        waiter.until_version(inst["version"] + 1)
        self.assertFalse(waiter.finished)
        self.step(inst["uuid"], "rebuild")
        self.assertEqual("reached", waiter.outcome().status)
        self.assertEqual(("error", "active"), waiter.result.reached)

    def test_hopeless_as_the_matrix_says(self):
        # Nothing in Nova's matrix leads back to building.
        inst = self.create()
        result = lifecycle.wait_for(self.ctx, inst["uuid"], "building",
                                    PATIENCE)
        self.assertEqual("failed", result.status)
        self.assertIn("active, from which building cannot be reached",
                      result.reason)

    def test_instance_gone_while_waiting(self):
        inst = self.create()
        waiter = start(self.ctx, inst["uuid"], "stopped",
                       bus=self.private_bus()).begun()
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM instances")
        self.bus.resync()       # not the waiter's bus: nothing happens
        self.assertFalse(waiter.finished)
        waiter.kwargs["bus"].resync()
        result = waiter.outcome()
        self.assertEqual("failed", result.status)
        self.assertIn("no longer exists", result.reason)
        self.assertEqual(1, result.instance["version"])


class TestEndings(WaitTestCase):

    def test_timeout(self):
        inst = self.create()
        began = time.monotonic()
        result = lifecycle.wait_for(self.ctx, inst["uuid"], "stopped", 0.05)
        self.assertGreaterEqual(time.monotonic() - began, 0.05)
        self.assertEqual(("timeout", ("active",), ()),
                         (result.status, result.seen, result.reached))
        self.assertEqual("stopped not reached within 0.05 s", result.reason)
        self.assertEqual(0, self.bus.subscriber_count())

    def test_cancel_wakes_the_wait_at_once(self):
        inst = self.create()
        cancel = lifecycle.Cancel()
        waiters = [start(self.ctx, inst["uuid"], "stopped", cancel=cancel)
                   for _ in range(3)]
        for waiter in waiters:
            waiter.begun()
        began = time.monotonic()
        cancel.set()
        for waiter in waiters:
            result = waiter.outcome()
            self.assertEqual("cancelled", result.status)
            self.assertEqual("cancelled while waiting for stopped",
                             result.reason)
        self.assertLess(time.monotonic() - began, PATIENCE / 3)
        self.assertEqual(0, self.bus.subscriber_count())
        self.assertEqual({}, cancel._wakers)

    def test_a_plain_event_cancels_too(self):
        inst = self.create()
        cancel = threading.Event()
        waiter = start(self.ctx, inst["uuid"], "stopped",
                       cancel=cancel).begun()
        cancel.set()
        self.assertEqual("cancelled", waiter.outcome().status)

    def test_cancelled_before_it_starts(self):
        inst = self.create(vm_state="stopped")
        cancel = lifecycle.Cancel()
        cancel.set()
        result = lifecycle.wait_for(self.ctx, inst["uuid"], "active",
                                    PATIENCE, cancel=cancel)
        self.assertEqual("cancelled", result.status)

    def test_progress_errors_end_the_wait(self):
        inst = self.create()

        def broken(progress):
            raise KeyError("callback bug")

        self.assertRaises(KeyError, lifecycle.wait_for, self.ctx,
                          inst["uuid"], "stopped", PATIENCE,
                          on_progress=broken)
        self.assertEqual(0, self.bus.subscriber_count())

    def test_not_found(self):
        inst = self.create()
        self.assertRaises(exception.InstanceNotFound, lifecycle.wait_for,
                          self.other, inst["uuid"], "active", 1)
        self.assertRaises(exception.InstanceNotFound, lifecycle.wait_for,
                          self.ctx, "6b1a1a54-0000-4000-8000-000000000000",
                          "active", 1)
        self.assertEqual(0, self.bus.subscriber_count())

    def test_bad_arguments(self):
        inst = self.create()
        for targets in ([], "bogus", ["active", "Active"], 5, [None]):
            self.assertRaises(exception.Invalid, lifecycle.wait_for,
                              self.ctx, inst["uuid"], targets, 1)
        for timeout in (-1, float("nan"), float("inf"), True, "10", None):
            self.assertRaises(exception.Invalid, lifecycle.wait_for,
                              self.ctx, inst["uuid"], "active", timeout)
        self.assertEqual(0, self.bus.subscriber_count())


class TestNoLostWakeUp(WaitTestCase):

    def test_commit_between_subscribe_and_read(self):
        inst = self.create()
        real = self.bus.subscribe

        def subscribe_then_commit(*args, **kwargs):
            subscription = real(*args, **kwargs)
            # Before the waiter reads: a reader that read first and
            # subscribed afterwards would never hear of this one.
            self.step(inst["uuid"], "stop")
            return subscription

        self.useFixture(fixtures.MockPatchObject(
            self.bus, "subscribe", side_effect=subscribe_then_commit))
        result = lifecycle.wait_for(self.ctx, inst["uuid"], "stopped", 5)
        self.assertEqual("reached", result.status)

    def test_commit_between_read_and_wait(self):
        inst = self.create()
        real = action_queue.instance_with_queue
        reads = []

        def read_then_commit(ctx, uuid):
            found = real(ctx, uuid)
            reads.append(found["version"])
            if len(reads) == 1:
                # Right after the wait's first read, before it waits.
                self.step(uuid, "stop")
            return found

        self.useFixture(fixtures.MockPatch(
            "vmstate.lifecycle.shared_read.action_queue.instance_with_queue",
            side_effect=read_then_commit))
        result = lifecycle.wait_for(self.ctx, inst["uuid"],
                                    ["active", "stopped"], 5)
        self.assertEqual(("reached", ("active", "stopped")),
                         (result.status, result.seen))

    def test_a_missed_change_is_found_in_the_history(self):
        inst = self.create()
        bus = self.holding_bus()
        # The notification of version 3 (stopped, no task) is lost.
        bus.drop.add(3)
        waiter = start(self.ctx, inst["uuid"], ["stopped", "active"],
                       bus=bus).begun()
        counter = self.count_statements()
        self.step(inst["uuid"], "stop")
        task = lifecycle.begin(self.ctx, inst["uuid"], "start")
        # The gap is found at version 4 and caught up before version 5
        # commits (otherwise the catch-up's read would already carry
        # version 5 with its queue, and the count below would be one
        # less: a race, not a property of the wait).
        waiter.until_version(4)
        task.finish()
        result = waiter.outcome()
        self.assertEqual(("reached", ("active", "stopped", "active")),
                         (result.status, result.seen))
        self.assertEqual([1, 2, 3, 4, 5],
                         [p.version for p in waiter.progress])
        # Once: the instance, and its history (found, then read); then
        # the instance with its queue for the answer (version 5 came on
        # the bus without the queue).
        reads = [s for s in counter.statements if s.startswith("SELECT")]
        self.assertEqual(4, len(reads), reads)

    def test_repeated_and_reordered_changes_are_harmless(self):
        inst = self.create()
        bus = self.holding_bus()
        bus.holding = True
        waiter = start(self.ctx, inst["uuid"], ["stopped", "active"],
                       bus=bus).begun()
        self.step(inst["uuid"], "stop")
        self.step(inst["uuid"], "start")
        bus.release(times=2)
        result = waiter.outcome()
        self.assertEqual(("reached", ("active", "stopped", "active")),
                         (result.status, result.seen))
        self.assertEqual([1, 2, 3, 4, 5],
                         [p.version for p in waiter.progress])

    def test_changes_without_the_instance(self):
        inst = self.create()
        bus = self.holding_bus()
        bus.states_only = True
        waiter = start(self.ctx, inst["uuid"], "stopped", bus=bus).begun()
        self.step(inst["uuid"], "stop")
        result = waiter.outcome()
        self.assertEqual(("stopped", None, 3),
                         (result.instance["vm_state"],
                          result.instance["task_state"],
                          result.instance["version"]))


class TestSafetyNet(WaitTestCase):

    def test_another_process_transition_is_noticed_in_time(self):
        # The waiter's bus hears nothing of this process's commits, as
        # with a transition committed by another process under the
        # local driver: only the safety net can notice it.
        self.flags(group="events", resync_interval=0.1)
        inst = self.create()
        waiter = start(self.ctx, inst["uuid"], "stopped",
                       bus=self.private_bus()).begun()
        self.step(inst["uuid"], "stop")
        self.assertEqual("reached", waiter.outcome().status)
        self.assertEqual(("active", "stopped"), waiter.result.seen)

    def test_it_does_not_poll_before_its_interval(self):
        inst = self.create()
        bus = self.private_bus()
        waiter = start(self.ctx, inst["uuid"], "stopped", timeout=0.3,
                       bus=bus).begun()
        self.step(inst["uuid"], "stop")
        self.assertEqual("timeout", waiter.outcome().status)

    def test_resync_rereads(self):
        inst = self.create()
        bus = self.private_bus()
        waiter = start(self.ctx, inst["uuid"], "stopped", bus=bus).begun()
        self.step(inst["uuid"], "stop")
        bus.resync()
        self.assertEqual("reached", waiter.outcome().status)


class TestNoQueryWhileWaiting(WaitTestCase):

    WAITERS = 20

    def test_waiters_issue_no_sql_and_hold_no_connection(self):
        connections = self.useFixture(
            connections_fixture.CheckedOut(self.db.engine))
        inst = self.create()
        waiters = [start(self.ctx, inst["uuid"], "stopped").begun()
                   for _ in range(self.WAITERS)]
        counter = self.count_statements()
        # Transitions the waiters hear of but that do not end their wait.
        for _ in range(3):
            self.step(inst["uuid"], "reboot")
        for waiter in waiters:
            waiter.until_version(7)
            self.assertFalse(waiter.finished)
        self.assertEqual(0, connections.count)
        # Six transitions, each an UPDATE .. RETURNING and the history
        # INSERT; not one statement came from a waiter.
        self.assertEqual(12, counter.count, counter.statements)
        self.assertEqual([], [s for s in counter.statements
                              if not s.startswith(("UPDATE", "INSERT"))])
        self.step(inst["uuid"], "stop")
        for waiter in waiters:
            self.assertEqual("reached", waiter.outcome().status)
        # The stop's four statements, and one read of the instance with
        # its queue that all twenty waiters woken by it answer with.
        self.assertEqual(17, counter.count, counter.statements)
        self.assertTrue(counter.statements[-1].startswith("SELECT"))


class TestThousandWaiters(WaitTestCase):

    INSTANCES = 50
    PER_INSTANCE = 20

    def test_a_thousand_waiters_are_all_woken(self):
        uuids = [self.create()["uuid"] for _ in range(self.INSTANCES)]
        total = self.INSTANCES * self.PER_INSTANCE
        ready = threading.Semaphore(0)
        results = {}
        lock = threading.Lock()
        seen = {("stopped",): ("active", "stopped"),
                ("stopped", "active"): ("active", "stopped", "active"),
                ("active", "stopped", "active"): ("active", "stopped",
                                                  "active")}
        sequences = list(seen)

        def wait(n):
            uuid = uuids[n % self.INSTANCES]
            targets = sequences[n % len(sequences)]
            first = []

            def progress(p):
                if not first:
                    first.append(p)
                    ready.release()

            result = lifecycle.wait_for(self.ctx, uuid, targets, PATIENCE,
                                        on_progress=progress)
            with lock:
                results[n] = (targets, result)

        previous = threading.stack_size(256 * 1024)
        try:
            threads = [concurrency.Background(
                functools.partial(wait, n), name="wait-%d" % n, test=self,
                timeout=PATIENCE) for n in range(total)]
        finally:
            threading.stack_size(previous)
        for _ in range(total):
            self.assertTrue(ready.acquire(timeout=PATIENCE))
        self.assertEqual(total, self.bus.subscriber_count())
        for uuid in uuids:
            self.step(uuid, "stop")
            self.step(uuid, "start")
        for thread in threads:
            thread.outcome(PATIENCE)
        self.assertEqual(total, len(results))
        for targets, result in results.values():
            self.assertEqual(("reached", seen[targets]),
                             (result.status, result.seen))
        self.assertEqual(0, self.bus.subscriber_count())
