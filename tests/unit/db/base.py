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


"""Unit tests of the state store run on a real SQLite file per test."""

from typing import Any

from tests import base
from tests import db_fixture
from vmstate import context
from vmstate import states
from vmstate.db import api


def member(project_id: str = "p1", user_id: str = "u1"
           ) -> context.RequestContext:
    return context.RequestContext(project_id=project_id, user_id=user_id,
                                  roles=["member"], is_admin=False,
                                  overwrite=False)


class TestCase(base.TestCase):
    """A fresh migrated database, an admin and two project members."""

    def setUp(self) -> None:
        super().setUp()
        self.db = self.useFixture(db_fixture.Database())
        self.admin = context.get_admin_context()
        self.ctx = member("p1", "u1")
        self.other = member("p2", "u2")

    def create(self, ctx: Any = None, **values: Any) -> dict[str, Any]:
        """An instance of ``ctx``'s project, active and idle by default."""
        values.setdefault("vm_state", states.ACTIVE)
        values.setdefault("task_state", None)
        return api.instance_create(ctx or self.ctx, values)

    def count_statements(self) -> db_fixture.StatementCounter:
        return self.useFixture(db_fixture.StatementCounter(self.db.engine))
