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

"""Ids compare exactly and text is stored whole, on every backend."""

from tests.functional.db import base
from vmstate import exception
from vmstate.db import api
from vmstate.db import connections


class _Exact:

    def test_project_ids_compare_exactly(self):
        inst = self.create(self.admin, project_id="Tenant")
        # Case, on every backend. (MariaDB's binary collation still pads
        # trailing spaces; the API refuses ids with surrounding spaces.)
        for project in ("tenant", "TENANT", "tENANT"):
            ctx = base.member(project)
            self.assertRaises(exception.InstanceNotFound, api.instance_get,
                              ctx, inst["uuid"])
            self.assertEqual([], api.instance_list(ctx))
        self.assertEqual(inst["uuid"], api.instance_get(
            base.member("Tenant"), inst["uuid"])["uuid"])

    def test_states_compare_exactly(self):
        inst = self.create(self.admin)
        self.assertRaises(exception.StateConflict, api.transition,
                          self.admin, inst["uuid"], {"power_state": 4},
                          expected={"vm_state": "ACTIVE"})

    def test_four_byte_text(self):
        # Through the facade production builds from [database] connection
        # (for MySQL: a 4-byte charset), not the test fixture's engine.
        facade = connections.main.make_new_manager()
        self.flags(group="database", connection=self.url)
        self.addCleanup(connections.main.patch_factory(facade))
        self.addCleanup(facade.dispose_pool)
        inst = self.create(self.admin)
        after = api.transition(self.admin, inst["uuid"],
                               {"power_state": 4}, reason="shut \U0001F634")
        events = api.instance_events(self.admin, inst["uuid"])
        self.assertEqual("shut \U0001F634", events[-1]["reason"])
        self.assertEqual(after["version"], events[-1]["version"])


class TestExactSQLite(_Exact, base.TestCase):
    FIXTURE = base.SQLiteMigrated


class TestExactPostgreSQL(_Exact, base.TestCase):
    FIXTURE = base.PostgreSQLMigrated


class TestExactMySQL(_Exact, base.TestCase):
    FIXTURE = base.MySQLMigrated
