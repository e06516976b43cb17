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

"""Causal reads are switched on for Galera nodes, and only for them.

The real thing (a read that waits for a write through another node) is
tests.functional.scaleout.test_galera; here, which connections get it.
"""

import sqlalchemy as sa

from tests import base
from vmstate.db import galera


class FakeCursor:
    def __init__(self, server):
        self.server = server

    def execute(self, statement):
        self.server.statements.append(statement)

    def fetchone(self):
        wsrep_on = self.server.wsrep_on
        return None if wsrep_on is None else ("wsrep_on", wsrep_on)

    def close(self):
        pass


class FakeConnection:
    """A DBAPI connection to a server with ``wsrep_on`` (``None``: a
    server without the variable, such as MySQL)."""

    def __init__(self, wsrep_on):
        self.wsrep_on = wsrep_on
        self.statements = []

    def cursor(self):
        return FakeCursor(self)


class Record:
    def __init__(self):
        self.info = {}


class TestCausalReads(base.TestCase):

    def connect(self, wsrep_on):
        connection, record = FakeConnection(wsrep_on), Record()
        galera._causal_on_connect(connection, record)
        return connection.statements, record.info["vmstate_galera"]

    def test_a_galera_node_reads_causally(self):
        statements, is_galera = self.connect("ON")
        self.assertTrue(is_galera)
        self.assertEqual("SET SESSION wsrep_sync_wait = 3", statements[-1])

    def test_other_servers_are_left_alone(self):
        for wsrep_on in ("OFF", None):
            statements, is_galera = self.connect(wsrep_on)
            self.assertFalse(is_galera)
            self.assertEqual(["SHOW VARIABLES LIKE 'wsrep_on'"], statements)

    def test_only_mysql_engines_get_the_listener(self):
        for url, expected in (("mysql+pymysql://u@h/db", True),
                              ("sqlite://", False),
                              ("postgresql+psycopg2://u@h/db", False)):
            engine = sa.create_engine(url)
            self.addCleanup(engine.dispose)
            galera.on_engine_create(engine)
            self.assertEqual(expected, sa.event.contains(
                engine, "connect", galera._causal_on_connect), url)

    def test_the_operators_setting_wins(self):
        self.flags(group="database", mysql_wsrep_sync_wait=0)
        engine = sa.create_engine("mysql+pymysql://u@h/db")
        self.addCleanup(engine.dispose)
        galera.on_engine_create(engine)
        self.assertFalse(sa.event.contains(engine, "connect",
                                           galera._causal_on_connect))
