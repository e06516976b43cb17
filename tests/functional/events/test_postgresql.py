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



"""Waits across processes through PostgreSQL LISTEN/NOTIFY.

On oslo.db's opportunistic PostgreSQL database (skipped when there is
none, failing instead when ``VMSTATE_TEST_DB_REQUIRED`` is set, as CI
does). The safety net is set far beyond every wait here, so what wakes
a waiter is the channel and nothing else.
"""

import threading
import time

import fixtures
import sqlalchemy as sa

from tests.functional.db import base
from tests.functional.events import base as events_base
from tests.functional.events.base import PATIENCE
from tests.functional.events.base import PROMPT
from tests.functional.events.base import Recorder
from tests.unit.lifecycle.test_waits import Waiter
from vmstate import lifecycle
from vmstate.conf import CONF
from vmstate.events.drivers import postgresql


class PostgreSQLEventsTestCase(events_base.DriverTestCase):

    FIXTURE = base.PostgreSQLMigrated
    DRIVER = "postgresql"

    def own_options(self):
        return {"resync_interval": PATIENCE, "reconnect_interval": 0.05}


class TestAcrossProcesses(events_base.CommitElsewhere,
                          events_base.ManageWaitElsewhere,
                          PostgreSQLEventsTestCase):
    # The command's bus closes at once: its exit is part of the wake-up.
    EXIT_IS_PROMPT = True


class TestChannel(events_base.ChannelTests, PostgreSQLEventsTestCase):

    def assert_listening(self, driver):
        self.assertIsNotNone(driver.listener_pid)

    def send_malformed(self, bus):
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_notify(:c, :p)"),
                         {"c": CONF.events.channel, "p": "not json"})
            conn.commit()

    def test_lost_channel_is_reopened_and_waiters_reread(self):
        uuid = self.create()["uuid"]
        listener = self.other_bus()
        driver = listener.driver
        waiter = Waiter(self.admin, uuid, "stopped", timeout=PATIENCE,
                        bus=listener)
        waiter.start()
        waiter.begun()
        # Keep the channel down until the test lets it come back.
        outage, reconnecting = threading.Event(), threading.Event()
        real_connect = driver._connect

        def connect_later():
            reconnecting.set()
            outage.wait(PATIENCE)
            return real_connect()

        self.useFixture(fixtures.MockPatchObject(
            driver, "_connect", side_effect=connect_later))
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                         {"pid": driver.listener_pid})
        self.assertTrue(reconnecting.wait(PROMPT))
        # Sent while nobody listens on that side: lost for the waiter.
        self.step(uuid, "stop")
        self.assertFalse(waiter.finished)
        began = time.monotonic()
        outage.set()
        result = waiter.outcome(PATIENCE)
        self.assertLess(time.monotonic() - began, PROMPT)
        self.assertEqual(("reached", ("active", "stopped")),
                         (result.status, result.seen))

    def test_large_changes_travel_as_states_only(self):
        uuid = self.create()["uuid"]
        listener = self.other_bus()
        seen = Recorder()
        listener.subscribe(uuid, seen)
        task = lifecycle.begin(self.admin, uuid, "reboot")
        task.fail("x" * (postgresql.MAX_PAYLOAD + 100))
        seen.until(3)
        small, large = seen.changes
        self.assertEqual("active", small.instance["vm_state"])
        self.assertEqual((None, None, "error", None),
                         (large.instance, large.event, large.vm_state,
                          large.task_state))
        # A waiter then reads the instance itself, fault and all.
        result = lifecycle.wait_for(self.admin, uuid, "error", 0,
                                    bus=listener)
        self.assertEqual("reached", result.status)
        self.assertTrue(result.instance["fault"]["message"].startswith("xx"))

    def test_a_failed_send_is_retried_on_a_new_connection(self):
        uuid = self.create()["uuid"]
        listener = self.other_bus()
        seen = Recorder()
        listener.subscribe(uuid, seen)
        self.step(uuid, "reboot")
        sender = self.bus.driver._sender
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                         {"pid": sender.get_backend_pid()})
        self.step(uuid, "reboot")
        self.assertEqual([2, 3, 4, 5], seen.until(5))
        self.assertIsNot(sender, self.bus.driver._sender)
