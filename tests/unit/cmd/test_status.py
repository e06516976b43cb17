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

"""``vmstate-status upgrade check``: the checks that need no server."""

import io
import os

import fixtures

from tests import base
from tests import db_fixture
from tests.functional.db import test_status

SUCCESS, WARNING, FAILURE = 0, 1, 2


class TestChecks(test_status.StatusMixin, base.TestCase):

    def setUp(self):
        super().setUp()
        self.url = self.useFixture(db_fixture.Database()).url
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def policy_file(self, text, name="policy.yaml"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_all_pass(self):
        code, results = self.status()
        self.assertEqual(SUCCESS, code, results)
        self.assertEqual(
            (SUCCESS, "Plugins nova: 37 actions, 12 vm_states, "
                      "42 task_states."), results["Matrix plugins"])
        self.assertEqual(
            (SUCCESS, "No policy file: the defaults in code apply."),
            results["Policy file"])

    def test_unknown_matrix_plugin(self):
        code, results = self.status(matrix={"plugins": "nova,nosuch"})
        self.assertEqual(FAILURE, code)
        result, details = results["Matrix plugins"]
        self.assertEqual(FAILURE, result)
        self.assertIn("nosuch", details)

    def test_timeouts_that_do_not_fit_the_matrix(self):
        code, results = self.status(
            lifecycle={"task_timeouts": "no_such_task:30"})
        self.assertEqual(FAILURE, code)
        result, details = results["Matrix plugins"]
        self.assertEqual(FAILURE, result)
        self.assertIn("no_such_task", details)

    def test_valid_policy_file(self):
        path = self.policy_file('"vmstate:instance:get": "role:admin"\n')
        code, results = self.status(oslo_policy={"policy_file": path})
        self.assertEqual(SUCCESS, code, results)
        self.assertEqual((SUCCESS, "Policy file %s is valid." % path),
                         results["Policy file"])

    def test_policy_file_that_does_not_parse(self):
        path = self.policy_file('"vmstate:instance:get": [unclosed\n')
        code, results = self.status(oslo_policy={"policy_file": path})
        self.assertEqual(FAILURE, code)
        self.assertEqual(FAILURE, results["Policy file"][0])
        self.assertIn("does not load", results["Policy file"][1])

    def test_policy_naming_an_undefined_rule(self):
        path = self.policy_file(
            '"vmstate:instance:get": "rule:no_such_rule"\n')
        code, results = self.status(oslo_policy={"policy_file": path})
        self.assertEqual(FAILURE, code)
        self.assertIn("undefined rules", results["Policy file"][1])

    def test_policy_overriding_an_unknown_rule(self):
        path = self.policy_file('"vmstate:instance:gett": "role:admin"\n')
        code, results = self.status(oslo_policy={"policy_file": path})
        self.assertEqual(WARNING, code)
        self.assertEqual(
            (WARNING, "The policy file overrides rules vmstate does not "
                      "have: vmstate:instance:gett."),
            results["Policy file"])

    def test_json_policy_file(self):
        path = self.policy_file('{"vmstate:instance:get": "role:admin"}',
                                "policy.json")
        code, results = self.status(oslo_policy={"policy_file": path})
        self.assertEqual(FAILURE, code)
        self.assertEqual(FAILURE, results["Policy file format"][0])

    def test_unknown_event_bus_driver(self):
        code, results = self.status(events={"driver": "carrier_pigeon"})
        self.assertEqual(FAILURE, code)
        self.assertIn("carrier_pigeon", results["Event bus"][1])

    def test_postgresql_event_bus_on_sqlite(self):
        code, results = self.status(events={"driver": "postgresql"})
        self.assertEqual(FAILURE, code)
        self.assertEqual(FAILURE, results["Event bus"][0])

    def test_table_and_help(self):
        from vmstate.cmd import status
        out = self.useFixture(fixtures.MonkeyPatch(
            "sys.stdout", io.StringIO())).new_value
        self.assertEqual(0, status.main(
            ["--config-file", self.policy_file(
                "[database]\nconnection = %s\n" % self.url, "v.conf"),
             "upgrade", "check"]))
        self.assertIn("| Check: Database schema", out.getvalue())
        out.truncate(0)
        self.assertRaises(SystemExit, status.main, ["--help"])
        self.assertIn("Exit status: 0 every check passed", out.getvalue())
        self.assertIn("/etc/vmstate/", out.getvalue())
