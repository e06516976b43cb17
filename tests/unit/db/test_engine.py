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

"""The database connection: failures to connect are disconnects."""

from unittest import mock

from oslo_db import exception as db_exc

from tests import base
from tests import concurrency
from vmstate import context
from vmstate.db import api
from vmstate.db import connections


class TestConnectFailures(base.TestCase):

    def setUp(self):
        super().setUp()
        self.facade = connections.main.make_new_manager()
        # Nothing listens on port 1: the driver fails while connecting,
        # before any statement, as with a server that is down.
        self.flags(group="database",
                   connection="postgresql+psycopg2://vmstate@127.0.0.1:1/x")
        self.addCleanup(connections.main.patch_factory(self.facade))
        self.addCleanup(self.facade.dispose_pool)
        self.ctx = context.get_admin_context()

    def test_reader_and_writer_say_connection_error(self):
        def use(transaction):
            with transaction(self.ctx) as conn:
                conn.exec_driver_sql("SELECT 1")
        for transaction in (connections.reader, connections.writer):
            self.assertRaises(db_exc.DBConnectionError, use, transaction)

    def test_db_api_retries_then_gives_up_with_connection_error(self):
        with mock.patch("time.sleep") as sleep:
            self.assertRaises(db_exc.DBConnectionError, api.instance_list,
                              self.ctx)
        self.assertGreater(sleep.call_count, 0)

    def test_errors_of_statements_are_left_to_oslo_db(self):
        facade = connections.main.make_new_manager()
        self.flags(group="database", connection="sqlite://")
        reset = connections.main.patch_factory(facade)
        try:
            def bad_sql():
                with connections.reader(self.ctx) as conn:
                    conn.exec_driver_sql("SELECT * FROM no_such_table")
            err = self.assertRaises(db_exc.DBError, bad_sql)
            self.assertNotIsInstance(err, db_exc.DBConnectionError)
        finally:
            reset()
            facade.dispose_pool()


class TestSQLiteWritersInTurn(base.TestCase):

    def setUp(self):
        super().setUp()
        from tests import db_fixture
        self.useFixture(db_fixture.Database())
        self.ctx = context.get_admin_context()

    def test_second_writer_waits_for_the_first_commit(self):
        import threading

        first_in = threading.Event()
        release_first = threading.Event()
        order = []

        def first():
            with connections.writer(self.ctx) as conn:
                conn.exec_driver_sql("SELECT 1")
                order.append("first in")
                first_in.set()
                release_first.wait(10)
                order.append("first commits")

        def second():
            first_in.wait(10)
            with connections.writer(self.ctx) as conn:
                order.append("second in")
                conn.exec_driver_sql("SELECT 1")

        threads = [concurrency.Background(first, name="first", test=self),
                   concurrency.Background(second, name="second",
                                          test=self)]
        self.assertTrue(first_in.wait(10))
        # The second writer is queued behind the first, not inside.
        threads[1].join(0.3)
        self.assertTrue(threads[1].is_alive())
        self.assertEqual(["first in"], order)
        release_first.set()
        for thread in threads:
            thread.outcome(10)
        self.assertEqual(["first in", "first commits", "second in"], order)

    def test_readers_are_not_queued(self):
        read = []

        def reader():
            with connections.reader(context.get_admin_context()) as conn:
                read.append(conn.exec_driver_sql("SELECT 1").scalar())

        with connections.writer(self.ctx) as conn:
            conn.exec_driver_sql("SELECT 1")
            thread = concurrency.Background(reader, name="reader",
                                            test=self)
            # Done while the writer still holds its turn.
            thread.outcome(10)
        self.assertEqual([1], read)
