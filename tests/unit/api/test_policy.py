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

"""The enforcer, the rules' shape, and oslopolicy's tools on vmstate."""

import os
import subprocess
import sys
import threading
import time

import fixtures
from oslo_policy import policy as oslo_policy

from tests import base
from tests import concurrency
from vmstate import context as vm_context
from vmstate import exception
from vmstate.api import policies
from vmstate.api import policy


def ctx(project="p1", roles=("member", "reader")):
    return vm_context.RequestContext(project_id=project, user_id="u",
                                     roles=list(roles), overwrite=False)


class TestRules(base.TestCase):

    def test_every_operation_rule_is_project_scoped_and_documented(self):
        for rule in policies.instance_rules:
            self.assertIsInstance(rule, oslo_policy.DocumentedRuleDefault)
            self.assertEqual(["project"], rule.scope_types, rule.name)
            self.assertTrue(rule.operations, rule.name)

    def test_changed_defaults_keep_their_old_rule_deprecated(self):
        changed = [r for r in policies.instance_rules
                   if r.deprecated_rule is not None]
        self.assertIn("vmstate:instance:action", [r.name for r in changed])
        for rule in changed:
            self.assertEqual(rule.name, rule.deprecated_rule.name)
            self.assertNotEqual(rule.check_str,
                                rule.deprecated_rule.check_str)

    def test_owner_is_the_target_not_the_caller(self):
        policy.reset()
        self.addCleanup(policy.reset)
        member_of_p1 = ctx("p1")
        policy.authorize("vmstate:instance:action", member_of_p1,
                         {"project_id": "p1"})
        self.assertRaises(exception.Forbidden, policy.authorize,
                          "vmstate:instance:action", member_of_p1,
                          {"project_id": "p2"})

    def test_no_default_target(self):
        # A caller's own project is never assumed: the target is required.
        self.assertRaises(TypeError, policy.authorize,
                          "vmstate:instance:get", ctx())


class TestEnforcer(base.TestCase):

    def setUp(self):
        super().setUp()
        policy.reset()
        self.addCleanup(policy.reset)

    def test_concurrent_first_requests_see_every_rule(self):
        # Registering the defaults is made slow, so that any thread that
        # could see the enforcer before its rules would.
        real = oslo_policy.Enforcer.register_defaults

        def slow(enforcer, rules):
            time.sleep(0.2)
            return real(enforcer, rules)

        self.useFixture(fixtures.MockPatchObject(
            oslo_policy.Enforcer, "register_defaults", slow))
        errors, answers = [], []
        start = threading.Barrier(16)

        def first_request():
            try:
                start.wait(10)
                answers.append(policy.check(
                    "vmstate:instance:get", ctx(), {"project_id": "p1"}))
            except Exception as err:  # collected, reported below
                errors.append(err)

        concurrency.run_concurrently(*[first_request] * 16, timeout=30)
        self.assertEqual([], errors)
        self.assertEqual([True] * 16, answers)
        self.assertIs(policy.get_enforcer(), policy.get_enforcer())


class TestOsloPolicyTools(base.TestCase):
    """The tools run in a process of their own, as operators run them,
    with the ``oslo.policy.enforcer`` and ``oslo.policy.policies`` entry
    points of the installed package."""

    def tool(self, function, *args, env=None):
        code = ("import sys; sys.argv = ['tool'] + sys.argv[1:]; "
                "from oslo_policy import generator; generator.%s()"
                % function)
        environ = dict(os.environ, **(env or {}))
        done = subprocess.run(
            [sys.executable, "-c", code, "--namespace", "vmstate", *args],
            capture_output=True, text=True, timeout=120, env=environ,
            cwd=self.useFixture(fixtures.TempDir()).path)
        self.assertEqual(0, done.returncode, done.stderr)
        return done.stdout

    def test_policy_generator(self):
        out = self.tool("generate_policy")
        self.assertIn('"vmstate:instance:action": '
                      '"rule:project_member_or_admin or rule:service_api"',
                      out)
        self.assertIn('"project_reader": '
                      '"role:reader and project_id:%(project_id)s"', out)

    def test_policy_generator_merges_the_policy_file(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            "policy.yaml")
        with open(path, "w") as f:
            f.write('"vmstate:instance:reset_state": "role:superadmin"\n')
        out = self.tool("generate_policy",
                        env={"OS_OSLO_POLICY__POLICY_FILE": path})
        self.assertIn('"vmstate:instance:reset_state": "role:superadmin"',
                      out)

    def test_list_redundant(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            "policy.yaml")
        with open(path, "w") as f:
            f.write('"vmstate:instance:get": "rule:project_reader_or_admin '
                    'or rule:service_api"\n'
                    '"vmstate:instance:reset_state": "role:superadmin"\n')
        out = self.tool("list_redundant",
                        env={"OS_OSLO_POLICY__POLICY_FILE": path})
        self.assertIn("vmstate:instance:get", out)
        self.assertNotIn("reset_state", out)

    def test_sample_generator_shows_the_personas(self):
        out = self.tool("generate_sample")
        for text in ("role:reader and project_id:%(project_id)s",
                     "role:member and project_id:%(project_id)s",
                     "role:service", "Intended scope(s): project",
                     '"vmstate:instance:action"'):
            self.assertIn(text, out)
