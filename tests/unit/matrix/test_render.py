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
        # "but deleted": the terminal vm_state allows nothing at all.
        found = re.match(r"Allowed in every cell( but [\w, -]+)?, not "
                         r"repeated below: (.*)\Z", joined)
        assert found, joined
        common = set(found.group(2).split(", "))
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
            actions = set() if vm == "deleted" else set(common)
            for tasks, row_actions in vm_rows:
                if (name in tasks or tasks == [render.ANY_TASK_LABEL]
                        or (tasks == [render.OTHER_TASK_LABEL]
                            and name not in listed)):
                    actions |= row_actions
            found[(vm, task)] = actions
    return found


EDGE = re.compile(r'^ *"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"'
                  r'(?: \[label="((?:[^"\\]|\\.)*)"(.*)\])?;$')
NODE = re.compile(r'^ *"((?:[^"\\]|\\.)*)" \[label=<(.*)>(.*)\];$')
SMALL = re.compile(r'<font point-size="9">(.*)</font>')


def _unescape(text):
    return (text.replace("&lt;", "<").replace("&gt;", ">")
            .replace("&quot;", '"').replace("&amp;", "&"))


def _names(text):
    return {a for a in text.replace("\\n", " ").replace(",", " ").split()}


def parse_dot(text):
    """What a reader of the diagram finds in it.

    ``edges``: {(from, to): actions} of the plain arrows; ``in_place``:
    {vm_state: actions} listed in the nodes; ``group``: the vm_states in
    the dashed box; ``group_edges``: {to: actions} of the arrows from the
    box; ``group_in_place``: the actions named on the box; ``terminal``:
    the nodes with a double border; ``start``: where the entry dot points.
    """
    found = {"edges": {}, "in_place": {}, "group": [], "group_edges": {},
             "group_in_place": set(), "terminal": set(), "start": None,
             "bold": {}}
    in_group = False
    for line in text.splitlines():
        if line.strip() == "subgraph cluster_group {":
            in_group = True
            continue
        if in_group and line.strip() == "}":
            in_group = False
            continue
        if in_group and line.strip().startswith("label=<"):
            small = SMALL.search(line)
            prefix = "in every state here: "
            assert small.group(1).startswith(prefix), line
            found["group_in_place"] = set(
                small.group(1)[len(prefix):].split(", "))
            continue
        match = NODE.match(line)
        if match:
            name, label, rest = match.groups()
            name = name.replace('\\"', '"').replace("\\\\", "\\")
            small = SMALL.search(label)
            if small:
                found["in_place"][name] = _names(_unescape(
                    small.group(1).replace('<br align="left"/>', " ")))
            if in_group:
                found["group"].append(name)
            if "peripheries=2" in rest:
                found["terminal"].add(name)
            continue
        match = EDGE.match(line)
        if not match:
            continue
        source, target, label, rest = match.groups()
        source = source.replace('\\"', '"').replace("\\\\", "\\")
        target = target.replace('\\"', '"').replace("\\\\", "\\")
        if label is None:
            assert found["start"] is None, line
            found["start"] = target
        elif "ltail=cluster_group" in rest:
            assert target not in found["group_edges"], line
            found["group_edges"][target] = _names(label)
        elif "style=bold" in rest:
            found["bold"][(source, target)] = label
        else:
            assert (source, target) not in found["edges"], (
                "parallel edges", line)
            found["edges"][(source, target)] = _names(label)
    return found


def transitions_from_dot(text):
    """``{(from, action, to)}`` as a reader of the diagram finds them."""
    found = parse_dot(text)
    seen = set()
    for (source, target), actions in found["edges"].items():
        seen |= {(source, a, target) for a in actions}
    for vm, actions in found["in_place"].items():
        seen |= {(vm, a, vm) for a in actions}
    for vm in found["group"]:
        seen |= {(vm, a, vm) for a in found["group_in_place"]}
        for target, actions in found["group_edges"].items():
            seen |= {(vm, a, target) for a in actions}
    return seen


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
        self.assertEqual("Allowed in every cell but deleted, not repeated "
                         "below: delete, force_delete,", lines[1])
        self.assertEqual("  soft_delete", lines[2])

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

    def test_every_transition_drawn_once(self):
        for name, m in matrices().items():
            text = render.as_dot(m)
            self.assertEqual(set(m.transitions()), transitions_from_dot(text),
                             name)
            # Drawn once: no action appears both on an arrow of a vm_state
            # and on the box holding it, or twice in one node.
            d = render.diagram(m)
            count = (sum(len(a) for a in d.edges.values())
                     + sum(len(a) for a in d.in_place.values())
                     + len(d.group) * (len(d.group_in_place) + sum(
                         len(a) for a in d.group_edges.values())))
            self.assertEqual(len(m.transitions()), count, name)

    def test_nova_diagram(self):
        found = parse_dot(render.as_dot(matrix.load(["nova"])))
        # The any-state actions leave the box once, not every state.
        self.assertEqual({"delete", "force_delete"},
                         found["group_edges"]["deleted"])
        self.assertEqual({"soft_delete"}, found["group_edges"]["soft-delete"])
        self.assertEqual({"live_migrate_abort"}, found["group_in_place"])
        self.assertIn("active", found["group"])
        self.assertNotIn("deleted", found["group"])
        self.assertEqual({"migrate", "resize"},
                         found["edges"][("active", "resized")])
        self.assertEqual({"reboot_hard", "start"},
                         found["edges"][("stopped", "active")])
        # A stopped server rebuilt or evacuated ends stopped; a resize's
        # confirmation or revert ends where the resize began.
        self.assertLessEqual({"evacuate", "rebuild"},
                             set(found["in_place"]["stopped"]))
        self.assertEqual({"confirm_resize", "revert_resize"},
                         found["edges"][("resized", "stopped")])
        self.assertEqual({"confirm_resize", "revert_resize"},
                         found["edges"][("resized", "active")])
        # Actions that leave the vm_state as it was are in the node, not
        # on a loop.
        self.assertIn("reboot", found["in_place"]["active"])
        self.assertFalse([pair for pair in found["edges"]
                          if pair[0] == pair[1]])
        self.assertNotIn(("deleted", "active"), found["edges"])

    def test_no_any_state_box(self):
        text = render.as_dot(matrix.load(["nova"]))
        self.assertNotIn("any vm_state", text)
        self.assertNotIn('"*"', text)

    def test_creation_enters_at_building(self):
        from vmstate import lifecycle
        text = render.as_dot(matrix.load(["nova"]), lifecycle.BUILD)
        found = parse_dot(text)
        self.assertEqual("building", found["start"])
        self.assertEqual({("building", "active"): "create"}, found["bold"])
        # Without the creation, no entry point is invented.
        found = parse_dot(render.as_dot(matrix.load(["nova"])))
        self.assertIsNone(found["start"])
        self.assertEqual({}, found["bold"])

    def test_creation_declared_by_the_matrix_is_an_action(self):
        from vmstate import lifecycle

        def plugin(builder):
            builder.declare_action("create", completes="active")
            builder.allow("create", "building")

        m = matrix.from_plugins(("nova", nova.configure), ("c", plugin))
        found = parse_dot(render.as_dot(m, lifecycle.BUILD))
        self.assertEqual({}, found["bold"])
        self.assertIn("create", found["edges"][("building", "active")])

    def test_terminal_states(self):
        def terminal(builder):
            for action in builder.actions:
                builder.deny(action, "deleted", "*")

        m = matrix.from_plugins(("nova", nova.configure), ("t", terminal))
        text = render.as_dot(m)
        found = parse_dot(text)
        self.assertEqual({"deleted"}, found["terminal"])
        # Still broad: every vm_state but the terminal one deletes.
        self.assertEqual({"delete", "force_delete"},
                         found["group_edges"]["deleted"])
        self.assertEqual(set(m.transitions()), transitions_from_dot(text))

    def test_names_are_quoted(self):
        def odd(builder):
            builder.declare_vm_state('say "hi"', "back\\slash", "a<b")
            builder.declare_action("go", completes="back\\slash",
                                   fails_to=None)
            builder.declare_action("stay", fails_to=None)
            builder.allow("go", 'say "hi"')
            builder.allow("stay", "a<b")

        m = matrix.from_plugins(("odd", odd))
        text = render.as_dot(m)
        self.assertIn(r'"say \"hi\"" -> "back\\slash" [label="go"];', text)
        self.assertIn("<b>a&lt;b</b>", text)
        self.assertEqual(set(m.transitions()), transitions_from_dot(text))

    def test_no_group_without_broad_actions(self):
        def plugin(builder):
            builder.declare_vm_state("a", "b")
            builder.declare_action("x", completes="b", fails_to=None)
            builder.allow("x", "a")

        text = render.as_dot(matrix.from_plugins(("p", plugin)))
        self.assertNotIn("cluster_group", text)
        self.assertIn('"a" -> "b" [label="x"];', text)
        self.assertEqual({"b"}, parse_dot(text)["terminal"])

    def test_renders_with_graphviz(self):
        # The text is valid Graphviz: dot accepts it when installed.
        import shutil
        import subprocess
        if shutil.which("dot") is None:
            self.skipTest("Graphviz (dot) is not installed")
        for name, m in matrices().items():
            done = subprocess.run(["dot", "-Tsvg"], input=render.as_dot(m),
                                  capture_output=True, text=True,
                                  timeout=60)
            self.assertEqual(0, done.returncode, (name, done.stderr))
            self.assertNotIn("Warning", done.stderr, name)
