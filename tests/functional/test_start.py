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

"""Every serving command starts the same way, and refuses the same way."""

import os
import shutil
import subprocess

import fixtures

from tests.functional.db import base
from vmstate.db import migration

COMMANDS = ("vmstate-api", "vmstate-fake-compute")


class _Start:

    def start(self, command, conf):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, "vmstate.conf")
        with open(path, "w") as f:
            f.write("[DEFAULT]\nstate_path = %s\n[api]\nport = 0\n"
                    "[fake_compute]\nport = 0\n%s" % (tmp, conf))
        return subprocess.run([shutil.which(command), "--config-file",
                               path], cwd=tmp, capture_output=True,
                              text=True, timeout=60)


class TestRefusals(_Start, base.TestCase):
    FIXTURE = base.PostgreSQLEmpty

    def test_schema_behind_on_a_shared_database(self):
        for command in COMMANDS:
            result = self.start(command, "[database]\nconnection = %s\n"
                                % self.url)
            self.assertEqual(1, result.returncode, result.stdout)
            self.assertIn("run 'vmstate-manage db sync' first",
                          result.stderr)
            self.assertIn(migration.head(), result.stderr)
        self.assertIsNone(migration.version(self.engine))

    def test_bad_event_bus(self):
        for command in COMMANDS:
            result = self.start(command, "[events]\ndriver = pigeon\n")
            self.assertEqual(1, result.returncode, result.stdout)
            self.assertIn("pigeon", result.stderr)
