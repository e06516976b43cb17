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


"""Three ``vmstate-api`` on one PostgreSQL, with each cross-process bus.

The run of the Galera tests (twelve clients over three APIs, then the
sweepers, then a wait through one API woken by a change through another)
on oslo.db's opportunistic PostgreSQL database, once with the
``postgresql`` bus (LISTEN/NOTIFY) and once with ``messaging``
(RabbitMQ). Skipped without PostgreSQL or RabbitMQ, failing instead when
``VMSTATE_TEST_DB_REQUIRED`` is set (CI sets it).
"""

from tests.functional.db import base
from tests.functional.scaleout import harness

OPERATIONS = 480


class _ThreeProcesses(harness.ScaleOutChecks):

    FIXTURE = base.PostgreSQLMigrated

    def events(self):
        raise NotImplementedError

    def test_three_processes_on_one_database(self):
        apis = self.useFixture(harness.APIs([self.url] * 3, self.events()))
        uuids, ledger = self.history_run(apis, OPERATIONS, seed=5)
        fired = self.swept(apis.urls, uuids, ledger)
        self.assertGreater(fired, 0)
        self.wait_across(apis.urls[1], apis.urls[0])


class TestListenNotify(_ThreeProcesses, base.TestCase):

    def events(self):
        return harness.events_conf("postgresql")


class TestMessaging(_ThreeProcesses, base.TestCase):

    def events(self):
        return harness.messaging_events(self)
