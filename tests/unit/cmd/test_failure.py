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

"""The one failure path of the commands: the line, the exit status, and
the tracebacks held back while a command starts."""

import io
import logging

import fixtures
from oslo_db import exception as db_exc

from tests import base
from vmstate.cmd import failure

LOG = logging.getLogger("oslo_db.api")


def _unreachable():
    return db_exc.DBConnectionError(OSError(
        "connection to server at \"127.0.0.1\", port 1 failed: "
        "Connection refused"))


def _log_then_raise():
    # What oslo.db's retry decorator does when it gives up.
    try:
        raise _unreachable()
    except db_exc.DBError:
        LOG.exception("DB exceeded retry limit.")
        raise


class TestRun(base.TestCase):

    def setUp(self):
        super().setUp()
        # The command's log on stderr, as a console script has it.
        self.log = io.StringIO()
        handler = logging.StreamHandler(self.log)
        root = logging.getLogger()
        root.addHandler(handler)
        self.addCleanup(root.removeHandler, handler)
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch("sys.stderr", self.stderr))

    def test_an_operator_error_is_one_line_and_its_traceback_held(self):
        self.assertEqual(1, failure.run("vmstate-manage", _log_then_raise))
        self.assertEqual(
            "vmstate-manage: database error ([database] connection): "
            "connection to server at \"127.0.0.1\", port 1 failed: "
            "Connection refused\n", self.stderr.getvalue())
        self.assertEqual("", self.log.getvalue())

    def test_the_status_is_the_commands(self):
        self.assertEqual(2, failure.run("vmstate-status", _log_then_raise,
                                        code=2))

    def test_handled_errors_are_logged_in_one_line_at_the_end(self):
        def handled():
            try:
                _log_then_raise()
            except db_exc.DBError:
                return 0
            return 3

        self.assertEqual(0, failure.run("vmstate-manage", handled))
        self.assertEqual("", self.stderr.getvalue())
        self.assertEqual(
            "DB exceeded retry limit. (database error ([database] "
            "connection): connection to server at \"127.0.0.1\", port 1 "
            "failed: Connection refused)\n", self.log.getvalue())

    def test_once_started_errors_keep_their_traceback(self):
        def serving():
            failure.started()
            try:
                _log_then_raise()
            except db_exc.DBError:
                return 0
            return 3

        self.assertEqual(0, failure.run("vmstate-api", serving))
        self.assertIn("DB exceeded retry limit.\nTraceback",
                      self.log.getvalue())

    def test_a_bug_shows_its_traceback(self):
        def bug():
            LOG.warning("before the bug")
            raise KeyError("bug")

        self.assertRaises(KeyError, failure.run, "vmstate-api", bug)
        self.assertEqual("before the bug\n", self.log.getvalue())

    def test_handlers_set_up_during_the_start_hold_back_too(self):
        later = io.StringIO()
        handler = logging.StreamHandler(later)

        def configure_then_fail():
            # A command's logging setup replaces the handlers.
            logging.getLogger().addHandler(handler)
            self.addCleanup(logging.getLogger().removeHandler, handler)
            failure.configured(self.config_fixture.conf)
            _log_then_raise()

        self.assertEqual(1, failure.run("vmstate-api", configure_then_fail))
        self.assertEqual("", later.getvalue())
        self.assertEqual([], handler.filters)
