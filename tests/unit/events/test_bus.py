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



"""The event bus: subscriptions, delivery after commit, drivers, codec."""

import datetime
import functools
import threading
import time

import fixtures

from tests import concurrency
from tests import events_fixture
from tests.unit.db import base
from vmstate import events
from vmstate import exception
from vmstate import lifecycle
from vmstate.db import api
from vmstate.db import listeners
from vmstate.events import changes
from vmstate.events.drivers import local


class Recorder:
    """A subscriber that keeps what it is given."""

    def __init__(self):
        self.changes = []
        self.resyncs = 0

    def __call__(self, change):
        self.changes.append(change)

    def resync(self):
        self.resyncs += 1

    @property
    def versions(self):
        return [c.version for c in self.changes]


class TestBus(base.TestCase):

    def setUp(self):
        super().setUp()
        self.bus = self.useFixture(events_fixture.Bus()).bus

    def test_delivers_committed_transitions_of_the_subscribed_uuid(self):
        inst = self.create()
        other = self.create()
        seen = Recorder()
        with self.bus.subscribe(inst["uuid"], seen):
            task = lifecycle.begin(self.ctx, inst["uuid"], "stop")
            task.finish()
            lifecycle.begin(self.ctx, other["uuid"], "reboot")
        self.assertEqual([2, 3], seen.versions)
        first, last = seen.changes
        self.assertEqual(("active", "powering-off"),
                         (first.vm_state, first.task_state))
        self.assertEqual(("stopped", None), (last.vm_state, last.task_state))
        self.assertEqual(api.instance_get(self.ctx, inst["uuid"]),
                         dict(last.instance))
        self.assertEqual({"vm_state": "active", "task_state": "powering-off",
                          "power_state": 0}, last.event["from"])
        self.assertNotIn("event", last.instance)

    def test_closed_subscription_hears_nothing(self):
        inst = self.create()
        seen = Recorder()
        subscription = self.bus.subscribe(inst["uuid"], seen)
        self.assertEqual(1, self.bus.subscriber_count(inst["uuid"]))
        subscription.close()
        subscription.close()
        self.assertEqual(0, self.bus.subscriber_count())
        lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        self.assertEqual([], seen.changes)

    def test_creation_is_published(self):
        seen = Recorder()
        uuid = "0b4dc9a4-7d68-4a2b-a3f6-2b1c8a0f4c11"
        with self.bus.subscribe(uuid, seen):
            self.create(uuid=uuid)
        self.assertEqual([1], seen.versions)

    def test_published_after_commit_never_before(self):
        inst = self.create()
        found = []

        def read_back(instance):
            # Another connection, in the committing thread: it sees the
            # new version only if the transaction has committed.
            with self.db.engine.connect() as conn:
                found.append(conn.exec_driver_sql(
                    "SELECT version FROM instances WHERE uuid = ?",
                    (instance["uuid"],)).scalar())

        listeners.add(read_back)
        self.addCleanup(listeners.remove, read_back)
        lifecycle.begin(self.ctx, inst["uuid"], "reboot").finish()
        self.assertEqual([2, 3], found)

    def test_nothing_published_for_a_rolled_back_change(self):
        inst = self.create()
        seen = Recorder()
        self.useFixture(fixtures.MockPatch(
            "vmstate.db.cas.record", side_effect=RuntimeError("boom")))
        with self.bus.subscribe(inst["uuid"], seen):
            self.assertRaises(RuntimeError, lifecycle.begin, self.ctx,
                              inst["uuid"], "reboot")
        self.assertEqual([], seen.changes)
        self.assertEqual(1, api.instance_get(self.ctx,
                                             inst["uuid"])["version"])

    def test_heartbeats_are_not_transitions(self):
        inst = self.create()
        task = lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        seen = Recorder()
        with self.bus.subscribe(inst["uuid"], seen):
            task.checkpoint()
            task.checkpoint("reboot_pending")
        self.assertEqual([3], seen.versions)

    def test_failing_subscriber_breaks_neither_write_nor_others(self):
        inst = self.create()
        seen = Recorder()

        def broken(change):
            raise ValueError("subscriber bug")

        logger = self.useFixture(fixtures.FakeLogger())
        with self.bus.subscribe(inst["uuid"], broken), \
                self.bus.subscribe(inst["uuid"], seen):
            task = lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        self.assertEqual(2, task.instance["version"])
        self.assertEqual([2], seen.versions)
        self.assertIn("subscriber bug", logger.output)

    def test_failing_listener_does_not_break_the_write(self):
        inst = self.create()

        def broken(instance):
            raise RuntimeError("listener bug")

        listeners.add(broken)
        self.addCleanup(listeners.remove, broken)
        logger = self.useFixture(fixtures.FakeLogger())
        seen = Recorder()
        with self.bus.subscribe(inst["uuid"], seen):
            result = api.transition(self.ctx, inst["uuid"],
                                    {"vm_state": "stopped"})
        self.assertEqual(2, result["version"])
        self.assertEqual([2], seen.versions)
        self.assertIn("listener bug", logger.output)

    def test_listeners_added_once(self):
        calls = []
        listeners.add(calls.append)
        listeners.add(calls.append)
        self.addCleanup(listeners.remove, calls.append)
        self.create()
        self.assertEqual(1, len(calls))

    def test_resync_reaches_every_subscriber_that_asked(self):
        first, second = Recorder(), Recorder()
        self.bus.subscribe("a", first, first.resync)
        self.bus.subscribe("b", second)
        self.bus.resync()
        self.assertEqual((1, []), (first.resyncs, second.changes))

    def test_delivery_from_many_threads(self):
        inst = self.create()
        seen = Recorder()
        lock = threading.Lock()

        def record(change):
            with lock:
                seen(change)

        with self.bus.subscribe(inst["uuid"], record):
            barrier = threading.Barrier(8)

            def deliver(n):
                barrier.wait()
                for i in range(50):
                    self.bus.deliver(events.StateChange(
                        inst["uuid"], n * 100 + i, "active", None, 1))

            concurrency.run_concurrently(
                *(functools.partial(deliver, n) for n in range(8)))
        self.assertEqual(400, len(set(seen.versions)))

    def test_local_bus_skips_changes_nobody_hears(self):
        inst = self.create()
        built = self.useFixture(fixtures.MockPatchObject(
            events.StateChange, "from_instance",
            wraps=events.StateChange.from_instance)).mock
        reached = self.useFixture(fixtures.MockPatchObject(
            self.bus, "publish", wraps=self.bus.publish)).mock
        task = lifecycle.begin(self.ctx, inst["uuid"], "reboot")
        # The commit reached the bus, with the begun change...
        reached.assert_called_once()
        self.assertEqual((inst["uuid"], 2), (
            reached.call_args.args[0]["uuid"],
            reached.call_args.args[0]["version"]))
        # ...which built nothing, nobody listening.
        built.assert_not_called()
        # The same path builds the change once somebody listens: the
        # check above does not pass for want of reaching the bus.
        heard = []
        with self.bus.subscribe(inst["uuid"], heard.append):
            task.finish()
        built.assert_called_once()
        self.assertEqual([3], [change.version for change in heard])


class TestDrivers(base.TestCase):

    def test_default_is_local(self):
        self.assertIsInstance(events.load_driver(self.conf()),
                              local.LocalDriver)

    def conf(self):
        from vmstate.conf import CONF
        return CONF

    def test_unknown_driver_is_a_clear_error(self):
        self.flags(group="events", driver="carrier-pigeon")
        err = self.assertRaises(exception.EventBusError, events.load_driver,
                                self.conf())
        self.assertIn("carrier-pigeon", err.message)
        self.assertIn("local, messaging, postgresql", err.message)
        self.assertEqual(503, err.code)

    def test_postgresql_driver_refuses_another_database(self):
        self.flags(group="events", driver="postgresql")
        err = self.assertRaises(exception.EventBusError, events.load_driver,
                                self.conf())
        self.assertIn("needs [database] connection on PostgreSQL, not "
                      "sqlite", err.message)

    def test_process_bus_built_from_configuration_once(self):
        previous = events.set_bus(None)
        self.addCleanup(events.set_bus, previous)
        bus = events.get()
        self.addCleanup(bus.close)
        self.assertIs(bus, events.get())
        self.assertIsInstance(bus.driver, local.LocalDriver)

    def test_channel_name_is_checked(self):
        self.assertRaises(ValueError, self.flags, group="events",
                          channel="no; DROP TABLE instances")


class TestChange(base.TestCase):

    def test_round_trip_between_processes(self):
        inst = api.transition(self.ctx, self.create()["uuid"],
                              {"vm_state": "error",
                               "fault": {"message": "disk full"}})
        change = events.StateChange.from_instance(inst)
        origin, back = changes.decode(changes.encode(change, "me"))
        self.assertEqual("me", origin)
        self.assertEqual(change, back)
        self.assertIsInstance(back.instance["updated_at"],
                              datetime.datetime)
        self.assertEqual({"message": "disk full"}, back.instance["fault"])

    def test_states_only(self):
        change = events.StateChange.from_instance(
            dict(self.create(), event=None)).states_only()
        origin, back = changes.decode(changes.encode(change, "x"))
        self.assertEqual((None, None, "active", 1),
                         (back.instance, back.event, back.vm_state,
                          back.version))

    def test_malformed_messages_are_refused(self):
        for text in ("[]", "{}", "not json", '{"version": "1"}',
                     '{"uuid": "u", "version": true, "vm_state": "a", '
                     '"task_state": null}',
                     '{"uuid": "u", "version": 1, "vm_state": "a", '
                     '"task_state": null, "instance": [1]}'):
            self.assertRaises(ValueError, changes.decode, text)


class TestPostgreSQLDriverWithoutServer(base.TestCase):
    """What the driver does when it cannot reach its server: it never
    raises into a write or a wait."""

    URL = "postgresql://nobody:secret@127.0.0.1:1/vmstate?connect_timeout=1"

    def setUp(self):
        super().setUp()
        from vmstate.conf import CONF
        self.flags(group="database", connection=self.URL)
        self.flags(group="events", driver="postgresql", connect_timeout=0.2,
                   reconnect_interval=0.05)
        self.logger = self.useFixture(fixtures.FakeLogger())
        self.bus = events.Bus(events.load_driver(CONF))
        self.addCleanup(self.bus.close)

    def test_connect_arguments(self):
        from vmstate.events.drivers import postgresql
        args, kwargs = postgresql.connect_args(self.URL)
        self.assertEqual([], args)
        self.assertEqual(
            {"host": "127.0.0.1", "port": 1, "user": "nobody",
             "password": "secret", "dbname": "vmstate",
             # From the URL, not the driver's default of 10.
             "connect_timeout": "1", "keepalives": 1,
             "keepalives_idle": 30, "keepalives_interval": 10,
             "keepalives_count": 3, "application_name": "vmstate-events"},
            kwargs)
        for url in ("sqlite://", "mysql+pymysql://u:p@h/db", "::nonsense"):
            self.assertRaises(exception.EventBusError,
                              postgresql.connect_args, url)

    def test_subscribe_gives_up_waiting_for_the_channel(self):
        began = time.monotonic()
        subscription = self.bus.subscribe("u", Recorder())
        self.assertLess(time.monotonic() - began, 5)
        subscription.close()
        self.assertIn("is not listening yet", self.logger.output)

    def test_publish_logs_and_returns(self):
        self.bus.driver.publish(events.StateChange("u", 2, "active", None,
                                                   1))
        self.assertIn("Could not notify other processes of u version 2",
                      self.logger.output)
