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

"""How plugins compose, through stevedore's test managers.

``make_test_instance`` builds the manager ``load()`` would build, from
extensions made here, so the rules are tested on the same path as the
installed plugins without installing anything.
"""

import operator

from stevedore import extension
from stevedore import named

from tests import base
from vmstate import exception
from vmstate import matrix
from vmstate.matrix.plugins import nova


def manager(*plugins):
    """A NamedExtensionManager of ``(name, callable)`` in that order."""
    return named.NamedExtensionManager.make_test_instance(
        [extension.Extension(name, None, plugin, None)
         for name, plugin in plugins],
        namespace=matrix.NAMESPACE)


def small(builder):
    """A two-state vocabulary with a few actions, as a base plugin."""
    builder.declare_vm_state("up", "down", "error")
    builder.declare_task_state("starting", "stopping")
    builder.declare_action("start", begins="starting", completes="up")
    builder.declare_action("stop", begins="stopping", completes="down")
    builder.declare_action("destroy", completes="down")
    builder.declare_action("inspect")
    builder.allow("start", "down")
    builder.allow("stop", "up")
    builder.allow("destroy", "*", "*")
    builder.allow("inspect", ["up", "down"], "*")


def deny_start(builder):
    builder.deny("start", "down", None)


def allow_start_from_error(builder):
    builder.allow("start", ["down", "error"])


class TestOverrides(base.TestCase):

    def test_manager_keeps_the_named_order(self):
        m = matrix.compose(manager(("small", small), ("later", deny_start)))
        self.assertEqual(("small", "later"), m.plugins)

    def test_allow_then_deny(self):
        base_matrix = matrix.compose(manager(("small", small)))
        self.assertTrue(base_matrix.is_allowed("start", "down", None))
        m = matrix.compose(manager(("small", small), ("site", deny_start)))
        self.assertFalse(m.is_allowed("start", "down", None))
        # Only the denied cell changed.
        self.assertEqual(base_matrix.cells("stop"), m.cells("stop"))
        self.assertEqual(base_matrix.cells("start") - {("down", None)},
                         m.cells("start"))

    def test_deny_then_allow(self):
        def deny_everywhere(builder):
            builder.deny("start")

        m = matrix.compose(manager(("small", small),
                                   ("deny", deny_everywhere),
                                   ("allow", allow_start_from_error)))
        self.assertTrue(m.is_allowed("start", "error", None))
        self.assertTrue(m.is_allowed("start", "down", None))
        self.assertFalse(m.is_allowed("start", "up", None))

    def test_order_decides(self):
        def deny_everywhere(builder):
            builder.deny("start")

        allow_last = matrix.compose(manager(
            ("small", small), ("deny", deny_everywhere),
            ("allow", allow_start_from_error)))
        deny_last = matrix.compose(manager(
            ("small", small), ("allow", allow_start_from_error),
            ("deny", deny_everywhere)))
        self.assertTrue(allow_last.is_allowed("start", "error", None))
        self.assertFalse(deny_last.is_allowed("start", "error", None))
        self.assertEqual(frozenset(), deny_last.cells("start"))

    def test_later_plugin_redefines_an_action(self):
        def start_into_error(builder):
            builder.declare_action("start", begins="starting",
                                   completes="error")

        m = matrix.compose(manager(("small", small),
                                   ("redefine", start_into_error)))
        self.assertEqual("error", m.definition("start").completes)
        self.assertEqual("redefine", m.definition("start").plugin)
        # Redefining what an action does leaves where it may start.
        self.assertTrue(m.is_allowed("start", "down", None))

    def test_later_deny_of_a_wildcard_allow_is_cell_precise(self):
        m = matrix.compose(manager(
            ("small", small),
            ("keep", lambda b: b.deny("destroy", "up", "starting"))))
        self.assertFalse(m.is_allowed("destroy", "up", "starting"))
        self.assertTrue(m.is_allowed("destroy", "up", "stopping"))
        self.assertTrue(m.is_allowed("destroy", "up", None))
        self.assertTrue(m.is_allowed("destroy", "down", "starting"))


class TestNewVocabulary(base.TestCase):

    def test_plugin_declares_states_and_actions(self):
        def hibernation(builder):
            builder.declare_vm_state("hibernated")
            builder.declare_task_state("hibernating")
            builder.declare_action("hibernate", begins="hibernating",
                                   completes="hibernated")
            builder.declare_action("thaw", completes="up")
            builder.allow("hibernate", "up")
            builder.allow("thaw", "hibernated")

        m = matrix.compose(manager(("small", small), ("hib", hibernation)))
        self.assertIn("hibernated", m.vm_states)
        self.assertIn("hibernating", m.task_states)
        self.assertTrue(m.is_allowed("hibernate", "up", None))
        self.assertFalse(m.is_allowed("hibernate", "down", None))
        self.assertEqual({"thaw", "destroy"},
                         m.allowed_actions("hibernated", None))
        self.assertEqual("hibernating", m.definition("hibernate").begins)
        self.assertIn(("up", "hibernate", "hibernated"), m.transitions())

    def test_wildcard_covers_states_declared_by_later_plugins(self):
        # small's destroy is allowed on "*": a state declared after it is
        # covered; inspect lists its vm_states, so it is not.
        def more(builder):
            builder.declare_vm_state("frozen")
            builder.declare_task_state("thawing")

        m = matrix.compose(manager(("small", small), ("more", more)))
        self.assertTrue(m.is_allowed("destroy", "frozen", "thawing"))
        self.assertFalse(m.is_allowed("inspect", "frozen", None))
        self.assertTrue(m.is_allowed("inspect", "up", "thawing"))
        self.assertFalse(m.is_allowed("start", "down", "thawing"))

    def test_states_outside_the_vocabulary_only_by_wildcards(self):
        m = matrix.compose(manager(("small", small)))
        # An unknown vm_state: destroy (vm "*") only; inspect lists its
        # vm_states.
        self.assertEqual({"destroy"}, m.allowed_actions("martian", None))
        self.assertEqual({"destroy"},
                         m.allowed_actions("martian", "martian-task"))
        # An unknown task_state on a known vm_state: the rules whose
        # task_states are "*".
        self.assertEqual({"destroy", "inspect"},
                         m.allowed_actions("down", "martian-task"))
        # start's task_states are (None,), which an unknown task is not.
        self.assertFalse(m.is_allowed("start", "down", "martian-task"))
        self.assertEqual(("*", "*"), m.key("martian", "martian-task"))
        self.assertEqual(("down", None), m.key("down", None))

    def test_unknown_states_and_explicit_lists(self):
        # Naming a state explicitly never covers strangers: only "*" does.
        def lists(builder):
            builder.declare_vm_state("a", "b")
            builder.declare_task_state("t")
            builder.declare_action("x", fails_to=None)
            builder.allow("x", ["a", "b"], [None, "t"])

        m = matrix.compose(manager(("lists", lists)))
        for vm_state, task_state in (("c", None), ("a", "u"), ("c", "u")):
            self.assertFalse(m.is_allowed("x", vm_state, task_state))
        self.assertTrue(m.is_allowed("x", "b", "t"))

    def test_a_state_must_be_declared_before_a_rule_uses_it(self):
        def early(builder):
            builder.allow("start", "frozen")

        def late(builder):
            builder.declare_vm_state("frozen")

        err = self.assertRaises(
            exception.MatrixError, matrix.compose,
            manager(("small", small), ("early", early), ("late", late)))
        self.assertIn("'early'", str(err))
        self.assertIn("'frozen'", str(err))


class TestExplain(base.TestCase):

    def setUp(self):
        super().setUp()
        self.matrix = matrix.compose(manager(
            ("nova", nova.configure),
            ("site", lambda b: b.deny("resize", "stopped", None)),
            ("extra", lambda b: b.allow("reboot", "active", "rebooting"))))

    def test_allowed_names_the_deciding_plugin(self):
        e = self.matrix.explain("reboot", "active", None)
        self.assertTrue(e.allowed)
        self.assertIsNone(e.attribute)
        self.assertEqual("nova", e.plugin)
        self.assertIn("allow('reboot'", e.rule)

    def test_later_allow_decides(self):
        e = self.matrix.explain("reboot", "active", "rebooting")
        self.assertTrue(e.allowed)
        self.assertEqual("extra", e.plugin)

    def test_deny_names_the_plugin_and_vm_state(self):
        e = self.matrix.explain("resize", "stopped", None)
        self.assertFalse(e.allowed)
        self.assertEqual("site", e.plugin)
        self.assertIn("deny('resize'", e.rule)
        # No task_state would help in "stopped" any more.
        self.assertEqual("vm_state", e.attribute)
        self.assertIn("'site'", str(e))

    def test_refused_on_the_task_state(self):
        e = self.matrix.explain("stop", "active", "rebooting")
        self.assertFalse(e.allowed)
        self.assertEqual("task_state", e.attribute)
        # No rule covers a running task for stop: refused by default.
        self.assertIsNone(e.plugin)
        self.assertIsNone(e.rule)
        self.assertIn("by default", str(e))

    def test_refused_on_the_vm_state(self):
        e = self.matrix.explain("stop", "paused", None)
        self.assertFalse(e.allowed)
        self.assertEqual("vm_state", e.attribute)

    def test_unknown_states(self):
        e = self.matrix.explain("delete", "martian", "martian-task")
        self.assertTrue(e.allowed)
        self.assertEqual("nova", e.plugin)
        self.assertEqual("martian", e.vm_state)
        e = self.matrix.explain("reboot", "martian", None)
        self.assertEqual("vm_state", e.attribute)

    def test_explain_agrees_with_lookups_everywhere(self):
        m = self.matrix
        for vm_state in (*m.vm_states, "martian"):
            for task_state in (None, *m.task_states, "martian-task"):
                allowed = m.allowed_actions(vm_state, task_state)
                for action in m.actions:
                    e = m.explain(action, vm_state, task_state)
                    self.assertEqual(action in allowed, e.allowed,
                                     (action, vm_state, task_state))
                    self.assertEqual(e.allowed, e.attribute is None)

    def test_unknown_action(self):
        for call in (self.matrix.explain, self.matrix.is_allowed):
            err = self.assertRaises(exception.UnknownAction, call,
                                    "teleport", "active", None)
            self.assertIn("'teleport'", str(err))
            self.assertIn("reboot", str(err))
            self.assertEqual(400, err.code)
        self.assertRaises(exception.UnknownAction, self.matrix.definition,
                          "teleport")


class TestImmutability(base.TestCase):

    def setUp(self):
        super().setUp()
        self.matrix = matrix.compose(manager(("small", small)))

    def test_attributes_cannot_be_set_or_deleted(self):
        for name in ("plugins", "actions", "vm_states", "_by_cell", "new"):
            self.assertRaises(AttributeError, setattr, self.matrix, name,
                              None)
        self.assertRaises(AttributeError, delattr, self.matrix, "plugins")
        self.assertEqual(("small",), self.matrix.plugins)

    def test_tables_are_read_only(self):
        self.assertRaises(TypeError, operator.setitem, self.matrix.actions,
                          "x", None)
        cells = self.matrix.action_cells("start")
        self.assertRaises(TypeError, operator.setitem, cells, "up",
                          frozenset())
        self.assertIsInstance(self.matrix.allowed_actions("up", None),
                              frozenset)
        self.assertIsInstance(self.matrix.cells("start"), frozenset)

    def test_definitions_are_frozen(self):
        definition = self.matrix.definition("start")
        self.assertRaises(AttributeError, setattr, definition, "completes",
                          "error")

    def test_builder_refuses_changes_after_compile(self):
        builder = matrix.Builder()
        with builder.plugin("small"):
            small(builder)
        compiled = builder.compile(["small"])
        for change in (lambda: builder.allow("start", "up"),
                       lambda: builder.deny("start"),
                       lambda: builder.declare_vm_state("frozen"),
                       lambda: builder.declare_task_state("freezing"),
                       lambda: builder.declare_action("freeze")):
            err = self.assertRaises(exception.MatrixError, change)
            self.assertIn("compiled", str(err))
        self.assertFalse(compiled.is_allowed("start", "up", None))
        self.assertNotIn("frozen", compiled.vm_states)

    def test_a_builder_s_later_changes_do_not_reach_a_matrix(self):
        # compile() copies: a plugin keeping a reference to its builder
        # cannot change the matrix afterwards.
        kept = []
        m = matrix.compose(manager(("small", small),
                                   ("keeper", kept.append)))
        self.assertRaises(exception.MatrixError, kept[0].allow, "start",
                          "up")
        self.assertFalse(m.is_allowed("start", "up", None))
