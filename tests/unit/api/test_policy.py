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
from oslo_policy import opts as policy_opts
from oslo_policy import policy as oslo_policy

from tests import base
from tests import concurrency
from vmstate import exception
from vmstate.api import policies
from vmstate.api import policy
from vmstate.conf import CONF
from vmstate.context import RequestContext


def ctx(project="p1", roles=("member", "reader")):
    return RequestContext(project_id=project, user_id="u",
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


class TestPolicyFileReload(base.TestCase):
    """A changed policy file is seen within ``[api] policy_reload_interval``
    seconds, without a stat of the policy files on every check."""

    def setUp(self):
        super().setUp()
        policy.reset()
        self.addCleanup(policy.reset)
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 "policy.yaml")
        self.write("role:member")
        # The enforcer registers [oslo_policy] when it is built; the file
        # must be named before that.
        policy_opts.set_defaults(CONF)
        self.flags(group="oslo_policy", policy_file=self.path)
        self.now = [1000.0]
        self.useFixture(fixtures.MockPatch(
            "vmstate.api.policy.time.monotonic", lambda: self.now[0]))
        self.looks = []
        real = oslo_policy.Enforcer.load_rules

        def counted(enforcer, force_reload=False):
            self.looks.append(force_reload)
            return real(enforcer, force_reload)
        self.useFixture(fixtures.MockPatchObject(
            oslo_policy.Enforcer, "load_rules", counted))

    def write(self, rule):
        with open(self.path, "w") as f:
            f.write('"vmstate:instance:get": "%s"\n' % rule)
        # A new modification time, whatever the file system's resolution.
        stamp = time.time() + len(getattr(self, "looks", ()))
        os.utime(self.path, (stamp, stamp))

    def allowed(self):
        return policy.check("vmstate:instance:get", ctx(),
                            {"project_id": "p1"})

    def test_a_change_is_seen_after_the_interval_and_not_before(self):
        self.flags(group="api", policy_reload_interval=1.0)
        self.assertTrue(self.allowed())
        self.write("role:superadmin")
        self.now[0] += 0.5
        for _ in range(5):
            self.assertTrue(self.allowed())
        self.assertEqual(1, len(self.looks))
        self.now[0] += 0.6
        self.assertFalse(self.allowed())
        self.assertEqual(2, len(self.looks))

    def test_an_interval_of_zero_looks_on_every_check(self):
        self.flags(group="api", policy_reload_interval=0)
        self.assertTrue(self.allowed())
        self.write("role:superadmin")
        self.assertFalse(self.allowed())
        self.assertEqual(2, len(self.looks))

    def test_clear_and_a_forced_reload_look_at_once(self):
        self.flags(group="api", policy_reload_interval=3600)
        self.assertTrue(self.allowed())
        self.write("role:superadmin")
        policy.get_enforcer().load_rules(True)
        self.assertFalse(self.allowed())
        # clear() forgets the rules (oslo.policy): the next load looks at
        # the files at once, whatever the interval.
        enforcer = policy.get_enforcer()
        enforcer.load_rules()
        looked = len(self.looks)
        self.assertEqual(2, looked)
        enforcer.clear()
        enforcer.load_rules()
        self.assertEqual(looked + 1, len(self.looks))


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
