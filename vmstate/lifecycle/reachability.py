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



"""Which vm_states can still lead to an awaited one, as the matrix says.

A wait fails at once, rather than at its timeout, when the instance
settles (no task running) in a vm_state from which the awaited one
cannot be reached. The rule, for an awaited vm_state ``T``:

* ``error`` and ``deleted`` are failures, unless ``T`` is that state
  (the REST contract; Emulab's TBFAILED);
* beyond those, a vm_state of the matrix's vocabulary from which no path
  of matrix actions leads to ``T`` without passing through ``error`` or
  ``deleted``. A path's steps are the actions allowed from a vm_state
  (with any task_state), each leading to the vm_state it ``completes``
  to (or the same one) and to the one it ``fails_to``, plus the build
  (``building`` to ``active`` or ``error``).

Why this is sound: every change vmstate makes on its own is a matrix
action (begun only where the matrix allows it) and its completion or
failure, so from such a vm_state ``T`` can only come back through a
failure state, which ends the wait anyway. What it does not foresee is a
change that ignores the matrix (a service's unconditional PATCH, an
admin's reset); the rule trusts the matrix there, and never declares a
vm_state outside the vocabulary hopeless. With Nova's matrix the rule
adds little to the first one (nothing leads back to ``building``), since
``delete``, ``soft_delete`` and ``restore`` connect almost everything;
with narrower matrices it says more.
"""

import functools

from vmstate import states
from vmstate.lifecycle.tasks import BUILD
from vmstate.matrix import OTHER
from vmstate.matrix import Matrix

#: vm_states that end a wait for any other vm_state.
FAILURE_STATES = frozenset((states.ERROR, states.DELETED))


@functools.lru_cache(maxsize=256)
def _successors(matrix: Matrix) -> dict[str, frozenset[str]]:
    """vm_state -> the vm_states one matrix action can lead it to."""
    edges: dict[str, set[str]] = {vm: set() for vm in matrix.vm_states}
    for action, definition in matrix.actions.items():
        starts = {vm for vm, _ in matrix.cells(action) if vm != OTHER}
        for vm in starts:
            edges.setdefault(vm, set()).update(definition.outcomes(vm))
    if BUILD.name not in matrix.actions and states.BUILDING in edges:
        edges[states.BUILDING].update(
            s for s in (BUILD.completes, BUILD.fails_to) if s)
    return {vm: frozenset(to) for vm, to in edges.items()}


@functools.lru_cache(maxsize=1024)
def can_reach(matrix: Matrix, target: str) -> frozenset[str]:
    """The vm_states from which matrix actions lead to ``target``
    without passing through a failure state (``target`` included)."""
    predecessors: dict[str, set[str]] = {}
    for vm, targets in _successors(matrix).items():
        for to in targets:
            predecessors.setdefault(to, set()).add(vm)
    found = {target}
    frontier = [target]
    while frontier:
        current = frontier.pop()
        for vm in predecessors.get(current, ()):
            if vm in found or vm in FAILURE_STATES:
                continue
            found.add(vm)
            frontier.append(vm)
    return frozenset(found)


def hopeless(matrix: Matrix, vm_state: str, target: str) -> bool:
    """Whether an instance settled in ``vm_state`` can no longer reach
    ``target``, by the rule above."""
    if vm_state == target:
        return False
    if vm_state in FAILURE_STATES:
        return True
    if vm_state not in matrix.vm_states:
        return False
    return vm_state not in can_reach(matrix, target)
