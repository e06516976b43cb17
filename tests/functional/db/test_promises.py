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


"""The state model's promises through the Python API, on SQLite,
PostgreSQL and MariaDB (issue 11).

* ``deleted`` is terminal on every path: actions, updates, resets,
  clear_error, queue drains, timeouts and power reports find nothing to
  do, and the history stays readable;
* a report that changes a running task is fenced on the task's id or the
  version;
* clear_error never lands in a transient vm_state.
"""

import datetime

from oslo_utils import timeutils

from tests.functional.db import base
from vmstate import exception
from vmstate import lifecycle
from vmstate import states
from vmstate.db import action_queue
from vmstate.db import api
from vmstate.db import heartbeats
from vmstate.lifecycle import timeouts
from vmstate.lifecycle import updates


class PromiseTests:

    def deleted(self):
        """An instance deleted the way a worker deletes one: ``delete``
        begun, its task ended by the worker's fenced report."""
        inst = self.create(self.admin, power_state=states.RUNNING)
        task = lifecycle.begin(self.admin, inst["uuid"], "delete")
        done = updates.update(
            self.admin, inst["uuid"], {"vm_state": states.DELETED},
            {"task_id": task.task_id})
        # Reaching deleted ends the task, though the report did not say.
        self.assertEqual((states.DELETED, None, None),
                         (done["vm_state"], done["task_state"],
                          done["task_id"]))
        return done

    def assertUnchanged(self, before):
        after = api.instance_get(self.admin, before["uuid"])
        self.assertEqual(
            (states.DELETED, None, None, before["version"]),
            (after["vm_state"], after["task_state"], after["task_id"],
             after["version"]))

    def test_no_action_starts_on_a_deleted_instance(self):
        inst = self.deleted()
        for action in ("delete", "force_delete", "soft_delete", "restore",
                       "start", "rebuild", "reboot_hard", "evacuate"):
            err = self.assertRaises(exception.InstanceInvalidState,
                                    lifecycle.begin, self.admin,
                                    inst["uuid"], action)
            self.assertEqual([], err.allowed_actions, action)
            self.assertEqual("vm_state", err.attribute)
        self.assertUnchanged(inst)
        # The history stays readable, and ends where the row is.
        events = api.instance_events(self.admin, inst["uuid"])
        self.assertEqual(["create", "delete", "update"],
                         [e["action"] for e in events])
        self.assertEqual(inst["version"], events[-1]["version"])

    def test_no_update_reset_or_clear_error_moves_it(self):
        inst = self.deleted()
        for values, expected in (
                ({"vm_state": states.ACTIVE}, {"version": inst["version"]}),
                ({"vm_state": states.ACTIVE, "task_state": None},
                 {"task_state": None}),
                ({"power_state": states.RUNNING},
                 {"vm_state": states.DELETED}),
                ({"vm_state": states.DELETED}, {"task_state": None})):
            self.assertRaises(exception.StateConflict, updates.update,
                              self.admin, inst["uuid"], values, expected)
        # Even the store's own unconditional write refuses it.
        err = self.assertRaises(exception.StateConflict, api.transition,
                                self.admin, inst["uuid"],
                                {"vm_state": states.ACTIVE})
        self.assertIn("is deleted: nothing changes it", str(err))
        for target in (states.ACTIVE, states.ERROR):
            self.assertRaises(exception.StateConflict,
                              lifecycle.reset_state, self.admin,
                              inst["uuid"], target, "bring it back")
        self.assertRaises(exception.StateConflict, lifecycle.clear_error,
                          self.admin, inst["uuid"], "bring it back")
        self.assertUnchanged(inst)

    def test_power_reports_and_drains_find_nothing_to_do(self):
        self.flags(group="lifecycle", power_drift_reaction="stop",
                   power_drift_grace=0)
        inst = self.deleted()
        report = lifecycle.report_power_state(self.admin, inst["uuid"],
                                              states.SHUTDOWN)
        self.assertFalse(report.changed)
        self.assertIsNone(report.reaction)
        # A queued action left behind (queued before the delete ended)
        # is dropped by the drain, never started.
        action_queue.push(
            self.admin, inst["uuid"], "restore", None,
            lambda instance, entries: action_queue.Plan(True, []))
        self.assertEqual([], lifecycle.drain(inst["uuid"]))
        self.assertIsNone(action_queue.head(self.admin, inst["uuid"]))
        self.assertUnchanged(inst)

    def test_a_task_running_when_deleted_ends_there(self):
        self.flags(group="lifecycle",
                   task_timeouts={"rebuilding": "1:retry"})
        inst = self.create(self.admin)
        rebuild = lifecycle.begin(self.admin, inst["uuid"], "rebuild")
        # A worker's report of the deletion, fenced on the version it saw.
        seen = api.instance_get(self.admin, inst["uuid"])
        done = updates.update(self.admin, inst["uuid"],
                              {"vm_state": states.DELETED},
                              {"version": seen["version"]})
        self.assertIsNone(done["task_id"])
        self.assertRaises(exception.TaskAborted, rebuild.checkpoint)
        self.assertRaises(exception.TaskAborted, rebuild.finish)
        # Nothing expires: the sweep finds no task on it.
        later = timeutils.utcnow() + datetime.timedelta(seconds=30)
        self.assertEqual([], heartbeats.expired(
            self.admin, ["rebuilding"], later, 10))
        policy = timeouts.policy()
        self.assertEqual("retry", policy["rebuilding"].reaction)
        self.assertUnchanged(done)

    def test_a_task_state_with_deleted_is_refused(self):
        inst = self.create(self.admin)
        self.assertRaises(exception.Invalid, api.transition, self.admin,
                          inst["uuid"], {"vm_state": states.DELETED,
                                         "task_state": states.DELETING},
                          {"version": inst["version"]})

    def test_reports_that_change_a_task_are_fenced(self):
        inst = self.create(self.admin)
        rebuild = lifecycle.begin(self.admin, inst["uuid"], "rebuild")
        evacuate = lifecycle.begin(self.admin, inst["uuid"], "evacuate")
        self.assertEqual(rebuild.task_state, evacuate.task_state)
        # Naming only the task_state: refused, whoever's it is.
        err = self.assertRaises(
            exception.Invalid, updates.update, self.admin, inst["uuid"],
            {"vm_state": states.ERROR, "task_state": None},
            {"task_state": states.REBUILDING})
        self.assertIn("expected.task_id", str(err))
        self.assertRaises(exception.Invalid, updates.update, self.admin,
                          inst["uuid"], {"power_state": 1}, None)
        # The stale worker names its own task: too late.
        self.assertRaises(exception.StateConflict, updates.update,
                          self.admin, inst["uuid"],
                          {"vm_state": states.ERROR, "task_state": None},
                          {"task_id": rebuild.task_id})
        self.assertRaises(exception.TaskAborted, heartbeats.heartbeat,
                          self.admin, inst["uuid"], rebuild.task_id)
        # The evacuation's own worker goes on.
        heartbeats.heartbeat(self.admin, inst["uuid"], evacuate.task_id,
                             states.REBUILDING)
        done = updates.update(self.admin, inst["uuid"],
                              {"vm_state": states.ACTIVE,
                               "task_state": None},
                              {"task_id": evacuate.task_id})
        self.assertEqual((states.ACTIVE, None),
                         (done["vm_state"], done["task_state"]))
        # Observations that change no task need no fence.
        updates.update(self.admin, inst["uuid"], {"power_state": 4},
                       {"task_state": None})

    def test_clear_error_never_lands_in_building(self):
        inst = api.instance_create(self.admin, {})     # building
        build = lifecycle.adopt(self.admin, inst["uuid"])
        build.fail(RuntimeError("no valid host"))
        err = self.assertRaises(exception.StateConflict,
                                lifecycle.clear_error, self.admin,
                                inst["uuid"], "try again")
        self.assertIn("reset its state instead", str(err))
        self.assertEqual(states.BUILDING, err.actual["before_error"])
        after = api.instance_get(self.admin, inst["uuid"])
        self.assertEqual((states.ERROR, None),
                         (after["vm_state"], after["task_state"]))
        # What it names works.
        done = lifecycle.reset_state(self.admin, inst["uuid"],
                                     states.ACTIVE, "built by hand")
        self.assertEqual(states.ACTIVE, done["vm_state"])

    def test_clear_error_still_returns_to_a_stable_state(self):
        inst = self.create(self.admin)
        task = lifecycle.begin(self.admin, inst["uuid"], "stop")
        task.fail(RuntimeError("libvirt"))
        done = lifecycle.clear_error(self.admin, inst["uuid"], "fixed")
        self.assertEqual((states.ACTIVE, None),
                         (done["vm_state"], done["task_state"]))


    def resized(self, vm_state):
        inst = self.create(self.admin, vm_state=vm_state)
        resize = lifecycle.begin(self.admin, inst["uuid"], "resize")
        done = resize.finish()
        self.assertEqual(states.RESIZED, done["vm_state"])
        return inst

    def test_one_resize_is_confirmed_or_reverted_once(self):
        inst = self.resized(states.ACTIVE)
        confirm = lifecycle.begin(self.admin, inst["uuid"], "confirm_resize")
        self.assertEqual(states.RESIZE_CONFIRMING, confirm.task_state)
        for action in ("confirm_resize", "revert_resize"):
            self.assertRaises(exception.InstanceInvalidState,
                              lifecycle.begin, self.admin, inst["uuid"],
                              action)
        done = confirm.finish()
        self.assertEqual((states.ACTIVE, None),
                         (done["vm_state"], done["task_state"]))
        for action in ("confirm_resize", "revert_resize"):
            self.assertRaises(exception.InstanceInvalidState,
                              lifecycle.begin, self.admin, inst["uuid"],
                              action)
        actions = [e["action"] for e in api.instance_events(
            self.admin, inst["uuid"])]
        # The confirmation's start and end; no revert ever began.
        self.assertEqual(2, actions.count("confirm_resize"))
        self.assertNotIn("revert_resize", actions)

    def test_a_stopped_server_comes_back_stopped(self):
        for action in ("confirm_resize", "revert_resize"):
            inst = self.resized(states.STOPPED)
            done = lifecycle.begin(self.admin, inst["uuid"],
                                   action).finish()
            self.assertEqual(states.STOPPED, done["vm_state"], action)
        for action in ("rebuild", "evacuate"):
            inst = self.create(self.admin, vm_state=states.STOPPED)
            done = lifecycle.begin(self.admin, inst["uuid"],
                                   action).finish()
            self.assertEqual(states.STOPPED, done["vm_state"], action)
            # From active or error: active, as before (an error after
            # the server ran: one that never launched is refused).
            for start in (states.ACTIVE, states.ERROR):
                inst = self.create(self.admin, vm_state=states.ACTIVE)
                inst = api.transition(self.admin, inst["uuid"],
                                      {"vm_state": start},
                                      expected={"version": inst["version"]})
                done = lifecycle.begin(self.admin, inst["uuid"],
                                       action).finish()
                self.assertEqual(states.ACTIVE, done["vm_state"], action)
        # A resize of a running server is confirmed into active; adopted
        # by another worker, the task finds the same answer.
        inst = self.resized(states.ACTIVE)
        task = lifecycle.begin(self.admin, inst["uuid"], "revert_resize")
        adopted = lifecycle.adopt(self.admin, inst["uuid"], task.task_id)
        self.assertEqual(states.ACTIVE, adopted.completes_in())

    def test_soft_delete_of_a_never_launched_instance_deletes_it(self):
        building = api.instance_create(self.admin, {})
        task = lifecycle.begin(self.admin, building["uuid"], "soft_delete")
        self.assertEqual(("delete", states.DELETING),
                         (task.action, task.task_state))
        event = api.instance_events(self.admin, building["uuid"])[-1]
        self.assertEqual("delete", event["action"])
        self.assertIn("soft_delete of an instance that never launched",
                      event["reason"])
        self.assertEqual(states.DELETED, task.finish()["vm_state"])
        self.assertRaises(exception.InstanceInvalidState, lifecycle.begin,
                          self.admin, building["uuid"], "restore")
        # A failed build never launched either.
        failed = api.instance_create(self.admin, {})
        lifecycle.adopt(self.admin, failed["uuid"]).fail("no valid host")
        task = lifecycle.begin(self.admin, failed["uuid"], "soft_delete")
        self.assertEqual("delete", task.action)
        # One that launched is soft-deleted and may be restored.
        built = api.instance_create(self.admin, {})
        lifecycle.adopt(self.admin, built["uuid"]).finish()
        task = lifecycle.begin(self.admin, built["uuid"], "soft_delete")
        self.assertEqual(("soft_delete", states.SOFT_DELETING),
                         (task.action, task.task_state))
        self.assertEqual(states.SOFT_DELETED, task.finish()["vm_state"])
        restored = lifecycle.begin(self.admin, built["uuid"],
                                   "restore").finish()
        self.assertEqual(states.ACTIVE, restored["vm_state"])


    def test_a_released_reservation_gives_the_build_back_to_its_owner(self):
        # The guard's reservation of a delete preempts the build; the
        # compute service refuses the request and the guard releases it:
        # the build goes on under its own task id (only its owner ends it).
        inst = api.instance_create(self.admin, {})
        build = lifecycle.adopt(self.admin, inst["uuid"])
        build.checkpoint(states.SPAWNING)
        before = api.instance_get(self.admin, inst["uuid"])
        reserved = lifecycle.begin(self.admin, inst["uuid"], "delete")
        after = reserved.release("compute service answered 500")
        self.assertEqual(
            (states.BUILDING, states.SPAWNING, build.task_id, "create",
             before["task_started_at"]),
            (after["vm_state"], after["task_state"], after["task_id"],
             after["task_action"], after["task_started_at"]))
        # The reservation's task is over: its own step is refused.
        self.assertRaises(exception.TaskAborted, reserved.checkpoint)
        self.assertEqual(states.ACTIVE,
                         build.finish(power_state=states.RUNNING)["vm_state"])


class TestPromisesSQLite(PromiseTests, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestPromisesPostgreSQL(PromiseTests, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestPromisesMySQL(PromiseTests, base.TestCase):
    FIXTURE = base.MySQLMigrated
