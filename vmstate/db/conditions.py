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


"""Where clauses for compare-and-swap: allowed cells and expected values.

The lifecycle layer describes where an action may start as plain data, an
:class:`AllowedCells`; this module turns it into one SQL condition, so that
checking the matrix and starting the action are a single UPDATE. The db
layer never sees the matrix itself.

``None`` always means "no task running" (``task_state IS NULL``); the
wildcard :data:`OTHER` stands for any state outside the vocabulary, so a
cell keyed by it matches only rows whose state some other system wrote.
"""

from collections.abc import Hashable
from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import functools
from typing import Any

import sqlalchemy as sa

from vmstate import states
from vmstate.db import models

#: A state outside the vocabulary (the matrix's ``OTHER``).
OTHER = states.ANY

TaskSet = frozenset[str | None]


@dataclasses.dataclass(frozen=True)
class AllowedCells:
    """The ``(vm_state, task_state)`` cells in which an action may start.

    ``cells`` pairs each vm_state (or :data:`OTHER`) with the task_states
    allowed with it (``None``: no task; :data:`OTHER`: any task_state
    outside ``task_states``). ``vm_states`` and ``task_states`` are the
    vocabulary that :data:`OTHER` is measured against. Immutable and
    hashable, so its SQL is compiled once (see :func:`condition`).
    """

    cells: frozenset[tuple[str, TaskSet]]
    vm_states: frozenset[str]
    task_states: frozenset[str]

    @classmethod
    def of(cls, cells: Mapping[str, Iterable[str | None]],
           vm_states: Iterable[str],
           task_states: Iterable[str]) -> "AllowedCells":
        """Build from ``{vm_state: task_states}`` (the matrix's shape).

        Equal inputs give equal (and equally hashed) values.
        """
        return cls(frozenset((vm, frozenset(tasks))
                             for vm, tasks in cells.items() if tasks),
                   frozenset(vm_states), frozenset(task_states))

    def admits(self, vm_state: str, task_state: str | None) -> bool:
        """Whether the cell is allowed, evaluated in Python (no database)."""
        vm = vm_state if vm_state in self.vm_states else OTHER
        task = (task_state if task_state is None
                or task_state in self.task_states else OTHER)
        return any(vm == v and task in tasks for v, tasks in self.cells)


def _vm_condition(vms: frozenset[str],
                  vocabulary: frozenset[str]) -> Any:
    """``vm_state`` among ``vms`` (which may hold OTHER); None: any."""
    column = models.instances.c.vm_state
    known = vms & vocabulary
    if OTHER in vms:
        excluded = vocabulary - known
        if not excluded:
            return None
        return column.notin_(sorted(excluded))
    return column.in_(sorted(known))


def _task_condition(tasks: TaskSet, vocabulary: frozenset[str]) -> Any:
    """``task_state`` among ``tasks`` (None, names, OTHER); None: any."""
    column = models.instances.c.task_state
    known = frozenset(t for t in tasks if t is not None) & vocabulary
    parts = []
    if OTHER in tasks:
        excluded = vocabulary - known
        if not excluded and None in tasks:
            return None
        # NULL NOT IN (...) is not true: "other" never means "no task".
        parts.append(column.notin_(sorted(excluded)) if excluded
                     else column.is_not(None))
    elif known:
        parts.append(column.in_(sorted(known)))
    if None in tasks:
        parts.append(column.is_(None))
    return parts[0] if len(parts) == 1 else sa.or_(*parts)


@functools.lru_cache(maxsize=1024)
def condition(allowed: AllowedCells) -> Any:
    """The SQL condition admitting exactly ``allowed``'s cells.

    vm_states sharing the same task set are grouped into one ``IN``, so
    Nova's guards compile to one or two terms. Returns ``None`` when every
    cell is allowed (delete: no state condition at all) and a false
    condition when none is. Cached: the matrix is immutable.
    """
    if not allowed.cells:
        return sa.false()
    by_tasks: dict[TaskSet, set[str]] = {}
    for vm, tasks in allowed.cells:
        by_tasks.setdefault(tasks, set()).add(vm)
    terms = []
    # Sorted, so equal inputs compile to the same SQL text (and cache key).
    for tasks, vms in sorted(by_tasks.items(),
                             key=lambda kv: sorted(kv[1])):
        vm_cond = _vm_condition(frozenset(vms), allowed.vm_states)
        task_cond = _task_condition(tasks, allowed.task_states)
        if vm_cond is None and task_cond is None:
            return None
        terms.append(vm_cond if task_cond is None
                     else task_cond if vm_cond is None
                     else sa.and_(vm_cond, task_cond))
    return terms[0] if len(terms) == 1 else sa.or_(*terms)


def launched_condition(launched: bool) -> Any:
    """Whether the instance ever launched, from its history (correlated
    with the UPDATE's row).

    An instance launched once some change brought it to a vm_state
    outside :data:`vmstate.states.UNLAUNCHED_VM_STATES` (``building``,
    ``error``): registered as active, built, rebuilt from an error.
    Until then it never ran (Nova's ``launched_at`` is unset).
    """
    events = models.instance_events.c
    ever = sa.exists().where(
        events.instance_uuid == models.instances.c.uuid,
        events.to_vm_state.notin_(states.UNLAUNCHED_VM_STATES))
    return ever if launched else ~ever


#: The attributes a compare-and-swap may expect.
EXPECTABLE = ("vm_state", "task_state", "power_state", "version", "task_id")


def expected_condition(expected: Mapping[str, Any]) -> list[Any]:
    """Terms requiring each expected attribute's value.

    A value ``None`` means NULL (for ``task_state``: no task running); a
    list, tuple or set means any of its members (``None`` among them
    included). A key that is absent is not compared.
    """
    table = models.instances
    terms = []
    for key, value in expected.items():
        column = table.c[key]
        if isinstance(value, (list, tuple, set, frozenset)):
            values = set(value)
            parts = []
            named = sorted(v for v in values if v is not None)
            if named:
                parts.append(column.in_(named))
            if None in values:
                parts.append(column.is_(None))
            terms.append(sa.or_(*parts) if parts else sa.false())
        elif value is None:
            terms.append(column.is_(None))
        else:
            terms.append(column == value)
    return terms


def expected_shape(expected: Mapping[str, Any]
                   ) -> tuple[Hashable, dict[str, Any]]:
    """The form of an ``expected`` mapping, and its values as parameters.

    Statements are built (and compiled) once per form, see
    :func:`expected_terms`; the values travel as bound parameters named
    ``e_<attribute>``. Same meaning as :func:`expected_condition`.
    """
    shape = []
    params: dict[str, Any] = {}
    for key in sorted(expected):
        value = expected[key]
        if isinstance(value, (list, tuple, set, frozenset)):
            named = sorted(v for v in set(value) if v is not None)
            shape.append((key, "any", bool(named), None in value))
            if named:
                params["e_" + key] = named
        elif value is None:
            shape.append((key, "null", False, True))
        else:
            shape.append((key, "eq", True, False))
            params["e_" + key] = value
    return tuple(shape), params


def expected_terms(shape: Hashable) -> list[Any]:
    """The WHERE terms of an :func:`expected_shape` form."""
    table = models.instances
    terms = []
    for key, kind, named, null in shape:  # type: ignore[attr-defined]
        column = table.c[key]
        param = sa.bindparam("e_" + key, type_=column.type,
                             expanding=kind == "any")
        if kind == "eq":
            terms.append(column == param)
        elif kind == "null":
            terms.append(column.is_(None))
        else:
            parts = []
            if named:
                parts.append(column.in_(param))
            if null:
                parts.append(column.is_(None))
            terms.append(sa.or_(*parts) if parts else sa.false())
    return terms
