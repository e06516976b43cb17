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

"""Bad matrix configuration fails at load, loudly and precisely.

Every failure is a :class:`~vmstate.exception.MatrixError` whose message
names the plugin and the offending entry; no failure ever yields a
matrix, and the process matrix is never replaced by a partial one.
"""

from stevedore import extension
from stevedore import named

from tests import base
from tests.unit.matrix import distribution
from vmstate import exception
from vmstate import guard
from vmstate import matrix
from vmstate.matrix import loader
from vmstate.matrix.plugins import nova


def manager(*plugins):
    return named.NamedExtensionManager.make_test_instance(
        [extension.Extension(name, None, plugin, None)
         for name, plugin in plugins],
        namespace=matrix.NAMESPACE)


class TestPluginNames(base.TestCase):

    def test_unknown_name_lists_the_installed_ones(self):
        err = self.assertRaises(exception.MatrixError, matrix.load,
                                ["nova", "novaa"])
        installed = matrix.installed_plugins()
        self.assertIn("nova", installed)
        self.assertIn("blueprint", installed)
        self.assertEqual(
            "unknown matrix plugin(s): novaa; installed: %s"
            % ", ".join(installed), str(err))

    def test_several_unknown_names(self):
        err = self.assertRaises(exception.MatrixError, matrix.load,
                                ["zeta", "nova", "alpha"])
        self.assertIn("unknown matrix plugin(s): alpha, zeta;", str(err))

    def test_unknown_name_from_configuration(self):
        self.flags(group="matrix", plugins=["nova", "site"])
        err = self.assertRaises(exception.MatrixError, matrix.load)
        self.assertIn("unknown matrix plugin(s): site", str(err))

    def test_duplicated_names(self):
        err = self.assertRaises(exception.MatrixError, matrix.load,
                                ["nova", "blueprint", "nova"])
        self.assertEqual("matrix plugin(s) named more than once: nova",
                         str(err))

    def test_empty_list(self):
        err = self.assertRaises(exception.MatrixError, matrix.load, [])
        self.assertEqual("no matrix plugins configured", str(err))

    def test_empty_list_from_configuration(self):
        self.flags(group="matrix", plugins=[])
        self.assertRaises(exception.MatrixError, matrix.load)

    def test_plugins_declaring_no_action(self):
        err = self.assertRaises(exception.MatrixError, matrix.compose,
                                manager(("idle", lambda builder: None)))
        self.assertIn("declare no action", str(err))
        self.assertIn("idle", str(err))


class TestPluginEntries(base.TestCase):
    """A plugin naming something unknown: which plugin, which entry."""

    def assertRefused(self, plugin, *fragments):
        err = self.assertRaises(
            exception.MatrixError, matrix.compose,
            manager(("nova", nova.configure), ("site", plugin)))
        message = str(err)
        self.assertTrue(message.startswith("matrix plugin 'site': "),
                        message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        self.assertEqual("site", err.details["plugin"])
        return err

    def test_unknown_vm_state(self):
        self.assertRefused(lambda b: b.allow("reboot", ["active", "actve"]),
                           "allow('reboot') vm_states",
                           "unknown vm_state 'actve'")

    def test_unknown_task_state(self):
        self.assertRefused(
            lambda b: b.deny("reboot", "active", ["rebooting", "reboting"]),
            "deny('reboot') task_states", "unknown task_state 'reboting'")

    def test_unknown_action(self):
        self.assertRefused(lambda b: b.allow("rebot", "active"),
                           "allow('rebot')", "unknown action 'rebot'")

    def test_definition_naming_unknown_states(self):
        self.assertRefused(
            lambda b: b.declare_action("hibernate", begins="hibernating"),
            "begins names unknown task_state 'hibernating'")
        self.assertRefused(
            lambda b: b.declare_action("hibernate", completes="hibernated"),
            "completes names unknown vm_state 'hibernated'")

    def test_none_is_no_vm_state(self):
        # None means "no task"; for a vm_state it is a mistake.
        self.assertRefused(lambda b: b.allow("reboot", [None]),
                           "unknown vm_state None")

    def test_wildcard_inside_a_list(self):
        self.assertRefused(lambda b: b.allow("reboot", ["active", "*"]),
                           "'*' must stand alone in vm_states")

    def test_empty_list_of_states(self):
        self.assertRefused(lambda b: b.allow("reboot", []),
                           "vm_states is empty")

    def test_invalid_names(self):
        for name in ("", "*", None, 3):
            self.assertRefused(lambda b, n=name: b.declare_vm_state(n),
                               "invalid vm_state name %r" % (name,))
        self.assertRefused(lambda b: b.declare_task_state("*"),
                           "invalid task_state name '*'")
        self.assertRefused(lambda b: b.declare_action(""),
                           "invalid action name ''")


class TestFailingPlugins(base.TestCase):

    def test_plugin_that_raises(self):
        def broken(builder):
            builder.allow("reboot", "stopped")
            raise ValueError("site database unreachable")

        err = self.assertRaises(
            exception.MatrixError, matrix.compose,
            manager(("nova", nova.configure), ("broken", broken)))
        self.assertEqual("matrix plugin 'broken' raised ValueError: site "
                         "database unreachable", str(err))
        self.assertEqual("broken", err.details["plugin"])
        self.assertIsInstance(err.__cause__, ValueError)

    def test_plugin_that_is_not_callable(self):
        err = self.assertRaises(
            exception.MatrixError, matrix.compose,
            manager(("nova", nova.configure), ("constant", 42)))
        self.assertIn("matrix plugin 'constant' raised TypeError", str(err))

    def test_entry_point_that_fails_to_import(self):
        dist = self.useFixture(distribution.PluginDistribution({
            "libvirt_site": "import vmstate_no_such_module\n",
            "good": "def configure(builder):\n    pass\n",
        }))
        err = self.assertRaises(exception.MatrixError, matrix.load,
                                ["nova", "libvirt_site"])
        self.assertEqual(
            "matrix plugin 'libvirt_site' (%s:configure) could not be "
            "loaded: ModuleNotFoundError: No module named "
            "'vmstate_no_such_module'" % dist.modules["libvirt_site"],
            str(err))
        self.assertEqual("libvirt_site", err.details["plugin"])
        # A broken plugin nobody asked for stops nobody.
        self.assertEqual(("nova", "good"),
                         matrix.load(["nova", "good"]).plugins)

    def test_entry_point_naming_a_missing_attribute(self):
        self.useFixture(distribution.PluginDistribution(
            {"typo": "def configur(builder):\n    pass\n"}))
        err = self.assertRaises(exception.MatrixError, matrix.load,
                                ["nova", "typo"])
        self.assertIn("matrix plugin 'typo'", str(err))
        self.assertIn("could not be loaded: AttributeError", str(err))

    def test_entry_point_that_raises_while_configuring(self):
        self.useFixture(distribution.PluginDistribution({
            "strict": "def configure(builder):\n"
                      "    builder.allow('reboot', 'stoped')\n"}))
        err = self.assertRaises(exception.MatrixError, matrix.load,
                                ["nova", "strict"])
        self.assertIn("matrix plugin 'strict': allow('reboot') vm_states "
                      "names unknown vm_state 'stoped'", str(err))


class TestNeverHalfLoaded(base.TestCase):

    def test_process_matrix_kept_when_a_load_fails(self):
        current = matrix.load(["nova"])
        self.useFixture(base.MatrixFixture(current))
        self.flags(group="matrix", plugins=["nova", "novaa"])
        self.assertRaises(exception.MatrixError, matrix.load)
        self.assertIs(current, matrix.get())

    def test_unloadable_configuration_is_never_cached(self):
        # The base test case leaves the process matrix to be loaded from
        # the configuration on first use.
        self.flags(group="matrix", plugins=["nova", "novaa"])
        self.assertRaises(exception.MatrixError, matrix.get)
        self.assertIsNone(loader._default)
        self.assertRaises(exception.MatrixError, matrix.get)

    def test_guard_cannot_be_applied_with_a_bad_configuration(self):
        # A compute API importing its guarded methods refuses to start.
        self.flags(group="matrix", plugins=["blueprint", "nope"])
        decorate = self.assertRaises(exception.MatrixError,
                                     guard.check_vm_state, "reboot")
        self.assertIn("nope", str(decorate))

    def test_every_failure_is_a_matrix_error(self):
        for names in ([], ["nova", "nova"], ["nope"]):
            err = self.assertRaises(exception.VMStateError, matrix.load,
                                    names)
            self.assertIsInstance(err, exception.MatrixError)
