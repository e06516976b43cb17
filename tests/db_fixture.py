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


"""A fresh, migrated SQLite database that vmstate.db.api uses, per test.

Usage::

    from tests import db_fixture

    class MyTest(base.TestCase):
        def setUp(self):
            super().setUp()
            self.db = self.useFixture(db_fixture.Database())

Every call to :mod:`vmstate.db.api` (and to :mod:`vmstate.lifecycle`)
inside the test then goes to a new SQLite file holding the head schema;
``[database] connection`` points at it too, so code that reads the option
(a service started in-process, ``vmstate-manage``) agrees. The schema is
built once per test process by the real migrations and copied for each
test, which costs about a millisecond.
"""

import atexit
import os
import shutil
import tempfile
import threading

import fixtures
from oslo_db.sqlalchemy import test_fixtures

from vmstate.conf import CONF
from vmstate.db import engine as db_engine
from vmstate.db import migration

_template_lock = threading.Lock()
_template: str | None = None


def _template_path() -> str:
    """A migrated SQLite file, made once per process."""
    global _template
    with _template_lock:
        if _template is None:
            directory = tempfile.mkdtemp(prefix="vmstate-schema-")
            atexit.register(shutil.rmtree, directory, True)
            path = os.path.join(directory, "template.sqlite")
            facade = db_engine.main.make_new_manager()
            facade.configure(connection="sqlite:///" + path)
            try:
                migration.upgrade(engine=facade.writer.get_engine())
            finally:
                # Closing the last connection folds the WAL into the
                # file, so a plain copy is complete.
                facade.dispose_pool()
            _template = path
        return _template


class Database(fixtures.Fixture):
    """A new SQLite file with vmstate's schema, plugged into vmstate.db.

    Attributes once set up: ``url`` (the SQLAlchemy URL), ``path`` and
    ``engine`` (the engine vmstate.db uses, for counting statements or
    looking at rows directly).
    """

    def _setUp(self) -> None:
        directory = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(directory, "vmstate.sqlite")
        shutil.copyfile(_template_path(), self.path)
        self.url = "sqlite:///" + self.path
        facade = db_engine.main.make_new_manager()
        facade.configure(connection=self.url)
        self.useFixture(test_fixtures.ReplaceEngineFacadeFixture(
            db_engine.main, facade))
        self.addCleanup(facade.dispose_pool)
        CONF.set_override("connection", self.url, group="database")
        self.addCleanup(CONF.clear_override, "connection", group="database")
        self.engine = facade.writer.get_engine()
