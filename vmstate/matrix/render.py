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

"""The matrix as text: a table, JSON and a Graphviz state diagram.

Nova's hand-written state tables drifted from its code; these are
generated from the compiled matrix, so they cannot. Pure functions: each
takes a :class:`~vmstate.matrix.Matrix` and returns a string.
"""

from collections.abc import Callable
from collections.abc import Iterable
import json
import textwrap

from vmstate.matrix.compiled import OTHER
from vmstate.matrix.compiled import Matrix

#: Label of the vm_state row for states outside the vocabulary.
OTHER_VM_LABEL = "* (other)"
#: Label of the task_state group that includes states outside the
#: vocabulary, when every task_state of the vm_state has its own row.
OTHER_TASK_LABEL = "* (any other)"
#: Label of the task_state group that is every task_state.
ANY_TASK_LABEL = "* (any)"
#: The diagram's node for actions that may start from every vm_state.
ANY_NODE = "*"

_WIDTH = 79
_LABEL_WIDTH = 36


def as_json(matrix: Matrix) -> str:
    """The REST API's view of the matrix (:meth:`Matrix.as_dict`)."""
    return json.dumps(matrix.as_dict(), indent=2)


def common_actions(matrix: Matrix) -> frozenset[str]:
    """The actions allowed in every cell, known states or not."""
    cells = [matrix.allowed_actions(vm, task)
             for vm in (*matrix.vm_states, OTHER)
             for task in (None, *matrix.task_states, OTHER)]
    return frozenset.intersection(*cells)


def table_rows(matrix: Matrix
               ) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """``(vm_state, task_states, actions)``, one row per group of cells.

    ``actions`` leaves out :func:`common_actions`, which the table states
    once. Within one vm_state, task_states that allow the same actions
    share a row; ``None`` (no task) is spelled ``"None"``; a group allowing
    nothing beyond the common actions has no row. The group holding the
    task_states outside the vocabulary is labelled
    :data:`OTHER_TASK_LABEL`; when it has a row, every other group of that
    vm_state has one too (even an empty one), so that "any other" is
    exact. vm_states outside the vocabulary are the :data:`OTHER_VM_LABEL`
    rows.
    """
    common = common_actions(matrix)
    rows = []
    task_keys: tuple[str | None, ...] = (None, *matrix.task_states, OTHER)
    for vm in (*matrix.vm_states, OTHER):
        groups: dict[frozenset[str], list[str | None]] = {}
        for task in task_keys:
            groups.setdefault(matrix.allowed_actions(vm, task),
                              []).append(task)
        other_row = any(OTHER in tasks and actions - common
                        for actions, tasks in groups.items())
        vm_label = OTHER_VM_LABEL if vm == OTHER else vm
        vm_rows = []
        for actions, tasks in groups.items():
            extra = tuple(sorted(actions - common))
            if not extra and not other_row:
                continue
            if len(tasks) == len(task_keys):
                labels: tuple[str, ...] = (ANY_TASK_LABEL,)
            elif OTHER in tasks:
                labels = (OTHER_TASK_LABEL,)
            else:
                labels = tuple("None" if t is None else t for t in tasks)
            vm_rows.append((vm_label, labels, extra))
        # Groups come in vocabulary order of their first task_state; the
        # catch-all group reads best last.
        vm_rows.sort(key=lambda row: row[1] == (OTHER_TASK_LABEL,))
        rows.extend(vm_rows)
    return rows


def as_table(matrix: Matrix) -> str:
    """A text table of the cells in which an action may start."""
    rows = table_rows(matrix)
    common = sorted(common_actions(matrix))
    vm_width = max([len("vm_state"), *(len(r[0]) for r in rows)])
    task_width = 26
    actions_width = max(_WIDTH - vm_width - task_width - 4, 20)
    lines = [
        "Matrix of plugins %s: %d actions, %d vm_states, %d task_states" % (
            ", ".join(matrix.plugins), len(matrix.actions),
            len(matrix.vm_states), len(matrix.task_states)),
    ]
    if common:
        lines += _wrap(common, _WIDTH - 2,
                       "Allowed in every cell, not repeated below: ")
    lines += [
        "",
        "%-*s  %-*s  %s" % (vm_width, "vm_state", task_width, "task_state",
                            "allowed actions"),
        "%s  %s  %s" % ("-" * vm_width, "-" * task_width,
                        "-" * actions_width),
    ]
    previous = None
    for vm, tasks, actions in rows:
        if previous is not None and vm != previous:
            lines.append("")
        previous = vm
        task_lines = _wrap(tasks, task_width)
        action_lines = _wrap(actions, actions_width) if actions else ["-"]
        for i in range(max(len(task_lines), len(action_lines))):
            lines.append(("%-*s  %-*s  %s" % (
                vm_width, vm if i == 0 else "",
                task_width, _at(task_lines, i),
                _at(action_lines, i))).rstrip())
    if not rows:
        lines.append("(no action may start beyond those above)")
    return "\n".join(lines)


def _wrap(words: Iterable[str], width: int, first: str = ""
          ) -> list[str]:
    return textwrap.wrap(first + ", ".join(words), width,
                         subsequent_indent="  " if first else "",
                         break_long_words=False, break_on_hyphens=False)


def _at(lines: list[str], i: int) -> str:
    return lines[i] if i < len(lines) else ""


def edges(matrix: Matrix) -> dict[tuple[str, str], list[str]]:
    """``{(from, to): actions}``: the diagram's edges, parallel ones merged.

    An action that may start from every vm_state, including those outside
    the vocabulary (Nova's delete), is one edge from :data:`ANY_NODE`
    instead of one from each state; a loop on :data:`ANY_NODE` when it
    leaves the vm_state as it was.
    """
    starts: dict[str, list[tuple[str, str]]] = {}
    for source, action, target in matrix.transitions():
        starts.setdefault(action, []).append((source, target))
    everywhere = set(matrix.vm_states)
    merged: dict[tuple[str, str], list[str]] = {}
    for action, pairs in starts.items():
        if ({s for s, _ in pairs} == everywhere
                and OTHER in matrix.action_cells(action)):
            completes = matrix.definition(action).completes
            pairs = [(ANY_NODE, completes or ANY_NODE)]
        for pair in pairs:
            merged.setdefault(pair, []).append(action)
    return {pair: sorted(actions) for pair, actions in sorted(merged.items())}


def as_dot(matrix: Matrix) -> str:
    """A Graphviz state diagram: vm_states as nodes, actions as edges.

    Each action is an edge from every vm_state it may start from to the
    vm_state it completes in (a loop when it leaves the vm_state as it
    was); parallel edges share one label. vm_states that only the
    any-state actions leave are drawn as double circles, the way the Akanda
    RUG diagram marks where resources enter and leave the machine.
    """
    graph = edges(matrix)
    left = {source for (source, target) in graph
            if source != ANY_NODE and source != target}
    lines = [
        "digraph vmstate {",
        "  // Generated by vmstate-manage matrix show --format dot from the",
        "  // matrix of plugins: %s" % ", ".join(matrix.plugins),
        "  rankdir=LR;",
    ]
    if any(source == ANY_NODE for source, _ in graph):
        lines += [
            "",
            "  // Actions allowed from any vm_state start here.",
            "  node [shape = rectangle];",
            "  %s [ label = \"any vm_state\" ];" % _quote(ANY_NODE),
        ]
    for shape, names in (
            ("doublecircle", [vm for vm in matrix.vm_states
                              if vm not in left]),
            ("circle", [vm for vm in matrix.vm_states if vm in left])):
        if names:
            lines += ["", "  node [shape = %s];" % shape]
            lines += ["  %s;" % _quote(vm) for vm in names]
    lines.append("")
    for (source, target), actions in graph.items():
        lines.append("  %s -> %s [ label = %s ];" % (
            _quote(source), _quote(target),
            _quote("\n".join(_wrap(actions, _LABEL_WIDTH)))))
    lines.append("}")
    return "\n".join(lines)


def _quote(text: str) -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"')
               .replace("\n", "\\n"))
    return '"%s"' % escaped


FORMATS: dict[str, Callable[[Matrix], str]] = {
    "table": as_table,
    "json": as_json,
    "dot": as_dot,
}


def render(matrix: Matrix, fmt: str) -> str:
    """The matrix in format ``fmt``, one of :data:`FORMATS`.

    :raises ValueError: for an unknown format.
    """
    try:
        return FORMATS[fmt](matrix)
    except KeyError:
        raise ValueError("unknown format %r; known: %s" % (
            fmt, ", ".join(FORMATS))) from None
