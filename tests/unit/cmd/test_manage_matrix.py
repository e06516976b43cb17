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

"""``vmstate-manage matrix show`` and ``matrix check``.

In-process through :func:`vmstate.cmd.manage.main`, and through the
installed console script run from elsewhere, as an operator would.
"""

import io
import json
import os
import subprocess
import sysconfig

import fixtures

from tests import base
from tests.unit.matrix import distribution
from vmstate import lifecycle
from vmstate import matrix
from vmstate.cmd import manage
from vmstate.conf import CONF
from vmstate.matrix import render


class ManageTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def config_file(self, plugins):
        path = os.path.join(self.tmp, "vmstate-%d.conf" % len(plugins))
        with open(path, "w") as f:
            f.write("[matrix]\nplugins = %s\n" % ",".join(plugins))
        return path

    def manage(self, plugins, *argv):
        """Run vmstate-manage in-process: (exit code, stdout, stderr)."""
        out = self.useFixture(fixtures.MonkeyPatch("sys.stdout",
                                                   io.StringIO())).new_value
        err = self.useFixture(fixtures.MonkeyPatch("sys.stderr",
                                                   io.StringIO())).new_value
        # main() is a process's entry point: it parses the command line
        # into a configuration nobody has parsed yet.
        CONF.clear()
        code = manage.main(["--config-file", self.config_file(plugins),
                            *argv])
        return code, out.getvalue(), err.getvalue()


class TestShow(ManageTestCase):

    def test_table_is_the_default(self):
        code, out, err = self.manage(["nova"], "matrix", "show")
        self.assertEqual((0, ""), (code, err))
        self.assertEqual(render.as_table(matrix.load(["nova"])) + "\n", out)

    def test_formats(self):
        m = matrix.load(["nova", "blueprint"])
        for fmt in ("table", "json", "dot"):
            code, out, err = self.manage(["nova", "blueprint"], "matrix",
                                         "show", "--format", fmt)
            self.assertEqual((0, ""), (code, err), fmt)
            options = {"creation": lifecycle.BUILD} if fmt == "dot" else {}
            self.assertEqual(render.render(m, fmt, **options) + "\n", out,
                             fmt)

    def test_json_follows_the_configuration(self):
        code, out, _ = self.manage(["blueprint"], "matrix", "show",
                                   "--format", "json")
        self.assertEqual(0, code)
        shown = json.loads(out)
        self.assertEqual(["blueprint"], shown["plugins"])
        self.assertIn("terminate", shown["actions"])
        self.assertEqual(matrix.load(["blueprint"]).as_dict(), shown)

    def test_dot(self):
        code, out, _ = self.manage(["nova"], "matrix", "show", "--format",
                                   "dot")
        self.assertEqual(0, code)
        self.assertTrue(out.startswith("digraph vmstate {"))
        self.assertIn('"active" -> "paused" [label="pause"];', out)
        # A new instance enters at building; its build completes active.
        self.assertIn('"building" -> "active" [label="create", style=bold];',
                      out)

    def test_unknown_format(self):
        self.useFixture(fixtures.MonkeyPatch("sys.stderr", io.StringIO()))
        CONF.clear()
        err = self.assertRaises(SystemExit, manage.main,
                                ["--config-file", self.config_file(["nova"]),
                                 "matrix", "show", "--format", "svg"])
        self.assertEqual(2, err.code)

    def test_bad_configuration(self):
        code, out, err = self.manage(["nova", "nope"], "matrix", "show")
        self.assertEqual(1, code)
        self.assertEqual("", out)
        self.assertIn("unknown matrix plugin(s): nope", err)


class TestCheck(ManageTestCase):

    def test_ok(self):
        code, out, err = self.manage(["nova"], "matrix", "check")
        self.assertEqual(0, code)
        self.assertEqual("", err)
        self.assertEqual("matrix OK: plugins nova: 37 actions, 12 "
                         "vm_states, 42 task_states\n", out)

    def test_ok_with_several_plugins(self):
        code, out, _ = self.manage(["nova", "blueprint"], "matrix", "check")
        m = matrix.load(["nova", "blueprint"])
        self.assertEqual(0, code)
        self.assertEqual(
            "matrix OK: plugins nova, blueprint: %d actions, %d vm_states, "
            "%d task_states\n" % (len(m.actions), len(m.vm_states),
                                  len(m.task_states)), out)

    def test_unknown_plugin(self):
        code, out, err = self.manage(["nova", "nope"], "matrix", "check")
        self.assertEqual(1, code)
        self.assertEqual("", out)
        self.assertEqual(
            "vmstate-manage: unknown matrix plugin(s): nope; installed: "
            "%s\n" % ", ".join(matrix.installed_plugins()), err)

    def test_duplicated_plugin(self):
        code, _, err = self.manage(["nova", "nova"], "matrix", "check")
        self.assertEqual(1, code)
        self.assertIn("named more than once: nova", err)

    def test_installed_plugin_with_a_mistake(self):
        self.useFixture(distribution.PluginDistribution({
            "site": "def configure(builder):\n"
                    "    builder.deny('resize', 'stoped')\n"}))
        code, out, err = self.manage(["nova", "site"], "matrix", "check")
        self.assertEqual(1, code)
        self.assertEqual("", out)
        self.assertIn("matrix plugin 'site': deny('resize') vm_states "
                      "names unknown vm_state 'stoped'", err)

    def test_installed_plugin_that_is_fine(self):
        self.useFixture(distribution.PluginDistribution({
            "site": "def configure(builder):\n"
                    "    builder.deny('resize', 'stopped')\n"}))
        code, out, _ = self.manage(["nova", "site"], "matrix", "check")
        self.assertEqual(0, code)
        self.assertTrue(out.startswith("matrix OK: plugins nova, site: "))

    def test_runs_twice_in_one_process(self):
        # main() leaves the global configuration as it found it.
        self.assertEqual(1, self.manage(["nope"], "matrix", "check")[0])
        self.assertEqual(0, self.manage(["nova"], "matrix", "check")[0])


class TestConsoleScript(ManageTestCase):
    """The installed ``vmstate-manage``, run from an unrelated directory."""

    def run_script(self, *argv):
        script = os.path.join(sysconfig.get_path("scripts"),
                              "vmstate-manage")
        cwd = self.useFixture(fixtures.TempDir()).path
        return subprocess.run([script, *argv], cwd=cwd, capture_output=True,
                              text=True, timeout=60, check=False)

    def test_check_unknown_plugin(self):
        result = self.run_script("--config-file",
                                 self.config_file(["nova", "nope"]),
                                 "matrix", "check")
        self.assertNotEqual(0, result.returncode)
        self.assertEqual("", result.stdout)
        self.assertIn("vmstate-manage: unknown matrix plugin(s): nope; "
                      "installed: ", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_check_and_show(self):
        conf = self.config_file(["nova"])
        result = self.run_script("--config-file", conf, "matrix", "check")
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertTrue(result.stdout.startswith("matrix OK: plugins nova:"))
        result = self.run_script("--config-file", conf, "matrix", "show",
                                 "--format", "json")
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(matrix.load(["nova"]).as_dict(),
                         json.loads(result.stdout))
