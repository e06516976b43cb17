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

"""Every command, every kind of bad configuration: one line on stderr that
names the option, file or address, and exit status 1.

The table runs each command's ``main`` in this process (logging set up by
the test, not the command); one case per command also runs the installed
console script, as an operator would.
"""

import io
import os
import shutil
import socket
import subprocess

import fixtures
from oslo_db.sqlalchemy import test_fixtures

from tests import base
from vmstate.cmd import api as api_cmd
from vmstate.cmd import fake_compute
from vmstate.cmd import manage
from vmstate.conf import CONF
from vmstate.db import engine as db_engine

UNREACHABLE_DB = ("[database]\nconnection = postgresql+psycopg2://u:p@"
                  "127.0.0.1:1/x\nmax_retries = 0\n")

#: (config text or None for a missing file, words stderr must contain).
COMMON = [
    ("[api]\nport = abc\n", ["[api] port", "vmstate.conf"]),
    ("[api]\nauth_strategy = Keystone\n", ["[api] auth_strategy"]),
    ("[api\nport = 1\n", ["vmstate.conf", "Invalid section"]),
    (None, ["not found", "missing.conf"]),
    ("[database]\nconnection = nonsense\n", ["[database] connection"]),
    ("[database]\nconnection = postgresql://u:p@127.0.0.1:1/x\n",
     ["psycopg"]),
]
API_ONLY = [
    ("[api]\nhost = 192.0.2.1\n", ["noauth_allow_remote", "192.0.2.1"]),
    ("[api]\nthreads = 16\nmax_waits = 16\n", ["[api] max_waits"]),
]
FAKE_ONLY = [
    ("[fake_compute]\nthreads = many\n", ["[fake_compute] threads"]),
]


class TestOneLine(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        # The commands' own logging setup would replace the test's.
        self.useFixture(fixtures.MockPatch("vmstate.conf.log.setup"))
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        self.busy = busy.getsockname()[1]

    def config(self, text):
        if text is None:
            return os.path.join(self.tmp, "missing.conf")
        path = os.path.join(self.tmp, "vmstate.conf")
        with open(path, "w") as f:
            f.write("[DEFAULT]\nstate_path = %s\n%s" % (
                self.tmp, text.format(busy=self.busy)))
        return path

    def run_main(self, main, *args):
        out, err = io.StringIO(), io.StringIO()
        # A fresh process has not parsed its configuration yet.
        CONF.clear()
        # Nor started its database engine.
        fresh = test_fixtures.ReplaceEngineFacadeFixture(
            db_engine.main, db_engine.main.make_new_manager())
        with fixtures.MonkeyPatch("sys.stdout", out), \
                fixtures.MonkeyPatch("sys.stderr", err), fresh:
            code = main(list(args))
        return code, err.getvalue()

    def check(self, main, cases, *extra):
        wrong = []
        for text, words in cases:
            code, err = self.run_main(
                main, "--config-file", self.config(text), *extra)
            words = [w.format(busy=self.busy) for w in words]
            lines = err.splitlines()
            if (code != 1 or len(lines) != 1
                    or not all(w in err for w in words)
                    or "Traceback" in err):
                wrong.append((text, code, err))
        self.assertEqual([], wrong)

    def test_vmstate_api(self):
        self.check(api_cmd.main, COMMON + API_ONLY)

    def test_vmstate_fake_compute(self):
        self.check(fake_compute.main, COMMON + FAKE_ONLY)

    def test_vmstate_manage(self):
        # Every command reads its configuration the same way.
        for command in (["db", "version"], ["db", "purge", "--before",
                                            "2026-01-01"]):
            self.check(manage.main, COMMON, *command)


class TestConsoleScripts(base.TestCase):
    """The installed commands, in a process of their own."""

    def test_one_line_each(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, "vmstate.conf")
        with open(path, "w") as f:
            f.write("[DEFAULT]\nstate_path = %s\n[api]\nport = abc\n"
                    "[fake_compute]\nport = abc\n" % tmp)
        for command in (["vmstate-api"], ["vmstate-fake-compute"],
                        ["vmstate-manage", "db", "version"]):
            done = subprocess.run(
                [shutil.which(command[0]), "--config-file", path,
                 *command[1:]], capture_output=True, text=True,
                timeout=120, cwd=tmp)
            self.assertEqual(1, done.returncode, done.stderr)
            self.assertEqual(1, len(done.stderr.splitlines()), done.stderr)
            self.assertIn("port", done.stderr)
