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

"""Every command's ``--help`` says what it does and where its
configuration is read from."""

import io
import re

import fixtures

from tests import base
from vmstate.cmd import api
from vmstate.cmd import fake_compute
from vmstate.cmd import manage
from vmstate.cmd import status
from vmstate.conf import CONF

CONFIG = "Configuration: the files named by --config-file"


class TestHelp(base.TestCase):

    def help(self, main, *argv):
        out = self.useFixture(fixtures.MonkeyPatch(
            "sys.stdout", io.StringIO())).new_value
        CONF.clear()
        try:
            err = self.assertRaises(SystemExit, main, [*argv, "--help"])
        finally:
            CONF.reset()
        self.assertEqual(0, err.code)
        return " ".join(out.getvalue().split())

    def test_services(self):
        for main, name, words in (
                (api.main, "vmstate-api", "serve vmstate's REST API"),
                (fake_compute.main, "vmstate-fake-compute",
                 "Nova-compatible compute API"),
                (status.main, "vmstate-status", "upgrade check")):
            text = self.help(main)
            self.assertIn(words, text, name)
            self.assertIn(CONFIG, text, name)
            self.assertIn("/etc/vmstate/", text, name)
            self.assertIn("%s.conf" % name, text, name)

    def test_fake_compute_says_how_to_set_its_port(self):
        self.assertIn("set 'port' in the [fake_compute] section",
                      self.help(fake_compute.main))

    def test_every_manage_category_and_command(self):
        manage.load_commands()
        top = self.help(manage.main)
        self.assertIn(CONFIG, top)
        for category, commands in manage.CATEGORIES.items():
            # Listed with a sentence of its own at the top.
            listed = re.search(r"%s ([A-Z][^{}]*?\.)" % re.escape(category),
                               top.split("Command categories:", 1)[1])
            self.assertIsNotNone(listed, category)
            text = self.help(manage.main, category)
            self.assertIn(CONFIG, text, category)
            for name, (func, _) in commands.items():
                if name is None:
                    continue
                self.assertIn(name, text, (category, name))
                own = self.help(manage.main, category, name)
                self.assertIn(CONFIG, own, (category, name))
                # The whole docstring, not a line cut mid-sentence.
                summary = " ".join(func.__doc__.split("\n\n")[0].split())
                self.assertTrue(summary.endswith("."), (category, name))
                self.assertIn(summary.replace("``", "'"), own,
                              (category, name))

    def test_wait_is_not_cut(self):
        text = self.help(manage.main, "wait")
        self.assertIn("Exit status: 0 every awaited vm_state was reached "
                      "in order, 1", text)
        self.assertIn("2 the timeout passed.", text)
