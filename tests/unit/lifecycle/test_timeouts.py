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


"""Task timeouts on a controllable clock: the effective policy, the three
reactions, failure counters and the permanent-failure threshold."""

from tests import base as tests_base
from tests import lifecycle_fixtures
from tests.unit.db import base
from vmstate import exception
from vmstate import lifecycle
from vmstate.db import api
from vmstate.db import failures
from vmstate.db import heartbeats
from vmstate.lifecycle import sweeper
from vmstate.lifecycle import timeouts
from vmstate.matrix import loader
from vmstate.matrix.plugins import nova


def nova_with(*declarations):
    """The nova matrix plus a plugin declaring ``declarations``
    (``(task_state, seconds, reaction, max_failures)``)."""
    def plugin(builder):
        for args in declarations:
            builder.timeout(*args)
    return loader.from_plugins(("nova", nova.configure),
                               ("site", plugin))


class TestPolicy(base.TestCase):

    def test_none_by_default(self):
        self.assertEqual({}, dict(timeouts.policy()))

    def test_configured(self):
        self.flags(group="lifecycle",
                   task_timeouts={"rebooting": "300:retry:2",
                                  "powering-off": "60"},
                   default_timeout_reaction="clear", max_failures=4)
        found = timeouts.policy()
        self.assertEqual(
            timeouts.Timeout("rebooting", 300.0, "retry", 2, "config"),
            found["rebooting"])
        self.assertEqual(
            timeouts.Timeout("powering-off", 60.0, "clear", 4, "config"),
            found["powering-off"])
        self.assertEqual([(60.0, ("powering-off",)),
                          (300.0, ("rebooting",))], found.groups())

    def test_default_covers_every_task_state(self):
        self.flags(group="lifecycle", default_task_timeout=900,
                   task_timeouts={"rebooting": "300"})
        found = timeouts.policy()
        self.assertEqual(set(loader.get().task_states), set(found))
        self.assertEqual(("default", 900.0),
                         (found["spawning"].source,
                          found["spawning"].seconds))
        self.assertEqual("config", found["rebooting"].source)

    def test_plugins_and_configuration(self):
        matrix = nova_with(("rebooting", 120, "retry", 5),
                           ("pausing", 30, "clear", None))
        self.useFixture(tests_base.MatrixFixture(matrix))
        self.flags(group="lifecycle", max_failures=2,
                   task_timeouts={"pausing": "45:error"})
        found = timeouts.policy()
        self.assertEqual(
            timeouts.Timeout("rebooting", 120.0, "retry", 5, "plugin site"),
            found["rebooting"])
        # The configuration overrides the plugin.
        self.assertEqual(
            timeouts.Timeout("pausing", 45.0, "error", 2, "config"),
            found["pausing"])

    def test_a_later_plugin_removes_a_timeout(self):
        def remove(builder):
            builder.timeout("rebooting", None)
        matrix = loader.from_plugins(
            ("nova", nova.configure),
            ("a", lambda b: b.timeout("rebooting", 10)), ("b", remove))
        self.assertEqual({}, dict(matrix.timeouts))

    def test_unknown_task_state_is_refused(self):
        self.flags(group="lifecycle", task_timeouts={"rebootin": "300"})
        err = self.assertRaises(exception.MatrixError, timeouts.policy)
        self.assertIn("rebootin", str(err))

    def test_bad_plugin_declarations(self):
        for args, needle in ((("nothing", 10), "unknown task_state"),
                             (("rebooting", 0), "positive"),
                             (("rebooting", True), "positive"),
                             (("rebooting", 10, "explode"), "reaction"),
                             (("rebooting", 10, "retry", 0), "max_failures")):
            err = self.assertRaises(exception.MatrixError, nova_with, args)
            self.assertIn(needle, str(err))
            self.assertIn("'site'", str(err))


class TimeoutTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = self.useFixture(lifecycle_fixtures.Clock())
        self.sweeper = sweeper.Sweeper()

    def rebooting(self, **timeout):
        seconds = timeout.get("seconds", 300)
        value = "%s:%s:%s" % (seconds, timeout.get("reaction", "error"),
                              timeout.get("max_failures", 3))
        self.flags(group="lifecycle", task_timeouts={"rebooting": value})
        inst = self.create()
        return lifecycle.begin(self.ctx, inst["uuid"], "reboot")

    def sweep(self):
        return self.sweeper.sweep()

    def history(self, uuid):
        return [(e["action"], e["to"]["vm_state"], e["to"]["task_state"])
                for e in api.instance_events(self.admin, uuid)]


class TestReactions(TimeoutTestCase):

    def test_error(self):
        task = self.rebooting(reaction="error")
        self.clock.advance(299)
        self.assertEqual(0, self.sweep().total_fired)
        self.clock.advance(2)
        done = self.sweep()
        self.assertEqual({"error": 1}, dict(done.fired))
        inst = api.instance_get(self.admin, task.uuid)
        self.assertEqual(("error", None, None, None),
                         (inst["vm_state"], inst["task_state"],
                          inst["task_id"], inst["task_action"]))
        fault = inst["fault"]
        self.assertEqual(("TaskTimeout", "reboot", "rebooting", 1, "error"),
                         (fault["type"], fault["action"],
                          fault["task_state"], fault["failures"],
                          fault["reaction"]))
        self.assertIn("made no progress in task_state rebooting for 301 s",
                      fault["message"])
        self.assertEqual(("timeout", "error", None),
                         self.history(task.uuid)[-1])
        self.assertEqual(fault["message"],
                         api.instance_events(self.admin,
                                             task.uuid)[-1]["reason"])
        # The worker learns at its next step that it lost the instance.
        self.assertRaises(exception.TaskAborted, task.checkpoint)
        self.assertEqual(0, self.sweep().total_fired)

    def test_clear_keeps_the_vm_state(self):
        task = self.rebooting(reaction="clear")
        self.clock.advance(301)
        self.assertEqual({"clear": 1}, dict(self.sweep().fired))
        inst = api.instance_get(self.admin, task.uuid)
        self.assertEqual(("active", None), (inst["vm_state"],
                                            inst["task_state"]))
        self.assertEqual("TaskTimeout", inst["fault"]["type"])
        self.assertEqual("clear", inst["fault"]["reaction"])

    def test_retry_begins_the_action_again(self):
        task = self.rebooting(reaction="retry")
        self.clock.advance(301)
        done = self.sweep()
        self.assertEqual({"retry": 1}, dict(done.fired))
        retried = done.outcomes[0].retried
        inst = api.instance_get(self.admin, task.uuid)
        self.assertEqual(("active", "rebooting", "reboot"),
                         (inst["vm_state"], inst["task_state"],
                          inst["task_action"]))
        self.assertNotEqual(task.task_id, inst["task_id"])
        self.assertEqual(retried.task_id, inst["task_id"])
        self.assertEqual([("create", "active", None),
                          ("reboot", "active", "rebooting"),
                          ("timeout", "active", None),
                          ("reboot", "active", "rebooting")],
                         self.history(task.uuid))
        self.assertRaises(exception.TaskAborted, task.checkpoint)
        # The new task has its own timeout, from its own start.
        self.clock.advance(299)
        self.assertEqual(0, self.sweep().total_fired)
        retried.checkpoint()
        retried.finish()
        self.assertEqual(("reboot", "active", None),
                         self.history(task.uuid)[-1])

    def test_progress_postpones_the_timeout(self):
        task = self.rebooting()
        self.clock.advance(200)
        task.checkpoint()
        self.clock.advance(200)
        self.assertEqual(0, self.sweep().total_fired)
        task.checkpoint("reboot_started")
        self.flags(group="lifecycle",
                   task_timeouts={"rebooting": "300",
                                  "reboot_started": "100"})
        self.clock.advance(101)
        self.assertEqual(1, self.sweep().total_fired)
        self.assertEqual("reboot_started", api.instance_get(
            self.admin, task.uuid)["fault"]["task_state"])

    def test_retry_impossible_reacts_as_error(self):
        self.flags(group="lifecycle",
                   task_timeouts={"scheduling": "60:retry"})
        # A build task: "create" is no action of the matrix.
        inst = api.instance_create(self.ctx, {})
        self.clock.advance(61)
        self.assertEqual({"error": 1}, dict(self.sweep().fired))
        fault = api.instance_get(self.admin, inst["uuid"])["fault"]
        self.assertIn("cannot retry: create is no action of the matrix",
                      fault["message"])
        self.assertEqual("error", fault["reaction"])

    def test_a_stale_row_is_lost_not_fired(self):
        task = self.rebooting()
        self.clock.advance(301)
        [row] = heartbeats.expired(self.admin, ["rebooting"],
                                   self.clock.now, 10)
        task.finish()
        fired = timeouts.fire(self.admin, row, timeouts.policy()[
            "rebooting"])
        self.assertEqual(timeouts.LOST, fired.outcome)
        inst = api.instance_get(self.admin, task.uuid)
        self.assertEqual(("active", None, None),
                         (inst["vm_state"], inst["task_state"],
                          inst["fault"]))
        self.assertEqual({}, failures.for_instance(self.admin, task.uuid))

    def test_a_fresh_heartbeat_after_the_read_wins(self):
        task = self.rebooting()
        self.clock.advance(301)
        [row] = heartbeats.expired(self.admin, ["rebooting"],
                                   self.clock.now, 10)
        task.checkpoint()
        fired = timeouts.fire(self.admin, row, timeouts.policy()[
            "rebooting"])
        self.assertEqual(timeouts.LOST, fired.outcome)
        task.finish()


class TestFailureCounts(TimeoutTestCase):

    def test_permanent_failure_after_max_failures(self):
        task = self.rebooting(reaction="retry", max_failures=3)
        for count in (1, 2):
            self.clock.advance(301)
            done = self.sweep()
            self.assertEqual({"retry": 1}, dict(done.fired), count)
            self.assertEqual(count, done.outcomes[0].failures)
            self.assertEqual(
                count, failures.for_instance(
                    self.admin, task.uuid)["rebooting"]["count"])
        self.clock.advance(301)
        done = self.sweep()
        self.assertEqual({"error": 1}, dict(done.fired))
        inst = api.instance_get(self.admin, task.uuid)
        self.assertEqual(("error", None), (inst["vm_state"],
                                           inst["task_state"]))
        fault = inst["fault"]
        self.assertEqual(("PermanentFailure", 3, 3),
                         (fault["type"], fault["failures"],
                          fault["max_failures"]))
        self.assertIn("Step rebooting of reboot timed out 3 times in a row",
                      fault["message"])

    def test_success_clears_the_count(self):
        self.useFixture(lifecycle_fixtures.Engine())
        task = self.rebooting(reaction="retry", max_failures=2)
        self.clock.advance(301)
        retried = self.sweep().outcomes[0].retried
        self.assertEqual(1, failures.for_instance(
            self.admin, task.uuid)["rebooting"]["count"])
        retried.finish()
        self.assertEqual({}, failures.for_instance(self.admin, task.uuid))
        # A new streak starts at 1: max_failures 2 is not reached.
        lifecycle.begin(self.ctx, task.uuid, "reboot")
        self.clock.advance(301)
        done = self.sweep()
        self.assertEqual({"retry": 1}, dict(done.fired))
        self.assertEqual(1, done.outcomes[0].failures)

    def test_success_counts_even_if_the_count_was_not_cleared(self):
        # No engine installed: nothing deletes the counter after the
        # success, and the history still says the step succeeded.
        task = self.rebooting(reaction="retry", max_failures=2)
        self.clock.advance(301)
        retried = self.sweep().outcomes[0].retried
        retried.checkpoint("reboot_started")
        retried.finish()
        self.assertEqual(1, failures.for_instance(
            self.admin, task.uuid)["rebooting"]["count"])
        lifecycle.begin(self.ctx, task.uuid, "reboot")
        self.clock.advance(301)
        done = self.sweep()
        self.assertEqual({"retry": 1}, dict(done.fired))
        self.assertEqual(1, done.outcomes[0].failures)

    def test_failures_into_error_are_no_success(self):
        self.useFixture(lifecycle_fixtures.Engine())
        task = self.rebooting(reaction="clear", max_failures=3)
        self.clock.advance(301)
        self.sweep()
        task = lifecycle.begin(self.ctx, task.uuid, "reboot")
        task.fail(RuntimeError("hypervisor unreachable"))
        self.assertEqual(1, failures.for_instance(
            self.admin, task.uuid)["rebooting"]["count"])

    def test_counts_are_per_step(self):
        self.flags(group="lifecycle",
                   task_timeouts={"rebooting": "300:clear:2",
                                  "powering-off": "300:clear:2"})
        inst = self.create()
        lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        self.clock.advance(301)
        self.sweep()
        lifecycle.begin(self.ctx, inst["uuid"], "stop")
        self.clock.advance(301)
        self.assertEqual({"clear": 1}, dict(self.sweep().fired))
        self.assertEqual({"rebooting": 1, "powering-off": 1},
                         {k: v["count"] for k, v in failures.for_instance(
                             self.admin, inst["uuid"]).items()})
