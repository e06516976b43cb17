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

"""``vmstate-manage lifecycle sweep``, ``timeouts`` and ``show``,
in-process (the real command against a killed worker runs in
tests.functional.db.test_lifecycle)."""

import io
import os

import fixtures

from tests import lifecycle_fixtures
from tests.unit.db import base
from vmstate import lifecycle
from vmstate.cmd import manage
from vmstate.db import api


class TestManageLifecycle(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = self.useFixture(lifecycle_fixtures.Clock())
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def manage(self, *args, timeouts="rebooting:60:clear:2"):
        config = os.path.join(self.tmp, "vmstate.conf")
        with open(config, "w") as f:
            f.write("[database]\nconnection = %s\n[lifecycle]\n"
                    "task_timeouts = %s\n" % (self.db.url, timeouts))
        out, err = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.MonkeyPatch("sys.stdout", out))
        self.useFixture(fixtures.MonkeyPatch("sys.stderr", err))
        code = manage.main(["--config-file", config, *args])
        return code, out.getvalue(), err.getvalue()

    def test_sweep_once(self):
        uuid = self.create()["uuid"]
        lifecycle.begin(self.ctx, uuid, "reboot")
        code, out, _ = self.manage("lifecycle", "sweep", "--once")
        self.assertEqual((0, "sweep: fired 0 (-), lost 0, failed 0, queued "
                             "actions started 0\n"), (code, out))
        self.clock.advance(61)
        code, out, _ = self.manage("lifecycle", "sweep", "--once")
        self.assertEqual(0, code)
        self.assertIn("fired 1 (clear 1)", out)
        self.assertIsNone(api.instance_get(self.admin, uuid)["task_state"])

    def test_timeouts(self):
        code, out, _ = self.manage("lifecycle", "timeouts")
        self.assertEqual(0, code)
        self.assertEqual(["task_state  seconds  reaction  max_failures  "
                          "source",
                          "rebooting   60       clear     2             "
                          "config"], out.splitlines())
        code, out, _ = self.manage("lifecycle", "timeouts", timeouts="")
        self.assertIn("no task_state has a timeout", out)

    def test_bad_configuration(self):
        code, _, err = self.manage("lifecycle", "timeouts",
                                   timeouts="rebooting:soon")
        self.assertEqual(1, code)
        self.assertIn("configuration error", err)
        self.assertIn("'soon' is not a number of seconds", err)
        code, _, err = self.manage("lifecycle", "sweep", "--once",
                                   timeouts="rebootin:60")
        self.assertEqual(1, code)
        self.assertIn("task_state(s) the matrix does not know: rebootin",
                      err)

    def test_show(self):
        uuid = self.create()["uuid"]
        lifecycle.begin(self.ctx, uuid, "reboot")
        self.clock.advance(61)
        self.manage("lifecycle", "sweep", "--once")
        lifecycle.begin(self.ctx, uuid, "reboot")
        lifecycle.request(self.ctx, uuid, "stop", queue=True, reason="night")
        code, out, _ = self.manage("lifecycle", "show", uuid)
        self.assertEqual(0, code)
        lines = out.splitlines()
        self.assertIn("vm_state active, task_state rebooting", lines[0])
        self.assertRegex(lines[1], r"^task \S+ \(reboot\) started ")
        self.assertTrue(lines[2].startswith("fault: TaskTimeout: "))
        self.assertRegex(lines[3], r"^failures of rebooting: 1 in a row "
                                   r"\(last reboot, ")
        self.assertRegex(lines[4], r"^queued 1: stop by u1 at .*: night$")
        code, _, err = self.manage("lifecycle", "show",
                                   "7c3d0f50-0000-4000-8000-000000000000")
        self.assertEqual(1, code)
        self.assertIn("could not be found", err)
