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

"""The renderings say exactly what the matrix says.

Each test reads the rendered text back (the table's columns, the
diagram's edges) and compares it with the matrix's own lookups.
"""

import json
import re

from tests import base
from vmstate import matrix
from vmstate.matrix import render
from vmstate.matrix.plugins import nova

OTHER = matrix.OTHER
EDGE = re.compile(r'^  "((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" '
                  r'\[ label = "((?:[^"\\]|\\.)*)" \];$')


def _site(builder):
    builder.deny("resize", "stopped", "*")
    builder.declare_vm_state("hibernated")
    builder.declare_action("thaw", completes="active")
    builder.allow("thaw", "hibernated")


def matrices():
    return {
        "nova": matrix.load(["nova"]),
        "blueprint": matrix.load(["blueprint"]),
        "nova+blueprint": matrix.load(["nova", "blueprint"]),
        "nova+site": matrix.from_plugins(("nova", nova.configure),
                                         ("site", _site)),
    }


def parse_table(text):
    """``(common actions, [(vm_state, [task labels], [actions])])``."""
    lines = text.splitlines()
    common_text = []
    i = 1
    while lines[i]:
        common_text.append(lines[i].strip())
        i += 1
    common = set()
    if common_text:
        joined = " ".join(common_text)
        prefix = "Allowed in every cell, not repeated below: "
        assert joined.startswith(prefix), joined
        common = set(joined[len(prefix):].split(", "))
    header, dashes = lines[i + 1], lines[i + 2]
    assert header.startswith("vm_state"), header
    starts = [m.start() for m in re.finditer(r"-+", dashes)]
    rows = []
    for line in lines[i + 3:]:
        if not line:
            continue
        cols = [line[a:b].strip() for a, b in
                zip(starts, [*starts[1:], None], strict=True)]
        if cols[0]:
            rows.append([cols[0], [cols[1]], [cols[2]]])
        else:
            rows[-1][1].append(cols[1])
            rows[-1][2].append(cols[2])
    parsed = []
    for vm, tasks, actions in rows:
        tasks = " ".join(t for t in tasks if t).split(", ")
        actions = " ".join(a for a in actions if a)
        parsed.append((vm, tasks,
                       set() if actions == "-" else set(actions.split(", "))))
    return common, parsed


def cells_from_table(m, text):
    """Every cell's allowed actions, as a reader of the table finds them."""
    common, rows = parse_table(text)
    found = {}
    for vm in (*m.vm_states, OTHER):
        label = render.OTHER_VM_LABEL if vm == OTHER else vm
        vm_rows = [(tasks, actions) for v, tasks, actions in rows
                   if v == label]
        listed = {t for tasks, _ in vm_rows for t in tasks}
        for task in (None, *m.task_states, OTHER):
            name = "None" if task is None else task
            actions = set(common)
            for tasks, row_actions in vm_rows:
                if (name in tasks or tasks == [render.ANY_TASK_LABEL]
                        or (tasks == [render.OTHER_TASK_LABEL]
                            and name not in listed)):
                    actions |= row_actions
            found[(vm, task)] = actions
    return found


def parse_dot(text):
    edges = {}
    for line in text.splitlines():
        match = EDGE.match(line)
        if match:
            source, target, label = match.groups()
            assert (source, target) not in edges, ("parallel edges", line)
            actions = set(label.replace("\\n", " ").replace(",", " ")
                          .split())
            edges[(source, target)] = actions
    return edges


class TestJSON(base.TestCase):

    def test_is_as_dict(self):
        for m in matrices().values():
            self.assertEqual(m.as_dict(), json.loads(render.as_json(m)))

    def test_render_by_name(self):
        m = matrix.load(["nova"])
        for fmt, func in render.FORMATS.items():
            self.assertEqual(func(m), render.render(m, fmt))
        err = self.assertRaises(ValueError, render.render, m, "xml")
        self.assertIn("'xml'", str(err))


class TestTable(base.TestCase):

    def test_reads_back_as_the_matrix(self):
        for name, m in matrices().items():
            text = render.as_table(m)
            found = cells_from_table(m, text)
            wrong = {cell: (sorted(found[cell]),
                            sorted(m.allowed_actions(*cell)))
                     for cell in found
                     if found[cell] != m.allowed_actions(*cell)}
            self.assertEqual({}, wrong, name)

    def test_header(self):
        lines = render.as_table(matrix.load(["nova"])).splitlines()
        self.assertEqual("Matrix of plugins nova: 37 actions, 12 vm_states, "
                         "42 task_states", lines[0])
        self.assertEqual("Allowed in every cell, not repeated below: "
                         "delete, force_delete, soft_delete", lines[1])

    def test_fits_79_columns(self):
        for name, m in matrices().items():
            for line in render.as_table(m).splitlines():
                self.assertLessEqual(len(line), 79, (name, line))

    def test_groups_task_states_of_one_vm_state(self):
        rows = render.table_rows(matrix.load(["nova"]))
        by_vm = {}
        for vm, tasks, actions in rows:
            by_vm.setdefault(vm, []).append((tasks, actions))
        self.assertEqual(
            [(("None",), ("trigger_crash_dump", "unrescue")),
             (("migrating",), ("live_migrate_abort",))],
            by_vm["rescued"])
        # reboot_hard's task list, less None, is one row.
        error_rows = dict(by_vm["error"])
        self.assertEqual(
            ("evacuate", "reboot_hard"),
            error_rows[("rebooting", "reboot_pending", "reboot_started",
                        "rebooting_hard", "pausing", "unpausing",
                        "suspending", "resuming")])

    def test_other_rows_are_exact(self):
        # A vm_state outside the blueprint's vocabulary allows terminate
        # only while a task runs: "None" gets a row of its own.
        rows = render.table_rows(matrix.load(["blueprint"]))
        other = [(t, a) for vm, t, a in rows if vm == render.OTHER_VM_LABEL]
        self.assertEqual([(("None",), ()),
                          ((render.OTHER_TASK_LABEL,), ("terminate",))],
                         other)

    def test_nothing_common(self):
        def plugin(builder):
            builder.declare_vm_state("a", "b")
            builder.declare_action("x", fails_to=None)
            builder.allow("x", "a")

        m = matrix.from_plugins(("p", plugin))
        text = render.as_table(m)
        self.assertNotIn("Allowed in every cell", text)
        self.assertEqual([("a", ("None",), ("x",))], render.table_rows(m))

    def test_nothing_allowed(self):
        def plugin(builder):
            builder.declare_vm_state("a")
            builder.declare_action("x", fails_to=None)

        text = render.as_table(matrix.from_plugins(("p", plugin)))
        self.assertIn("(no action may start beyond those above)", text)


class TestDot(base.TestCase):

    def test_edges_are_the_transitions(self):
        for name, m in matrices().items():
            edges = parse_dot(render.as_dot(m))
            expected = {}
            for source, action, target in m.transitions():
                everywhere = (
                    {s for s, a, _ in m.transitions() if a == action}
                    == set(m.vm_states)
                    and OTHER in m.action_cells(action))
                if everywhere:
                    completes = m.definition(action).completes
                    source = render.ANY_NODE
                    target = completes or render.ANY_NODE
                expected.setdefault((source, target), set()).add(action)
            self.assertEqual(expected, edges, name)

    def test_nova_diagram(self):
        edges = parse_dot(render.as_dot(matrix.load(["nova"])))
        self.assertEqual({"delete", "force_delete"},
                         edges[("*", "deleted")])
        self.assertEqual({"soft_delete"}, edges[("*", "soft-delete")])
        self.assertEqual({"live_migrate_abort"}, edges[("*", "*")])
        self.assertEqual({"migrate", "resize"}, edges[("active", "resized")])
        self.assertEqual({"evacuate", "reboot_hard", "rebuild", "start"},
                         edges[("stopped", "active")])
        self.assertIn("reboot", edges[("active", "active")])
        self.assertNotIn(("deleted", "active"), edges)

    def test_nodes(self):
        text = render.as_dot(matrix.load(["nova"]))
        self.assertTrue(text.startswith("digraph vmstate {"))
        self.assertTrue(text.endswith("}"))
        declared = re.findall(r'^  "([^"]+)";$', text, re.MULTILINE)
        self.assertEqual(sorted(matrix.load(["nova"]).vm_states),
                         sorted(declared))
        self.assertIn('"*" [ label = "any vm_state" ];', text)
        # building and deleted are left only by the any-state actions.
        shapes = re.split(r"node \[shape = (\w+)\];", text)
        after = dict(zip(shapes[1::2], shapes[2::2], strict=True))
        self.assertEqual(['"building";', '"deleted";'],
                         re.findall(r'"\w+";', after["doublecircle"]))

    def test_names_are_quoted(self):
        def odd(builder):
            builder.declare_vm_state('say "hi"', "back\\slash")
            builder.declare_action("go", completes="back\\slash",
                                   fails_to=None)
            builder.allow("go", 'say "hi"')

        text = render.as_dot(matrix.from_plugins(("odd", odd)))
        self.assertIn(r'"say \"hi\"" -> "back\\slash" [ label = "go" ];',
                      text)

    def test_no_any_node_without_wildcard_actions(self):
        text = render.as_dot(matrix.load(["blueprint"]))
        # terminate may start from every blueprint vm_state.
        self.assertIn('"*" -> "deleted" [ label = "terminate" ];', text)

        def plugin(builder):
            builder.declare_vm_state("a", "b")
            builder.declare_action("x", completes="b", fails_to=None)
            builder.allow("x", "a")

        text = render.as_dot(matrix.from_plugins(("p", plugin)))
        self.assertNotIn("any vm_state", text)
        self.assertIn('"a" -> "b" [ label = "x" ];', text)
