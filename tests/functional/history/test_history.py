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

"""The history checker against a real vmstate-api on each database.

Concurrent clients (reports fenced on task ids or versions, admin
resets) and the service's sweeper firing timeouts, then an audit of every
instance's history: it must find zero violations on SQLite, PostgreSQL
and MariaDB, issue 11's invariants included.
"""

import io

from tests.functional.api import test_process
from tests.functional.db import base
from tests.functional.fake import test_openstacksdk
from tools import history_check

CLIENTS = 6
OPERATIONS = 240
GUARDED_API_OPERATIONS = 90
GUARD_OPERATIONS = 90


class _History:

    def test_no_violation_under_concurrency(self):
        # The sweeper fires timeouts during the run: its changes are
        # audited too (retries, clears, errors).
        conf = ("[database]\nconnection = %s\n[lifecycle]\n"
                "task_timeouts = rebooting:0.5:retry, powering-off:0.5:clear,"
                " resize_prep:0.5:error, resize_confirming:0.5:clear\n"
                "sweep_interval = 0.2\n" % self.url)
        api = self.useFixture(test_process.APIProcess(extra_conf=conf))
        ledger, events = history_check.run(
            "http://%s:%d" % (api.host, api.port), clients=CLIENTS,
            operations=OPERATIONS, instances=4, seed=7)
        out = io.StringIO()
        history_check.report(ledger, events, out)
        self.addDetail("report", self._text(out.getvalue()))
        self.assertEqual([], ledger.violations, out.getvalue())
        done = sum(ledger.counts.values())
        self.assertEqual(OPERATIONS, done)
        # The run really raced: some changes won and some lost.
        statuses = {status for _kind, status in ledger.counts}
        self.assertTrue({200, 202, 409} <= statuses, statuses)
        self.assertGreater(events, 4)

    def test_no_violation_with_guard_reservations(self):
        # vmstate-fake-compute reserving through its guard, on the same
        # database, at the same instances as the API's clients.
        conf = "[database]\nconnection = %s\n" % self.url
        api = self.useFixture(test_process.APIProcess(extra_conf=conf))
        fake = self.useFixture(test_openstacksdk.FakeCompute(
            conf + "[guard]\nreserve = true\n"))
        ledger, events = history_check.run(
            "http://%s:%d" % (api.host, api.port), clients=3,
            operations=GUARDED_API_OPERATIONS, instances=3, seed=11,
            compute_url=fake.url, guard_clients=3,
            guard_operations=GUARD_OPERATIONS)
        out = io.StringIO()
        history_check.report(ledger, events, out)
        self.addDetail("report", self._text(out.getvalue()))
        self.assertEqual([], ledger.violations, out.getvalue())
        guarded = {(kind, status): n for (kind, status), n
                   in ledger.counts.items() if kind.startswith("guard ")}
        self.assertEqual(GUARD_OPERATIONS, sum(guarded.values()))
        # Requests through the guard were accepted and refused.
        statuses = {status for _kind, status in guarded}
        self.assertTrue({202, 409} <= statuses, statuses)
        self.assertGreater(len(ledger.guard_requests), 0)

    @staticmethod
    def _text(value):
        from testtools import content
        return content.text_content(value)


class TestHistorySQLite(_History, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestHistoryPostgreSQL(_History, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestHistoryMySQL(_History, base.TestCase):
    FIXTURE = base.MySQLMigrated
