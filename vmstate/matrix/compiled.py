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

"""The compiled, immutable allowed-actions matrix.

Every question asked on a request path (which actions may start here, may
this one) is answered by one hash lookup into tables built once at compile
time. The rules are kept only to *explain* a decision, which is off the hot
path.

The matrix is total: a vm_state or task_state outside the vocabulary is
looked up as :data:`OTHER`, which only wildcard (``"*"``) rules cover. So
Nova's unchecked actions (delete, force_delete) stay possible on an
instance whose state some other system wrote, and nothing else is.

A terminal vm_state (:data:`vmstate.states.TERMINAL_VM_STATES`,
``deleted``) allows no action, whatever the rules say: a ``"*"`` rule
(Nova's delete) covers every other cell, never that one.
"""

from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import types
from typing import Any

from vmstate import exception
from vmstate import states
from vmstate.matrix.builder import ALLOW
from vmstate.matrix.builder import ActionDef
from vmstate.matrix.builder import Rule
from vmstate.matrix.builder import TimeoutDef

#: The lookup key of a state outside the vocabulary.
OTHER = "*"

#: vm_states that allow no action (see the module docstring).
TERMINAL = frozenset(states.TERMINAL_VM_STATES)
#: The rule an explanation names for a terminal vm_state.
TERMINAL_RULE = "terminal vm_state: nothing leaves it"

Cell = tuple[str, str | None]
_EMPTY: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Explanation:
    """Why an action is or is not allowed in one cell.

    ``attribute`` is ``None`` when allowed; otherwise ``"vm_state"`` when no
    task_state would help, or ``"task_state"`` when the vm_state allows the
    action but the running task does not (Nova's order of checks).
    ``plugin`` and ``rule`` name the last rule that decided the cell, or are
    ``None`` when no rule ever mentioned it (denied by default).
    """

    action: str
    vm_state: str
    task_state: str | None
    allowed: bool
    attribute: str | None
    plugin: str | None
    rule: str | None

    def __str__(self) -> str:
        verdict = "allowed" if self.allowed else "refused on %s" % (
            self.attribute)
        by = ("by %s in plugin %r" % (self.rule, self.plugin)
              if self.plugin else "by default (no rule covers it)")
        return "%s in (%s, %s): %s, %s" % (
            self.action, self.vm_state, self.task_state, verdict, by)


class Matrix:
    """Which actions may start from each ``(vm_state, task_state)``.

    Built by :meth:`Builder.compile`; immutable afterwards.
    """

    __slots__ = ("plugins", "vm_states", "task_states", "actions", "rules",
                 "timeouts", "transient", "_by_cell", "_cells", "_vm_ok",
                 "_needs_launched",
                 "_known_vm", "_known_task")

    plugins: tuple[str, ...]
    vm_states: tuple[str, ...]
    task_states: tuple[str, ...]
    actions: Mapping[str, ActionDef]
    rules: tuple[Rule, ...]
    #: task_state -> the timeout the plugins gave it (see
    #: :meth:`Builder.timeout`); the deployment's configuration may
    #: override these (:mod:`vmstate.lifecycle.timeouts`).
    timeouts: Mapping[str, TimeoutDef]
    #: vm_states held only while a task runs (see
    #: :meth:`Builder.declare_vm_state`).
    transient: frozenset[str]
    _by_cell: Mapping[Cell, frozenset[str]]
    _cells: Mapping[str, frozenset[Cell]]
    _vm_ok: Mapping[str, frozenset[str]]
    _needs_launched: frozenset[str]
    _known_vm: frozenset[str]
    _known_task: frozenset[str]

    def __init__(self, plugins: tuple[str, ...], vm_states: tuple[str, ...],
                 task_states: tuple[str, ...],
                 actions: Mapping[str, ActionDef],
                 rules: tuple[Rule, ...],
                 timeouts: Mapping[str, TimeoutDef] | None = None,
                 transient: frozenset[str] = frozenset()) -> None:
        known_vm = frozenset(vm_states)
        known_task = frozenset(task_states)
        vm_keys = (*vm_states, OTHER)
        task_keys: tuple[str | None, ...] = (None, *task_states, OTHER)

        by_rule: dict[str, list[Rule]] = {a: [] for a in actions}
        for rule in rules:
            by_rule[rule.action].append(rule)

        cells: dict[str, frozenset[Cell]] = {}
        for action, action_rules in by_rule.items():
            allowed = set()
            for vm in vm_keys:
                if vm in TERMINAL:
                    continue
                for task in task_keys:
                    if _decide(action_rules, vm, task, known_vm,
                               known_task)[0]:
                        allowed.add((vm, task))
            cells[action] = frozenset(allowed)

        # Terminal vm_states have their (empty) cells even when the
        # vocabulary does not declare them: they never fall back to OTHER.
        by_cell: dict[Cell, set[str]] = {
            (vm, task): set() for vm in (*vm_keys, *TERMINAL)
            for task in task_keys}
        for action, allowed_cells in cells.items():
            for cell in allowed_cells:
                by_cell[cell].add(action)

        s = object.__setattr__
        s(self, "plugins", tuple(plugins))
        s(self, "vm_states", tuple(vm_states))
        s(self, "task_states", tuple(task_states))
        s(self, "actions", types.MappingProxyType(dict(actions)))
        s(self, "rules", tuple(rules))
        s(self, "timeouts", types.MappingProxyType(dict(timeouts or {})))
        s(self, "transient", frozenset(transient))
        s(self, "_known_vm", known_vm)
        s(self, "_known_task", known_task)
        s(self, "_cells", types.MappingProxyType(cells))
        s(self, "_by_cell", types.MappingProxyType(
            {cell: frozenset(a) for cell, a in by_cell.items()}))
        s(self, "_vm_ok", types.MappingProxyType(
            {a: frozenset(vm for vm, _ in c) for a, c in cells.items()}))
        s(self, "_needs_launched", frozenset(
            a for a, d in actions.items() if d.needs_launched))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the matrix is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("the matrix is immutable")

    def __repr__(self) -> str:
        return "<Matrix plugins=%s actions=%d vm_states=%d task_states=%d>" % (
            ",".join(self.plugins), len(self.actions), len(self.vm_states),
            len(self.task_states))

    # -- lookups (the hot path) ----------------------------------------------

    def key(self, vm_state: str, task_state: str | None) -> Cell:
        """The lookup key of a cell: unknown states become :data:`OTHER`."""
        return (vm_state if vm_state in self._known_vm
                or vm_state in TERMINAL else OTHER,
                task_state if task_state is None
                or task_state in self._known_task else OTHER)

    def allowed_actions(self, vm_state: str, task_state: str | None,
                        launched: bool = True) -> frozenset[str]:
        """The actions that may start from this cell (on an instance
        that never launched: without those that need it, unless their
        never-launched substitute may start)."""
        found = self._by_cell.get((vm_state, task_state))
        if found is None:
            found = self._by_cell[self.key(vm_state, task_state)]
        if not launched:
            # An action with a substitute for a never-launched instance
            # (Nova's soft_delete: delete) stays where its substitute may
            # start.
            return frozenset(
                a for a in found if a not in self._needs_launched
                or self.actions[a].unlaunched in found)
        return found

    def is_allowed(self, action: str, vm_state: str,
                   task_state: str | None, launched: bool = True) -> bool:
        """Whether ``action`` may start from this cell (on an instance
        that launched once, or, ``launched=False``, never did).

        :raises UnknownAction: when the matrix has no such action.
        """
        if self.key(vm_state, task_state) not in self.cells(action):
            return False
        if launched or action not in self._needs_launched:
            return True
        substitute = self.actions[action].unlaunched
        return substitute is not None and self.is_allowed(
            substitute, vm_state, task_state, launched=False)

    @property
    def needs_launched(self) -> frozenset[str]:
        """The actions that start only on an instance that launched once
        (Nova's ``must_have_launched``)."""
        return self._needs_launched

    def cells(self, action: str) -> frozenset[Cell]:
        """Every cell (by lookup key) in which ``action`` may start.

        :raises UnknownAction: when the matrix has no such action.
        """
        try:
            return self._cells[action]
        except KeyError:
            raise exception.UnknownAction(action, self.actions) from None

    def action_cells(self, action: str
                     ) -> Mapping[str, frozenset[str | None]]:
        """``{vm_state: task_states}`` where ``action`` may start.

        Keys and values may include :data:`OTHER`; ``None`` in the values
        means no task. Used to express the matrix as a query condition.

        :raises UnknownAction: when the matrix has no such action.
        """
        grouped: dict[str, set[str | None]] = {}
        for vm, task in self.cells(action):
            grouped.setdefault(vm, set()).add(task)
        return types.MappingProxyType(
            {vm: frozenset(t) for vm, t in grouped.items()})

    def definition(self, action: str) -> ActionDef:
        """What ``action`` does to the state (see :class:`ActionDef`).

        :raises UnknownAction: when the matrix has no such action.
        """
        try:
            return self.actions[action]
        except KeyError:
            raise exception.UnknownAction(action, self.actions) from None

    # -- explanations (off the hot path) --------------------------------------

    def explain(self, action: str, vm_state: str,
                task_state: str | None) -> Explanation:
        """Which attribute refuses ``action`` here and which plugin decided.

        :raises UnknownAction: when the matrix has no such action.
        """
        self.cells(action)
        vm, task = self.key(vm_state, task_state)
        if vm in TERMINAL:
            return Explanation(action, vm_state, task_state, False,
                               "vm_state", "vmstate", TERMINAL_RULE)
        rules = [r for r in self.rules if r.action == action]
        allowed, rule = _decide(rules, vm, task, self._known_vm,
                                self._known_task)
        attribute = None
        if not allowed:
            attribute = ("task_state" if vm in self._vm_ok[action]
                         else "vm_state")
        return Explanation(action, vm_state, task_state, allowed, attribute,
                           rule.plugin if rule else None,
                           rule.describe() if rule else None)

    def refusal(self, action: str, uuid: str, vm_state: str,
                task_state: str | None, launched: bool = True
                ) -> exception.InstanceInvalidState:
        """The Nova-style 409 for ``action`` refused in this cell (or, the
        cell allowing it, on an instance that never launched: Nova names
        ``launched_at``, after the vm_state and the task_state)."""
        vm, task = self.key(vm_state, task_state)
        allowed = self.allowed_actions(vm_state, task_state, launched)
        if (vm, task) in self.cells(action):
            attribute = "launched_at"
        else:
            attribute = ("task_state" if vm in self._vm_ok[action]
                         else "vm_state")
        return exception.InstanceInvalidState(
            action, uuid, vm_state, task_state, allowed,
            attribute=attribute)

    # -- whole-matrix views ---------------------------------------------------

    def transitions(self) -> list[tuple[str, str, str]]:
        """``(from_vm_state, action, to_vm_state)`` for every known start.

        An action that leaves the vm_state unchanged loops on its state;
        one with a completion rule has an edge to each vm_state it may
        complete in (a rebuild from stopped: back to stopped).
        """
        edges = []
        for action in sorted(self.actions):
            definition = self.actions[action]
            starts = sorted({vm for vm, _ in self._cells[action]
                             if vm != OTHER})
            for vm in starts:
                targets = {definition.completion(vm) or vm}
                if definition.origin:
                    # Where the operation began is older than this start.
                    targets |= definition.resumes
                for target in sorted(targets):
                    edges.append((vm, action, target))
        return edges

    def as_dict(self) -> dict[str, Any]:
        """The matrix as the REST API and ``matrix show`` render it.

        ``allowed`` lists every known cell in which at least one action may
        start, in vocabulary order, ``task_state`` ``None`` first.
        """
        allowed = []
        for vm in self.vm_states:
            for task in (None, *self.task_states):
                actions = self._by_cell[(vm, task)]
                if actions:
                    allowed.append({"vm_state": vm, "task_state": task,
                                    "actions": sorted(actions)})
        return {
            "plugins": list(self.plugins),
            "actions": sorted(self.actions),
            "vm_states": list(self.vm_states),
            "task_states": list(self.task_states),
            "allowed": allowed,
        }


def _decide(rules: Iterable[Rule], vm: str, task: str | None,
            known_vm: frozenset[str], known_task: frozenset[str]
            ) -> tuple[bool, Rule | None]:
    """Replay an action's rules on one cell: the last match decides."""
    decided: Rule | None = None
    for rule in rules:
        if rule.matches(vm, task, known_vm, known_task):
            decided = rule
    return (decided is not None and decided.verb == ALLOW), decided
