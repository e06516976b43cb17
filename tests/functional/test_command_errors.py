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
names the option, file or address, and exit status 1 (2 for
``vmstate-status``, whose 1 means "warnings").

The table runs each command's ``main`` in this process (logging set up by
the test, not the command); the installed console scripts run in
processes of their own, as an operator would, with their own logging:
there no library's logged traceback may reach stderr either (oslo.db logs
one before it gives up on a database).
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
from vmstate.cmd import status
from vmstate.conf import CONF
from vmstate.db import connections

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
    (UNREACHABLE_DB, ["[database] connection", "Connection refused",
                      "127.0.0.1"]),
]
API_ONLY = [
    ("[api]\nhost = 192.0.2.1\n", ["noauth_allow_remote", "192.0.2.1"]),
    ("[api]\nthreads = 16\nmax_waits = 16\n", ["[api] max_waits"]),
]
FAKE_ONLY = [
    ("[fake_compute]\nthreads = many\n", ["[fake_compute] threads"]),
]
#: Every vmstate-manage command that reads the database or the
#: configuration, with its arguments.
MANAGE_COMMANDS = [
    ["db", "version"],
    ["db", "sync"],
    ["db", "purge", "--before", "2026-01-01"],
    ["lifecycle", "sweep", "--once"],
    ["lifecycle", "show", "4b6a8c1e-0000-4000-8000-000000000000"],
    ["wait", "4b6a8c1e-0000-4000-8000-000000000000", "--for", "active",
     "--timeout", "5"],
]
#: What vmstate-status must refuse in one line: the configuration itself
#: (a database it cannot reach is a failed check: its table, exit 2).
STATUS_CASES = [case for case in COMMON if case[0] is None or (
    "[database]" not in case[0])]


class TestOneLine(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        # The commands' own logging setup would replace the test's.
        self.useFixture(fixtures.MockPatch("vmstate.conf.log.setup"))

    def config(self, text):
        if text is None:
            return os.path.join(self.tmp, "missing.conf")
        path = os.path.join(self.tmp, "vmstate.conf")
        with open(path, "w") as f:
            f.write("[DEFAULT]\nstate_path = %s\n%s" % (
                self.tmp, text))
        return path

    def run_main(self, main, *args):
        out, err = io.StringIO(), io.StringIO()
        # A fresh process has not parsed its configuration yet.
        CONF.clear()
        # Nor started its database engine.
        fresh = test_fixtures.ReplaceEngineFacadeFixture(
            connections.main, connections.main.make_new_manager())
        with fixtures.MonkeyPatch("sys.stdout", out), \
                fixtures.MonkeyPatch("sys.stderr", err), fresh:
            code = main(list(args))
        return code, err.getvalue()

    def check(self, main, cases, *extra, status=1):
        wrong = []
        for text, words in cases:
            code, err = self.run_main(
                main, "--config-file", self.config(text), *extra)
            lines = err.splitlines()
            if (code != status or len(lines) != 1
                    or not all(w in err for w in words)
                    or "Traceback" in err):
                wrong.append((text, code, err))
        self.assertEqual([], wrong)

    def test_vmstate_api(self):
        self.check(api_cmd.main, COMMON + API_ONLY)

    def test_vmstate_fake_compute(self):
        self.check(fake_compute.main, COMMON + FAKE_ONLY)

    def test_vmstate_manage(self):
        # Every command reads its configuration and its database the
        # same way.
        for command in MANAGE_COMMANDS:
            self.check(manage.main, COMMON, *command)

    def test_vmstate_status(self):
        self.check(status.main, STATUS_CASES, "upgrade", "check", status=2)


class TestConsoleScripts(base.TestCase):
    """The installed commands, in a process of their own."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def run_script(self, text, command, status=1):
        """stderr of ``command`` run with the configuration ``text``,
        after checking its exit status, that stderr is one line and that
        it has no traceback."""
        path = os.path.join(self.tmp, "vmstate.conf")
        with open(path, "w") as f:
            f.write("[DEFAULT]\nstate_path = %s\n%s" % (self.tmp, text))
        done = subprocess.run(
            [shutil.which(command[0]), "--config-file", path, *command[1:]],
            capture_output=True, text=True, timeout=120, cwd=self.tmp)
        detail = "%s: %s" % (" ".join(command), done.stderr)
        self.assertEqual(status, done.returncode, detail)
        self.assertEqual(1, len(done.stderr.splitlines()), detail)
        self.assertNotIn("Traceback", done.stderr, detail)
        return done.stderr

    def test_one_line_each(self):
        for command in (["vmstate-api"], ["vmstate-fake-compute"],
                        ["vmstate-manage", "db", "version"]):
            err = self.run_script("[api]\nport = abc\n"
                                  "[fake_compute]\nport = abc\n", command)
            self.assertIn("port", err)
        err = self.run_script("[api]\nport = abc\n",
                              ["vmstate-status", "upgrade", "check"],
                              status=2)
        self.assertIn("[api] port", err)

    def test_unreachable_database(self):
        # oslo.db logs "DB exceeded retry limit." with three chained
        # tracebacks before it raises: held back, the one line says it.
        for command in (["vmstate-api"], ["vmstate-fake-compute"],
                        ["vmstate-manage", "db", "version"],
                        ["vmstate-manage", "lifecycle", "sweep", "--once"],
                        ["vmstate-manage", "lifecycle", "show",
                         "4b6a8c1e-0000-4000-8000-000000000000"],
                        ["vmstate-manage", "wait",
                         "4b6a8c1e-0000-4000-8000-000000000000", "--for",
                         "active", "--timeout", "5"]):
            err = self.run_script(UNREACHABLE_DB, command)
            self.assertIn("[database] connection", err)
            self.assertIn("Connection refused", err)

    def test_status_reports_an_unreachable_database_as_a_check(self):
        path = os.path.join(self.tmp, "vmstate.conf")
        with open(path, "w") as f:
            f.write("[DEFAULT]\nstate_path = %s\n%s" % (self.tmp,
                                                         UNREACHABLE_DB))
        done = subprocess.run(
            [shutil.which("vmstate-status"), "--config-file", path,
             "upgrade", "check", "--json"], capture_output=True, text=True,
            timeout=120, cwd=self.tmp)
        self.assertEqual(2, done.returncode, done.stderr)
        self.assertNotIn("Traceback", done.stderr)
        self.assertIn("Cannot read the schema revision of [database] "
                      "connection", done.stdout)

    def test_address_in_use(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        port = busy.getsockname()[1]
        for command, section in ((["vmstate-api"], "api"),
                                 (["vmstate-fake-compute"], "fake_compute")):
            err = self.run_script("[%s]\nport = %d\n" % (section, port),
                                  command)
            self.assertIn("cannot listen on 127.0.0.1:%d" % port, err)
