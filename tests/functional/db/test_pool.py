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

"""The pools vmstate's facade builds: connections are reused, and a
connection is pinged only after sitting idle, on every backend.

These engines are vmstate's own facade (``vmstate.db.connections``) on the
opportunistic test database, not the engine oslo.db's fixtures
provisioned (which never passes through vmstate's engine hook).
"""

import threading
from unittest import mock

import sqlalchemy as sa

from tests import concurrency
from tests.functional.db import base
from vmstate.db import api
from vmstate.db import connections


class _Pooled:

    def setUp(self):
        super().setUp()
        self.facade = connections.main.make_new_manager()
        self.facade.configure(connection=self.url, max_retries=0)
        self.addCleanup(connections.main.patch_factory(self.facade))
        self.addCleanup(self.facade.dispose_pool)
        self.pooled = self.facade.writer.get_engine()
        self.connects = []
        sa.event.listen(self.pooled, "connect",
                        lambda *a: self.connects.append(1))
        # The dialect pings through a raw cursor, unseen by the counter.
        dialect = self.pooled.dialect
        self.pings = []
        real_ping = dialect.do_ping

        def do_ping(dbapi_connection):
            self.pings.append(1)
            return real_ping(dbapi_connection)

        patcher = mock.patch.object(dialect, "do_ping", do_ping)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _pings(self):
        return self.pings

    def test_transactions_reuse_one_connection(self):
        inst = api.instance_create(self.admin, {"vm_state": "active",
                                                "task_state": None})
        self.connects.clear()
        self.pings.clear()
        for _ in range(20):
            api.instance_get(self.admin, inst["uuid"])
            api.transition(self.admin, inst["uuid"], {"power_state": 1},
                           expected={"task_state": None})
        self.assertEqual([], self.connects)
        # No ping before each transaction, only the work itself.
        self.assertEqual([], self._pings())
        self.assertEqual(21, api.instance_get(self.admin,
                                              inst["uuid"])["version"])

    def test_threads_share_a_bounded_pool(self):
        inst = api.instance_create(self.admin, {"vm_state": "active",
                                                "task_state": None})
        errors = []

        def read():
            try:
                for _ in range(10):
                    api.instance_get(self.admin, inst["uuid"])
            except Exception as err:  # collected, the test fails on it
                errors.append(err)

        concurrency.run_concurrently(*[read] * 8, timeout=30)
        self.assertEqual([], errors)
        self.assertIsInstance(self.pooled.pool, sa.pool.QueuePool)
        self.assertLessEqual(len(self.connects), 8)

    def test_idle_connection_is_pinged_and_replaced_when_gone(self):
        inst = api.instance_create(self.admin, {"vm_state": "active",
                                                "task_state": None})
        self.pings.clear()
        with mock.patch.object(connections, "PING_AFTER_IDLE", 0.0):
            api.instance_get(self.admin, inst["uuid"])
        if self.backend == "sqlite":
            # No server to lose: the file's connection is never pinged.
            self.assertEqual([], self._pings())
            return
        self.assertEqual(1, len(self._pings()))
        # The server drops every pooled connection while they are idle.
        self.pooled.pool.dispose()
        api.instance_get(self.admin, inst["uuid"])
        self._kill_other_sessions()
        self.connects.clear()
        with mock.patch.object(connections, "PING_AFTER_IDLE", 0.0):
            found = api.instance_get(self.admin, inst["uuid"])
        self.assertEqual(inst["uuid"], found["uuid"])
        self.assertEqual([1], self.connects)

    def _kill_other_sessions(self):
        # Through the test's own engine, which is not the pool's.
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM "
                    "pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()")
            else:
                ids = conn.exec_driver_sql(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                ).scalars().all()
                for session in ids:
                    conn.exec_driver_sql("KILL %d" % session)
        # The kill also reached any other idle connection of the test's own
        # engine (the fixture's); drop them so that its clean-up connects
        # afresh instead of failing on a dead one.
        self.engine.dispose()


class TestPoolSQLite(_Pooled, base.TestCase):
    FIXTURE = base.SQLiteMigrated

    def test_connections_beyond_max_pool_size_are_kept(self):
        # A server closes what overflows max_pool_size on its return; a
        # file's connection costs no server anything, and opening it
        # again costs its PRAGMAs: every connection opened is kept, up
        # to max_pool_size + max_overflow.
        self.flags(group="database", max_pool_size=2, max_overflow=10)
        facade = connections.main.make_new_manager()
        facade.configure(connection=self.url, max_retries=0)
        self.addCleanup(connections.main.patch_factory(facade))
        self.addCleanup(facade.dispose_pool)
        engine = facade.writer.get_engine()
        self.assertEqual(12, engine.pool.size())
        self.assertEqual(0, engine.pool._max_overflow)
        connects = []
        sa.event.listen(engine, "connect", lambda *a: connects.append(1))
        inst = api.instance_create(self.admin, {"vm_state": "active",
                                                "task_state": None})
        started = threading.Barrier(8)

        def read():
            # All eight hold a connection at once, every round.
            with connections.reader(self.admin) as conn:
                started.wait(timeout=30)
                conn.execute(sa.text("SELECT 1"))
            api.instance_get(self.admin, inst["uuid"])

        concurrency.run_concurrently(*[read] * 8, timeout=60)
        first = len(connects)
        self.assertGreaterEqual(first, 8)
        for _ in range(3):
            started.reset()
            concurrency.run_concurrently(*[read] * 8, timeout=60)
        self.assertEqual(first, len(connects))


class TestPoolPostgreSQL(_Pooled, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestPoolMySQL(_Pooled, base.TestCase):
    FIXTURE = base.MySQLMigrated
