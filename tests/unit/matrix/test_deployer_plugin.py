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

"""A deployer's plugin, installed as a real distribution, changes the matrix.

Nothing is mocked on the loading path: the plugin is found by stevedore
through ``importlib.metadata`` in a distribution on ``sys.path``, exactly
as one ``pip install``-ed beside vmstate would be.
"""

import sys

from tests import base
from tests.unit.matrix import distribution
from vmstate import exception
from vmstate import guard
from vmstate import matrix

# A site whose storage cannot resize a powered-off instance, and whose
# hypervisor can hibernate.
SITE_PLUGIN = '''
def configure(builder):
    builder.deny("resize", "stopped", "*")
    builder.declare_vm_state("hibernated")
    builder.declare_task_state("hibernating")
    builder.declare_action("hibernate", begins="hibernating",
                           completes="hibernated")
    builder.declare_action("thaw", completes="active")
    builder.allow("hibernate", "active")
    builder.allow("thaw", "hibernated")
'''


class TestDeployerPlugin(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dist = self.useFixture(
            distribution.PluginDistribution({"site": SITE_PLUGIN}))
        self.nova = matrix.load(["nova"])

    def test_installed(self):
        self.assertIn("site", matrix.installed_plugins())

    def test_changes_exactly_what_the_plugin_says(self):
        site = matrix.load(["nova", "site"])
        self.assertEqual(("nova", "site"), site.plugins)
        self.assertEqual({*self.nova.actions, "hibernate", "thaw"},
                         set(site.actions))
        self.assertEqual((*self.nova.vm_states, "hibernated"),
                         site.vm_states)
        differences = []
        for vm_state in (*site.vm_states, "martian"):
            for task_state in (None, *site.task_states, "martian-task"):
                # Nova's answer for the cell; it looks the new states up
                # as states outside its vocabulary.
                expected = set(self.nova.allowed_actions(vm_state,
                                                         task_state))
                if vm_state == "stopped":
                    expected.discard("resize")
                if (vm_state, task_state) == ("active", None):
                    expected.add("hibernate")
                if (vm_state, task_state) == ("hibernated", None):
                    expected.add("thaw")
                got = site.allowed_actions(vm_state, task_state)
                if got != expected:
                    differences.append((vm_state, task_state,
                                        sorted(got ^ expected)))
        self.assertEqual([], differences)
        # The comparison above would pass for identical matrices if the
        # plugin did nothing; it did something:
        self.assertTrue(self.nova.is_allowed("resize", "stopped", None))
        self.assertFalse(site.is_allowed("resize", "stopped", None))

    def test_new_states_are_covered_by_nova_s_wildcards(self):
        site = matrix.load(["nova", "site"])
        self.assertEqual({"delete", "force_delete", "soft_delete", "thaw"},
                         site.allowed_actions("hibernated", None))
        self.assertEqual({"delete", "force_delete", "soft_delete"},
                         site.allowed_actions("hibernated", "hibernating"))
        self.assertEqual("hibernating", site.definition("hibernate").begins)
        self.assertEqual("site", site.definition("thaw").plugin)

    def test_explain_names_the_deployer_plugin(self):
        site = matrix.load(["nova", "site"])
        e = site.explain("resize", "stopped", None)
        self.assertFalse(e.allowed)
        self.assertEqual("site", e.plugin)
        self.assertEqual("vm_state", e.attribute)
        self.assertEqual("nova",
                         site.explain("resize", "active", None).plugin)

    def test_from_configuration_and_through_the_guard(self):
        # Decorating loads the configured matrix into every guard of the
        # process; put Nova's back in them afterwards.
        self.addCleanup(matrix.set_default, self.nova)
        self.flags(group="matrix", plugins=["nova", "site"])

        class API:
            @guard.check_vm_state("resize")
            def resize(self, context, instance, flavor):
                return flavor

            @guard.check_vm_state("hibernate")
            def hibernate(self, context, instance):
                return "hibernating"

        api = API()
        stopped = {"uuid": "u1", "vm_state": "stopped", "task_state": None}
        active = {"uuid": "u2", "vm_state": "active", "task_state": None}
        err = self.assertRaises(exception.InstanceInvalidState, api.resize,
                                None, stopped, "m1.large")
        self.assertEqual(
            "Cannot 'resize' instance u1 while it is in vm_state stopped",
            err.message)
        self.assertEqual("m1.large", api.resize(None, active, "m1.large"))
        self.assertEqual("hibernating", api.hibernate(None, active))

    def test_order_matters(self):
        # Alone, the site plugin names nova's resize before anyone
        # declared it: refused, naming the plugin and the entry.
        err = self.assertRaises(exception.MatrixError, matrix.load,
                                ["site"])
        self.assertIn("'site'", str(err))
        self.assertIn("'resize'", str(err))


class TestNoLeftovers(base.TestCase):

    def test_gone_after_the_fixture(self):
        with distribution.PluginDistribution({"site": SITE_PLUGIN}) as dist:
            self.assertIn("hibernate", matrix.load(["nova", "site"]).actions)
            self.assertIn(dist.path, sys.path)
        self.assertNotIn("site", matrix.installed_plugins())
        err = self.assertRaises(exception.MatrixError, matrix.load,
                                ["nova", "site"])
        self.assertIn("unknown matrix plugin(s): site", str(err))
        self.assertNotIn("hibernate", matrix.load(["nova"]).actions)
