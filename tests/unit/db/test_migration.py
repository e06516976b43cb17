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


"""Migrations on SQLite: db sync and version, and schema creation on start.

PostgreSQL and MariaDB run the same migrations in tests.functional.db.
"""

import os
import subprocess
import sys
import textwrap
import time

import fixtures

from tests import base as tests_base
from tests.unit.db import base
from vmstate.db import migration

# Several processes create the same new SQLite database at once.
_ENSURE = textwrap.dedent("""
    import sys, time
    from vmstate.db import connections, migration
    connections.main.configure(connection=sys.argv[1])
    time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
    print(migration.ensure_schema())
""")


# vmstate-manage, with this interpreter.
_MANAGE = "import sys; from vmstate.cmd import manage; sys.exit(manage.main())"


def _manage(config, *args):
    return subprocess.run(
        [sys.executable, "-c", _MANAGE, "--config-file", config, *args],
        capture_output=True, text=True, timeout=60)


class TestHead(base.TestCase):

    def test_the_fixture_database_is_at_head(self):
        self.assertEqual(migration.head(), migration.version())
        self.assertFalse(migration.ensure_schema())


class TestCommands(tests_base.TestCase):

    def test_sync_creates_the_embedded_database(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        state_path = os.path.join(tmp, "not", "yet")
        config = os.path.join(tmp, "vmstate.conf")
        with open(config, "w") as f:
            f.write("[DEFAULT]\nstate_path = %s\n" % state_path)
        result = _manage(config, "db", "version")
        self.assertEqual(("None\n", 0), (result.stdout, result.returncode),
                         result.stderr)
        result = _manage(config, "db", "sync")
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn(migration.head(), result.stdout)
        self.assertTrue(os.path.isfile(os.path.join(state_path,
                                                    "vmstate.sqlite")))
        result = _manage(config, "db", "version")
        self.assertEqual(migration.head() + "\n", result.stdout)

    def test_unreachable_database(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        config = os.path.join(tmp, "vmstate.conf")
        with open(config, "w") as f:
            f.write("[database]\nconnection = postgresql+psycopg2://"
                    "nobody:x@127.0.0.1:1/nothing\nmax_retries = 1\n")
        result = _manage(config, "db", "sync")
        self.assertEqual(1, result.returncode)
        self.assertIn("database error", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


class TestEnsureSchema(tests_base.TestCase):

    def test_processes_starting_together(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        # The directory does not exist yet either.
        url = "sqlite:///" + os.path.join(tmp, "new", "vmstate.sqlite")
        start = str(time.time() + 2.0)
        procs = [subprocess.Popen([sys.executable, "-c", _ENSURE, url,
                                   start], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        outputs = [p.communicate(timeout=60) for p in procs]
        for proc, (_, err) in zip(procs, outputs, strict=True):
            self.assertEqual(0, proc.returncode, err)
        self.assertEqual(["False", "False", "True"],
                         sorted(out.strip() for out, _ in outputs))
