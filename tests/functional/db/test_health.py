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

"""``/healthcheck`` on PostgreSQL and MariaDB: 503 with the reason when
the store can be read but refuses writes (a read-only replica, a database
switched to read-only), 200 otherwise. The SQLite case is in
``tests/functional/api/test_links_health.py``."""

import sqlalchemy as sa
import webtest

from tests.functional.db import base
from vmstate.api import app
from vmstate.conf import CONF
from vmstate.db import connections


class HealthMixin:
    #: The statement that makes a session read-only, and what the
    #: database then says of a write.
    READ_ONLY: str
    REFUSAL: str

    def setUp(self):
        super().setUp()
        self.app = webtest.TestApp(app.setup_app(CONF))

    def read_only_sessions(self):
        """Every new connection of vmstate's engine is read-only."""
        engine = connections.get_engine()

        def read_only(dbapi_connection, record):
            cursor = dbapi_connection.cursor()
            cursor.execute(self.READ_ONLY)
            cursor.close()
            # A session setting made in a transaction that rolls back
            # would be undone.
            dbapi_connection.commit()

        sa.event.listen(engine, "connect", read_only)
        self.addCleanup(sa.event.remove, engine, "connect", read_only)
        engine.dispose()
        self.addCleanup(engine.dispose)

    def test_healthy(self):
        res = self.app.get("/healthcheck", status=200)
        self.assertEqual("OK", res.text.strip())

    def test_503_with_the_reason_when_the_store_refuses_writes(self):
        self.create()
        self.read_only_sessions()
        # Reads still work...
        res = self.app.get("/v1/instances", status=200)
        self.assertEqual(1, len(res.json["instances"]))
        # ... writes do not, and the healthcheck says so.
        res = self.app.get("/healthcheck", status=503,
                           headers={"Accept": "application/json"})
        reasons = " ".join(res.json["reasons"])
        self.assertIn("state store cannot write", reasons)
        self.assertIn(self.REFUSAL, reasons)


class TestPostgreSQL(HealthMixin, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated
    READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
    REFUSAL = "read-only transaction"


class TestMySQL(HealthMixin, base.TestCase):
    FIXTURE = base.MySQLMigrated
    READ_ONLY = "SET SESSION TRANSACTION READ ONLY"
    REFUSAL = "READ ONLY transaction"
