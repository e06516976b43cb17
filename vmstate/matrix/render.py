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
import dataclasses
import json
import textwrap
from typing import Any

from vmstate import states
from vmstate.matrix.builder import ActionDef
from vmstate.matrix.compiled import OTHER
from vmstate.matrix.compiled import TERMINAL
from vmstate.matrix.compiled import Matrix

#: Label of the vm_state row for states outside the vocabulary.
OTHER_VM_LABEL = "* (other)"
#: Label of the task_state group that includes states outside the
#: vocabulary, when every task_state of the vm_state has its own row.
OTHER_TASK_LABEL = "* (any other)"
#: Label of the task_state group that is every task_state.
ANY_TASK_LABEL = "* (any)"

_WIDTH = 79
_LABEL_WIDTH = 36


def as_json(matrix: Matrix) -> str:
    """The REST API's view of the matrix (:meth:`Matrix.as_dict`)."""
    return json.dumps(matrix.as_dict(), indent=2)


def _live(matrix: Matrix) -> list[str]:
    """The vocabulary's vm_states but the terminal ones."""
    return [vm for vm in matrix.vm_states if vm not in TERMINAL]


def common_actions(matrix: Matrix) -> frozenset[str]:
    """The actions allowed in every cell, known states or not, but those
    of the terminal vm_states (which allow nothing)."""
    cells = [matrix.allowed_actions(vm, task)
             for vm in (*_live(matrix), OTHER)
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
    terminal = [vm for vm in matrix.vm_states if vm in TERMINAL]
    if common:
        lines += _wrap(common, _WIDTH - 2,
                       "Allowed in every cell%s, not repeated below: " % (
                           " but %s" % ", ".join(terminal)
                           if terminal else ""))

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


@dataclasses.dataclass(frozen=True)
class Diagram:
    """The state diagram of a matrix, as :func:`as_dot` draws it.

    Every start of an action (:meth:`Matrix.transitions`) is drawn exactly
    once, in one of four ways, so that no label is repeated and none
    overlaps another:

    ``edges``
        ``{(from, to): actions}``: an arrow from a vm_state to the
        different vm_state the actions complete in; parallel arrows merged.
    ``in_place``
        ``{vm_state: actions}``: the actions that leave the vm_state as it
        was, listed inside its node instead of as loops.
    ``group`` and ``group_edges``
        the vm_states (``group``, a dashed box) that the broad actions may
        all start from (Nova's delete may start from every vm_state), and
        ``{to: actions}``: one arrow from the box's border for each target
        instead of one from every member; ``group_in_place`` the broad
        actions that leave every member's vm_state unchanged, named once
        on the box.
    ``creation``
        ``(initial, completes, action)`` when the diagram shows how a new
        instance enters the matrix (it starts in ``initial`` and its build
        task completes in ``completes``), else ``None``.
    """

    vm_states: tuple[str, ...]
    edges: dict[tuple[str, str], tuple[str, ...]]
    in_place: dict[str, tuple[str, ...]]
    group: tuple[str, ...]
    group_edges: dict[str, tuple[str, ...]]
    group_in_place: tuple[str, ...]
    creation: tuple[str, str, str] | None


def diagram(matrix: Matrix, creation: ActionDef | None = None,
            initial: str = states.BUILDING) -> Diagram:
    """Lay out the transitions of ``matrix`` for :func:`as_dot`.

    An action is *broad* when it may start from every vm_state other than
    the one it completes in and those no action leads out of (a terminal
    vm_state such as ``deleted``): its arrows leave the group box once.

    :param creation: what the build task of a new instance does (vmstate's
        lifecycle passes its own; a matrix that declares the action itself
        needs none); drawn from ``initial`` when both are given and
        ``initial`` is a vm_state of the matrix.
    """
    everywhere = set(matrix.vm_states)
    starts: dict[str, set[str]] = {}
    # Where each start may complete: an action with a completion rule
    # (a rebuild of a stopped server ends stopped) has its own targets per
    # vm_state it starts from.
    ends: dict[tuple[str, str], set[str]] = {}
    for source, action, end in matrix.transitions():
        starts.setdefault(action, set()).add(source)
        ends.setdefault((action, source), set()).add(end)

    def target(action: str) -> str | None:
        return matrix.definition(action).completes

    moving = {vm for (action, vm), found in ends.items() if found - {vm}}
    terminal = everywhere - moving
    broad = {action for action, sources in starts.items()
             if len(sources) >= _BROAD_MIN
             and sources >= everywhere - {target(action)} - terminal}
    targets = {target(a) for a in broad} - {None}
    group = tuple(vm for vm in matrix.vm_states
                  if vm not in terminal and vm not in targets)
    if len(group) < _BROAD_MIN:
        broad, group = set(), ()
    members = set(group)

    edges: dict[tuple[str, str], list[str]] = {}
    in_place: dict[str, list[str]] = {}
    group_edges: dict[str, list[str]] = {}
    group_in_place: list[str] = []
    for action in sorted(starts):
        to = target(action)
        sources = starts[action]
        if action in broad:
            if to is None:
                group_in_place.append(action)
            else:
                group_edges.setdefault(to, []).append(action)
            sources = sources - members
        for vm in sorted(sources):
            for end in sorted(ends[(action, vm)]):
                if end == vm:
                    in_place.setdefault(vm, []).append(action)
                else:
                    edges.setdefault((vm, end), []).append(action)
    made = None
    if (creation is not None and initial in everywhere
            and creation.completes in everywhere
            and creation.name not in matrix.actions):
        made = (initial, creation.completes, creation.name)
    return Diagram(
        vm_states=matrix.vm_states,
        edges={pair: tuple(a) for pair, a in sorted(edges.items())},
        in_place={vm: tuple(a) for vm, a in in_place.items()},
        group=group,
        group_edges={to: tuple(a) for to, a in sorted(group_edges.items())},
        group_in_place=tuple(group_in_place),
        creation=made)


def as_dot(matrix: Matrix, creation: ActionDef | None = None) -> str:
    """A Graphviz state diagram: vm_states as nodes, actions as arrows.

    Laid out by :func:`diagram`: an arrow from each vm_state an action may
    start from to the vm_state it completes in; the actions that leave a
    vm_state unchanged listed in its node; the broad actions (Nova's
    delete) as one arrow from the dashed box around the vm_states they
    may all start from. A new instance enters at the filled dot; states
    nothing leads out of are drawn with a double border. Render it with
    ``dot -Tsvg`` (or ``-Tpng``).
    """
    d = diagram(matrix, creation)
    lines = [
        "digraph vmstate {",
        "  // Generated by vmstate-manage matrix show --format dot from the",
        "  // matrix of plugins: %s" % ", ".join(matrix.plugins),
        "  rankdir=LR;",
        "  compound=true;",
        "  newrank=true;",
        "  nodesep=0.2;",
        "  ranksep=0.45;",
        '  fontname="Helvetica";',
        '  node [shape=box, style=rounded, fontname="Helvetica", '
        "fontsize=12, margin=\"0.12,0.06\"];",
        '  edge [fontname="Helvetica", fontsize=10];',
        "  labelloc=b;",
        "  label=%s;" % _html(_legend(d)),
    ]
    terminal = [vm for vm in d.vm_states
                if vm not in {s for s, _ in d.edges} and vm not in d.group
                and (d.creation is None or vm != d.creation[0])]

    def node(vm: str) -> str:
        label = "<b>%s</b>" % _escape(vm)
        if d.in_place.get(vm):
            small = _wrap(d.in_place[vm], _LABEL_WIDTH)
            label += '<br/><font point-size="9">%s</font>' % "".join(
                _escape(line) + _LEFT for line in small)
        extra = ", peripheries=2" if vm in terminal else ""
        return "  %s [label=%s%s];" % (_quote(vm), _html(label), extra)

    if d.creation is not None:
        lines += ["", "  // A new instance starts here.",
                  '  "%s" [shape=point, width=0.15, label=""];' % _START,
                  '  "%s" -> %s;' % (_START, _quote(d.creation[0]))]
    if d.group:
        lines += ["", "  subgraph cluster_group {",
                  "    style=dashed;", "    color=gray40;",
                  "    labelloc=t;", "    labeljust=l;"]
        if d.group_in_place:
            lines.append("    label=%s;" % _html(
                '<font point-size="9">in every state here: %s</font>'
                % _escape(", ".join(d.group_in_place))))
        else:
            lines.append('    label="";')
        lines += ["  " + node(vm) for vm in d.group]
        lines.append("  }")
    lines.append("")
    lines += [node(vm) for vm in d.vm_states if vm not in d.group]
    lines.append("")
    if d.creation is not None:
        initial, completes, name = d.creation
        lines.append("  %s -> %s [label=%s, style=bold];" % (
            _quote(initial), _quote(completes), _quote(name)))
    for (source, target), actions in d.edges.items():
        lines.append("  %s -> %s [label=%s];" % (
            _quote(source), _quote(target),
            _quote("\n".join(_wrap(actions, _LABEL_WIDTH)))))
    if d.group:
        tail = _group_tail(d)
        for target, actions in d.group_edges.items():
            lines.append("  %s -> %s [label=%s, ltail=cluster_group, "
                         "style=dashed];" % (
                             _quote(tail), _quote(target),
                             _quote("\n".join(_wrap(actions,
                                                     _LABEL_WIDTH)))))
    lines.append("}")
    return "\n".join(lines)


_LEFT = '<br align="left"/>'
#: The name of the diagram's entry point (a filled dot, no vm_state).
_START = "__new__"
#: Fewest vm_states a broad action starts from, and fewest in the group.
_BROAD_MIN = 3


def _group_tail(d: Diagram) -> str:
    """The member of the group the broad arrows are drawn from.

    Any member would do (the arrow is clipped at the box); the one with
    the most arrows of its own sits in the middle of the layout.
    """
    weight = {vm: 0 for vm in d.group}
    for source, target in d.edges:
        for vm in (source, target):
            if vm in weight:
                weight[vm] += 1
    return max(d.group, key=lambda vm: (weight[vm], -d.group.index(vm)))


def _legend(d: Diagram) -> str:
    parts = ["An arrow: from the vm_states an action may start in to the "
             "vm_state it completes in."]
    if d.in_place:
        parts.append("Small print in a state: actions that leave it "
                     "unchanged.")
    if d.group:
        parts.append("Dashed arrows: from every state in the dashed box.")
    return '<font point-size="10">%s</font>' % _escape(" ".join(parts))


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;"))


def _html(label: str) -> str:
    return "<%s>" % label


def _quote(text: str) -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"')
               .replace("\n", "\\n"))
    return '"%s"' % escaped


FORMATS: dict[str, Callable[..., str]] = {
    "table": as_table,
    "json": as_json,
    "dot": as_dot,
}


def render(matrix: Matrix, fmt: str, **options: Any) -> str:
    """The matrix in format ``fmt``, one of :data:`FORMATS`.

    ``options`` go to the format's function (``creation`` for ``dot``).

    :raises ValueError: for an unknown format.
    """
    try:
        func = FORMATS[fmt]
    except KeyError:
        raise ValueError("unknown format %r; known: %s" % (
            fmt, ", ".join(FORMATS))) from None
    return func(matrix, **options) if fmt == "dot" else func(matrix)
