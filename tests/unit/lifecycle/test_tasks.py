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


"""Tasks: begin, checkpoint, finish, fail, the context manager, adopt."""

from oslo_utils import uuidutils
import sqlalchemy as sa

from tests.unit.db import base
from vmstate import exception
from vmstate import lifecycle
from vmstate import states
from vmstate.api import views
from vmstate.db import action_queue
from vmstate.db import api
from vmstate.matrix import loader


def _with_create(builder):
    builder.declare_action("create", begins="scheduling",
                           completes="stopped", fails_to="error")


class TestBegin(base.TestCase):

    def test_starts_the_actions_task(self):
        inst = self.create()
        task = lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        self.assertEqual(("reboot", inst["uuid"], "rebooting"),
                         (task.action, task.uuid, task.task_state))
        self.assertTrue(uuidutils.is_uuid_like(task.task_id))
        self.assertEqual(task.task_id, task.instance["task_id"])
        self.assertEqual(2, task.instance["version"])
        self.assertEqual(task.instance, dict(
            api.instance_get(self.ctx, inst["uuid"]),
            event=task.instance["event"]))

    def test_refusal_is_novas(self):
        inst = self.create(vm_state="stopped")
        err = self.assertRaises(exception.InstanceInvalidState,
                                lifecycle.begin, self.ctx, inst["uuid"],
                                "stop")
        self.assertEqual("Cannot 'stop' instance %s while it is in "
                         "vm_state stopped" % inst["uuid"], err.message)
        self.assertIsInstance(err, exception.StateConflict)
        self.assertEqual(409, err.code)
        self.assertIn("start", err.allowed_actions)
        self.assertNotIn("stop", err.allowed_actions)
        body = err.fault_body()["conflictingRequest"]
        self.assertEqual(("stop", "stopped", None),
                         (body["action"], body["vm_state"],
                          body["task_state"]))

    def test_refusal_names_the_task(self):
        inst = self.create()
        lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        err = self.assertRaises(exception.InstanceInvalidState,
                                lifecycle.begin, self.ctx, inst["uuid"],
                                "stop")
        self.assertEqual("Cannot 'stop' instance %s while it is in "
                         "task_state rebooting" % inst["uuid"], err.message)
        self.assertIn("reboot_hard", err.allowed_actions)

    def test_unknown_action_and_instance(self):
        inst = self.create()
        self.assertRaises(exception.UnknownAction, lifecycle.begin,
                          self.ctx, inst["uuid"], "teleport")
        self.assertRaises(exception.InstanceNotFound, lifecycle.begin,
                          self.ctx, uuidutils.generate_uuid(), "reboot")
        self.assertRaises(exception.InstanceNotFound, lifecycle.begin,
                          self.other, inst["uuid"], "delete")

    def test_a_race_lost_to_a_change_since_undone_is_tried_again(self):
        # The instance is busy when the UPDATE runs, and (inside the same
        # transaction, so only for this attempt) idle when the read that
        # explains the miss runs: begin must not report "task_state None".
        uuid = self.create(task_state="rebooting")["uuid"]
        updates = []

        def undo_after_update(conn, cursor, statement, *args):
            if statement.startswith("UPDATE instances"):
                updates.append(statement)
                if len(updates) == 1:
                    cursor.connection.execute(
                        "UPDATE instances SET task_state = NULL")

        sa.event.listen(self.db.engine, "after_cursor_execute",
                        undo_after_update)
        self.addCleanup(sa.event.remove, self.db.engine,
                        "after_cursor_execute", undo_after_update)
        err = self.assertRaises(exception.InstanceInvalidState,
                                lifecycle.begin, self.ctx, uuid, "stop")
        self.assertEqual(2, len(updates))
        self.assertEqual("Cannot 'stop' instance %s while it is in "
                         "task_state rebooting" % uuid, err.message)

    def test_given_matrix(self):
        inst = self.create()
        blueprint = loader.load(["blueprint"])
        task = lifecycle.begin(self.ctx, inst["uuid"], "terminate",
                               matrix=blueprint)
        self.assertEqual("terminate", task.instance["event"]["action"])
        self.assertRaises(exception.UnknownAction, lifecycle.begin,
                          self.ctx, inst["uuid"], "terminate")


class TestSteps(base.TestCase):

    def setUp(self):
        super().setUp()
        self.uuid = self.create()["uuid"]

    def state(self):
        inst = api.instance_get(self.admin, self.uuid)
        return inst["vm_state"], inst["task_state"]

    def test_checkpoint(self):
        task = lifecycle.begin(self.ctx, self.uuid, "reboot")
        beat = task.checkpoint()
        self.assertEqual(2, beat["version"])
        moved = task.checkpoint("reboot_started")
        self.assertEqual((3, "reboot_started"),
                         (moved["version"], task.task_state))
        self.assertEqual(moved, task.instance)
        task.checkpoint()

    def test_checkpoint_after_preemption(self):
        task = lifecycle.begin(self.ctx, self.uuid, "reboot")
        lifecycle.begin(self.admin, self.uuid, "delete")
        err = self.assertRaises(exception.TaskAborted, task.checkpoint,
                                "reboot_started")
        self.assertEqual({"task_id": task.task_id,
                          "task_state": "rebooting"}, err.expected)
        self.assertEqual(("active", "deleting"),
                         (err.actual["vm_state"], err.actual["task_state"]))
        self.assertEqual("reboot", err.action)
        self.assertTrue(task.ended)
        self.assertEqual(("active", "deleting"), self.state())

    def test_finish_defaults_to_completes(self):
        for action, reached in (("pause", "paused"),
                                ("snapshot", "paused"),
                                ("unpause", "active"),
                                ("reboot", "active")):
            task = lifecycle.begin(self.ctx, self.uuid, action)
            after = task.finish()
            self.assertEqual((reached, None, None),
                             (after["vm_state"], after["task_state"],
                              after["task_id"]), action)
            self.assertTrue(task.ended)

    def test_finish_with_explicit_state(self):
        task = lifecycle.begin(self.ctx, self.uuid, "rebuild")
        after = task.finish(vm_state="stopped", power_state=4)
        self.assertEqual(("stopped", None, 4),
                         (after["vm_state"], after["task_state"],
                          after["power_state"]))
        event = after["event"]
        self.assertEqual("rebuild", event["action"])
        self.assertEqual("rebuilding", event["from"]["task_state"])

    def test_finish_twice_or_after_preemption(self):
        task = lifecycle.begin(self.ctx, self.uuid, "reboot")
        task.finish()
        self.assertRaises(exception.TaskAborted, task.finish)
        task = lifecycle.begin(self.ctx, self.uuid, "stop")
        lifecycle.begin(self.admin, self.uuid, "delete")
        err = self.assertRaises(exception.TaskAborted, task.finish)
        self.assertEqual("deleting", err.actual["task_state"])
        self.assertEqual(("active", "deleting"), self.state())

    def test_fail_records_the_fault(self):
        task = lifecycle.begin(self.ctx, self.uuid, "rescue")
        task.checkpoint()
        after = task.fail(RuntimeError("no rescue image"))
        self.assertEqual(("error", None), (after["vm_state"],
                                           after["task_state"]))
        fault = after["fault"]
        self.assertEqual(("RuntimeError", "no rescue image", "rescue",
                          "rescuing"),
                         (fault["type"], fault["message"], fault["action"],
                          fault["task_state"]))
        self.assertEqual(fault, api.instance_get(self.ctx,
                                                 self.uuid)["fault"])
        self.assertEqual("RuntimeError: no rescue image",
                         after["event"]["reason"])

    def test_fail_keeps_vm_state_when_the_action_says_so(self):
        task = lifecycle.begin(self.ctx, self.uuid, "snapshot")
        after = task.fail("glance unavailable")
        self.assertEqual(("active", None), (after["vm_state"],
                                            after["task_state"]))
        self.assertEqual(("Error", "glance unavailable"),
                         (after["fault"]["type"], after["fault"]["message"]))
        task = lifecycle.begin(self.ctx, self.uuid, "reboot")
        after = task.fail(ValueError("x"), vm_state="stopped")
        self.assertEqual("stopped", after["vm_state"])

    def test_fail_after_preemption_leaves_the_newer_change(self):
        task = lifecycle.begin(self.ctx, self.uuid, "reboot")
        lifecycle.begin(self.admin, self.uuid, "delete")
        self.assertRaises(exception.TaskAborted, task.fail, ValueError("x"))
        inst = api.instance_get(self.ctx, self.uuid)
        self.assertEqual(("active", "deleting", None),
                         (inst["vm_state"], inst["task_state"],
                          inst["fault"]))


class TestContextManager(base.TestCase):

    def setUp(self):
        super().setUp()
        self.uuid = self.create()["uuid"]

    def get(self):
        return api.instance_get(self.admin, self.uuid)

    def test_normal_exit_finishes(self):
        with lifecycle.begin(self.ctx, self.uuid, "stop") as task:
            task.checkpoint()
        inst = self.get()
        self.assertEqual(("stopped", None), (inst["vm_state"],
                                             inst["task_state"]))

    def test_explicit_finish_is_not_repeated(self):
        with lifecycle.begin(self.ctx, self.uuid, "stop") as task:
            task.finish(vm_state="active")
        self.assertEqual(("active", 3), (self.get()["vm_state"],
                                         self.get()["version"]))

    def test_exception_fails_and_propagates(self):
        def work():
            with lifecycle.begin(self.ctx, self.uuid, "pause"):
                raise OSError("hypervisor gone")
        self.assertRaises(OSError, work)
        inst = self.get()
        self.assertEqual(("error", None, "OSError"),
                         (inst["vm_state"], inst["task_state"],
                          inst["fault"]["type"]))

    def test_preemption_is_not_overwritten(self):
        def work():
            with lifecycle.begin(self.ctx, self.uuid, "reboot") as task:
                lifecycle.begin(self.admin, self.uuid, "delete")
                task.checkpoint("reboot_started")
        self.assertRaises(exception.TaskAborted, work)
        inst = self.get()
        self.assertEqual(("active", "deleting", None),
                         (inst["vm_state"], inst["task_state"],
                          inst["fault"]))

    def test_failure_after_preemption_is_not_recorded(self):
        def work():
            with lifecycle.begin(self.ctx, self.uuid, "reboot"):
                lifecycle.begin(self.admin, self.uuid, "delete")
                raise KeyError("cleanup failed")
        self.assertRaises(KeyError, work)
        inst = self.get()
        self.assertEqual(("active", "deleting", None),
                         (inst["vm_state"], inst["task_state"],
                          inst["fault"]))
        self.assertEqual(3, inst["version"])

    def test_interrupt_leaves_the_task(self):
        def work():
            with lifecycle.begin(self.ctx, self.uuid, "reboot"):
                raise KeyboardInterrupt()
        self.assertRaises(KeyboardInterrupt, work)
        self.assertEqual("rebooting", self.get()["task_state"])


class TestTasklessActions(base.TestCase):

    def test_begin_records_only(self):
        uuid = self.create()["uuid"]
        task = lifecycle.begin(self.ctx, uuid, "attach_volume")
        self.assertIsNone(task.task_id)
        self.assertIsNone(task.task_state)
        self.assertEqual(2, task.instance["version"])
        self.assertEqual(task.instance, task.finish())
        self.assertEqual(2, api.instance_get(self.ctx, uuid)["version"])
        self.assertRaises(exception.Invalid, task.checkpoint)

    def test_finish_moves_the_vm_state(self):
        # The blueprint's actions run no task, and complete somewhere.
        blueprint = loader.load(["blueprint"])
        uuid = self.create()["uuid"]
        with lifecycle.begin(self.ctx, uuid, "stop",
                             matrix=blueprint) as task:
            self.assertIsNone(task.task_id)
        inst = api.instance_get(self.ctx, uuid)
        self.assertEqual(("stopped", None, 3),
                         (inst["vm_state"], inst["task_state"],
                          inst["version"]))

    def test_finish_after_a_task_started_meanwhile(self):
        blueprint = loader.load(["blueprint"])
        uuid = self.create()["uuid"]
        task = lifecycle.begin(self.ctx, uuid, "stop", matrix=blueprint)
        lifecycle.begin(self.ctx, uuid, "delete")
        self.assertRaises(exception.TaskAborted, task.finish)
        self.assertEqual("active", api.instance_get(self.ctx,
                                                     uuid)["vm_state"])

    def test_fail_keeps_the_running_task(self):
        uuid = self.create(task_state="migrating")["uuid"]
        task = lifecycle.begin(self.ctx, uuid, "update_instance_metadata")
        self.assertEqual("migrating", task.task_state)
        after = task.fail(ValueError("bad key"))
        self.assertEqual(("active", "migrating"),
                         (after["vm_state"], after["task_state"]))
        self.assertEqual("ValueError", after["fault"]["type"])


class TestAdopt(base.TestCase):

    def test_the_build_task(self):
        uuid = api.instance_create(self.ctx, {})["uuid"]
        task = lifecycle.adopt(self.ctx, uuid)
        self.assertIs(lifecycle.BUILD, task.definition)
        self.assertEqual(("create", "scheduling"),
                         (task.action, task.task_state))
        for step in (states.NETWORKING, states.BLOCK_DEVICE_MAPPING,
                     states.SPAWNING):
            task.checkpoint(step)
        after = task.finish(power_state=states.RUNNING)
        self.assertEqual(("active", None, 1),
                         (after["vm_state"], after["task_state"],
                          after["power_state"]))
        self.assertEqual(["create"] * 5, [
            e["action"] for e in api.instance_events(self.ctx, uuid)])

    def test_the_build_fails_to_error(self):
        uuid = api.instance_create(self.ctx, {})["uuid"]
        with self.assertRaisesRegex(RuntimeError, "no host"):
            with lifecycle.adopt(self.ctx, uuid):
                raise RuntimeError("no host")
        self.assertEqual("error", api.instance_get(self.ctx,
                                                   uuid)["vm_state"])

    def test_a_matrix_action_wins(self):
        uuid = api.instance_create(self.ctx, {})["uuid"]
        nova = loader.load(["nova"])
        custom = loader.from_plugins(
            *[(name, plugin) for name, plugin in
              (("nova", _nova_plugin()), ("with_create", _with_create))])
        self.assertIs(lifecycle.BUILD,
                      lifecycle.adopt(self.ctx, uuid, matrix=nova).definition)
        task = lifecycle.adopt(self.ctx, uuid, matrix=custom)
        self.assertEqual("stopped", task.finish()["vm_state"])

    def test_a_task_begun_elsewhere(self):
        uuid = self.create()["uuid"]
        begun = lifecycle.begin(self.ctx, uuid, "pause")
        task = lifecycle.adopt(self.ctx, uuid, task_id=begun.task_id)
        self.assertEqual(("pause", begun.task_id),
                         (task.action, task.task_id))
        self.assertEqual("paused", task.finish()["vm_state"])

    def test_no_task_or_another_task(self):
        uuid = self.create()["uuid"]
        err = self.assertRaises(exception.TaskAborted, lifecycle.adopt,
                                self.ctx, uuid)
        self.assertIsNone(err.actual["task_id"])
        lifecycle.begin(self.ctx, uuid, "reboot")
        self.assertRaises(exception.TaskAborted, lifecycle.adopt, self.ctx,
                          uuid, task_id=uuidutils.generate_uuid())
        self.assertRaises(exception.InstanceNotFound, lifecycle.adopt,
                          self.other, uuid)

    def test_a_task_started_by_a_plain_update(self):
        uuid = self.create()["uuid"]
        api.transition(self.ctx, uuid, {"task_state": "rebooting"},
                       action="external")
        task = lifecycle.adopt(self.ctx, uuid)
        self.assertEqual("external", task.action)
        self.assertEqual(("active", None),
                         (task.finish()["vm_state"], task.task_state))


def _nova_plugin():
    from vmstate.matrix.plugins import nova
    return nova.configure


class TestRelease(base.TestCase):
    """A reservation given back (the guard's ``[guard] reserve``)."""

    def test_back_to_idle(self):
        inst = self.create()
        task = lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        after = task.release("the service refused")
        self.assertEqual(("active", None, None, 3),
                         (after["vm_state"], after["task_state"],
                          after["task_id"], after["version"]))
        self.assertEqual("the service refused", api.instance_events(
            self.ctx, inst["uuid"])[-1]["reason"])
        self.assertTrue(task.ended)

    def test_a_preempted_task_comes_back_with_its_own_id(self):
        # A delete preempts the build; the delete is given back: the build
        # goes on under its own task id, as if the delete never came.
        uuid = api.instance_create(self.ctx, {})["uuid"]
        build = lifecycle.adopt(self.ctx, uuid)
        build.checkpoint(states.NETWORKING)
        started = api.instance_get(self.ctx, uuid)["task_started_at"]
        delete = lifecycle.begin(self.ctx, uuid, "delete")
        self.assertNotEqual(build.task_id, delete.task_id)
        after = delete.release("compute service answered 500")
        self.assertEqual(
            ("building", states.NETWORKING, build.task_id, "create",
             started),
            (after["vm_state"], after["task_state"], after["task_id"],
             after["task_action"], after["task_started_at"]))
        self.assertEqual(build.task_id, api.instance_events(
            self.ctx, uuid)[-1]["task_id"])
        build.checkpoint(states.SPAWNING)
        done = build.finish(power_state=states.RUNNING)
        self.assertEqual(("active", None, None),
                         (done["vm_state"], done["task_state"],
                          done["task_id"]))

    def test_a_preempted_task_the_history_no_longer_holds(self):
        inst = self.create()
        reboot = lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        hard = lifecycle.begin(self.ctx, inst["uuid"], "reboot_hard")
        events = sa.table("instance_events", sa.column("task_id"))
        with self.db.engine.begin() as conn:
            conn.execute(sa.delete(events).where(
                events.c.task_id == reboot.task_id))
        after = hard.release()
        # The task_state is back, but neither under the reservation's id
        # (that task is over) nor claiming to be a task it cannot prove.
        self.assertEqual(("active", "rebooting"),
                         (after["vm_state"], after["task_state"]))
        self.assertNotIn(after["task_id"],
                         (None, reboot.task_id, hard.task_id))
        self.assertRaises(exception.TaskAborted, reboot.checkpoint)

    def test_never_replaces_a_newer_decision(self):
        inst = self.create()
        reboot = lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        hard = lifecycle.begin(self.ctx, inst["uuid"], "reboot_hard")
        self.assertRaises(exception.TaskAborted, reboot.release)
        now = api.instance_get(self.ctx, inst["uuid"])
        self.assertEqual((hard.task_id, "rebooting_hard", 3),
                         (now["task_id"], now["task_state"],
                          now["version"]))
        self.assertTrue(reboot.ended)

    def test_only_a_task_begun_here(self):
        uuid = api.instance_create(self.ctx, {})["uuid"]
        build = lifecycle.adopt(self.ctx, uuid)
        self.assertRaises(exception.Invalid, build.release)


class TestMustHaveLaunched(base.TestCase):
    """Nova's ``must_have_launched``: an instance that never launched
    (its history never left building and error) starts only delete and
    force_delete (and soft_delete, which deletes it)."""

    def test_never_launched_error_is_refused_naming_launched_at(self):
        inst = self.create(vm_state="error", task_state=None)
        err = self.assertRaises(exception.InstanceInvalidState,
                                lifecycle.begin, self.ctx, inst["uuid"],
                                "rebuild")
        self.assertEqual("Cannot 'rebuild' instance %s while it is in "
                         "launched_at None" % inst["uuid"], err.message)
        self.assertEqual("launched_at", err.attribute)
        matrix = loader.get()
        self.assertTrue(matrix.is_allowed("rebuild", "error", None))
        self.assertEqual(sorted(matrix.allowed_actions(
            "error", None, launched=False)), err.allowed_actions)
        self.assertNotIn("rebuild", err.allowed_actions)
        self.assertIn("delete", err.allowed_actions)
        # Nothing was written.
        self.assertEqual(1, api.instance_get(self.ctx,
                                             inst["uuid"])["version"])
        # delete needs no launch.
        lifecycle.begin(self.ctx, inst["uuid"], "delete")

    def test_launched_once_then_error_is_allowed(self):
        inst = self.create(vm_state="active")
        api.transition(self.ctx, inst["uuid"], {"vm_state": "error"},
                       expected={"version": 1})
        task = lifecycle.begin(self.ctx, inst["uuid"], "rebuild")
        self.assertEqual("rebuilding", task.task_state)

    def test_instance_view_knows_it(self):
        never = self.create(vm_state="error", task_state=None)
        self.assertFalse(api.instance_get(self.ctx, never["uuid"],
                                          with_launched=True)["launched"])
        ran = self.create(vm_state="active")
        self.assertTrue(api.instance_get(self.ctx, ran["uuid"],
                                         with_launched=True)["launched"])
        self.assertNotIn("launched", api.instance_get(self.ctx, ran["uuid"]))
        row = action_queue.instance_with_queue(self.ctx, never["uuid"])
        self.assertFalse(row["launched"])
        view = views.instance(row, loader.get())
        self.assertNotIn("rebuild", view["allowed_actions"])
        self.assertNotIn("stop", view["allowed_actions"])
        self.assertIn("delete", view["allowed_actions"])
