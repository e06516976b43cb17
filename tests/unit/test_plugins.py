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


"""One way to load plugins, for the three namespaces: the same errors.

The plugins here are real distributions on ``sys.path``
(:class:`tests.unit.matrix.distribution.PluginDistribution`): nothing is
mocked on the loading path.
"""

from tests import base
from tests.unit.matrix import distribution
from vmstate import exception
from vmstate import matrix
from vmstate import plugins
from vmstate.api.middleware import sources
from vmstate.conf import CONF
from vmstate.events import drivers
from vmstate.events.drivers import local
from vmstate.matrix import loader


def _driver(body):
    """The source of a driver module: ``body`` with ``local`` imported."""
    return "from vmstate.events.drivers import local\n\n\n" + body


DRIVER = _driver("class Driver(local.LocalDriver):\n    pass\n")


class TestInstalled(base.TestCase):

    def test_shipped_plugins_of_each_namespace(self):
        self.assertEqual(["blueprint", "nova", "serialized"],
                         plugins.installed(matrix.NAMESPACE))
        self.assertEqual(["local", "messaging", "postgresql"],
                         plugins.installed(drivers.NAMESPACE))
        self.assertEqual(["nova_db", "vmstate"],
                         plugins.installed(sources.NAMESPACE))

    def test_a_distribution_installed_now_is_seen(self):
        self.useFixture(distribution.PluginDistribution(
            {"carrier": DRIVER}, attr="Driver",
            namespace=drivers.NAMESPACE))
        self.assertEqual(["carrier", "local", "messaging", "postgresql"],
                         plugins.installed(drivers.NAMESPACE))
        # Not a matrix plugin.
        self.assertNotIn("carrier", plugins.installed(matrix.NAMESPACE))


class TestUnknown(base.TestCase):
    """A name that is not installed lists the installed ones."""

    def test_matrix_plugin(self):
        err = self.assertRaises(exception.MatrixError, plugins.load,
                                loader.KIND, ["nova", "nope"])
        self.assertEqual("unknown matrix plugin(s): nope; installed: "
                         "blueprint, nova, serialized", str(err))

    def test_event_bus_driver(self):
        err = self.assertRaises(exception.EventBusError, plugins.build,
                                drivers.KIND, "pigeon", CONF)
        self.assertEqual("unknown event bus driver(s): pigeon; installed: "
                         "local, messaging, postgresql", str(err))
        self.assertEqual(503, err.code)

    def test_state_source(self):
        err = self.assertRaises(exception.VMStateError, plugins.build,
                                sources.KIND, "pigeon", CONF)
        self.assertEqual("unknown state source(s): pigeon; installed: "
                         "nova_db, vmstate", str(err))


class TestBroken(base.TestCase):
    """A plugin that cannot be imported or built is named with its entry
    point; a plugin nobody asked for stops nobody."""

    def install(self, source, attr="Driver"):
        dist = self.useFixture(distribution.PluginDistribution(
            {"broken": source}, attr=attr, namespace=drivers.NAMESPACE))
        return "%s:%s" % (dist.modules["broken"], attr)

    def test_unimportable(self):
        where = self.install("import vmstate_no_such_module\n")
        err = self.assertRaises(exception.EventBusError, plugins.build,
                                drivers.KIND, "broken", CONF)
        self.assertEqual(
            "event bus driver 'broken' (%s) could not be loaded: "
            "ModuleNotFoundError: No module named 'vmstate_no_such_module'"
            % where, str(err))
        # The error's details are the fault body's: a 503 names nothing
        # more than before.
        self.assertEqual({}, err.details)
        self.assertIsInstance(plugins.build(drivers.KIND, "local", CONF),
                              local.LocalDriver)

    def test_raises_while_built(self):
        where = self.install(_driver(
            "class Driver(local.LocalDriver):\n"
            "    def __init__(self, conf):\n"
            "        raise RuntimeError('no carrier')\n"))
        err = self.assertRaises(exception.EventBusError, plugins.build,
                                drivers.KIND, "broken", CONF)
        self.assertEqual(
            "event bus driver 'broken' (%s) could not be loaded: "
            "RuntimeError: no carrier" % where, str(err))

    def test_its_own_error_of_the_kind_is_kept(self):
        self.install(_driver(
            "from vmstate import exception\n\n\n"
            "class Driver(local.LocalDriver):\n"
            "    def __init__(self, conf):\n"
            "        raise exception.EventBusError('needs a carrier')\n"))
        err = self.assertRaises(exception.EventBusError, plugins.build,
                                drivers.KIND, "broken", CONF)
        self.assertEqual("needs a carrier", str(err))

    def test_a_driver_must_say_how_it_publishes_and_listens(self):
        where = self.install(
            "from vmstate.events import drivers\n\n\n"
            "class Driver(drivers.Driver):\n"
            "    def stop(self):\n"
            "        pass\n")
        err = self.assertRaises(exception.EventBusError, plugins.build,
                                drivers.KIND, "broken", CONF)
        self.assertIn("event bus driver 'broken' (%s) could not be loaded: "
                      "TypeError: Can't instantiate abstract class Driver"
                      % where, str(err))

    def test_not_of_the_kind(self):
        where = self.install("class Driver:\n"
                             "    def __init__(self, conf):\n"
                             "        pass\n")
        err = self.assertRaises(exception.EventBusError, plugins.build,
                                drivers.KIND, "broken", CONF)
        self.assertEqual("event bus driver 'broken' (%s) is not a Driver"
                         % where, str(err))

    def test_matrix_plugin_named_in_the_details(self):
        dist = self.useFixture(distribution.PluginDistribution(
            {"broken": "import vmstate_no_such_module\n"}))
        err = self.assertRaises(exception.MatrixError, plugins.load,
                                loader.KIND, ["nova", "broken"])
        self.assertEqual({"plugin": "broken"}, err.details)
        self.assertIn("matrix plugin 'broken' (%s:configure) could not be "
                      "loaded" % dist.modules["broken"], str(err))


class TestLoad(base.TestCase):

    def test_in_the_order_named(self):
        loaded = plugins.load(loader.KIND, ["serialized", "nova"])
        self.assertEqual(["serialized", "nova"], [e.name for e in loaded])
        # Matrix plugins are functions: loaded, never called here.
        self.assertEqual([None, None], [e.obj for e in loaded])

    def test_built_with_the_arguments(self):
        source = plugins.build(sources.KIND, "vmstate", CONF)
        self.assertIsInstance(source, sources.VMStateSource)
        self.assertIs(CONF, source.conf)
