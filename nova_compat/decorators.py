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

"""The ``nova`` matrix plugin against Nova's own ``check_instance_state``.

``python -m nova_compat.decorators``, inside the nova-compat environment:
for every action of the ``nova`` plugin that is a method of Nova's
``nova.compute.api.API`` (or, for the two reboots, the method Nova's
``reboot`` hands over to), the decorator's own arguments are read from the
installed Nova (the closure of its wrapper: ``vm_state``, ``task_state``,
``must_have_launched``), and every cell is compared: each vm_state and
task_state of Nova's ``vm_states`` and ``task_states`` modules (and no
task), on an instance that launched and on one that never did. Nova's
verdict is the decorator's; vmstate's is ``Matrix.is_allowed``.

Two kinds of cell are counted apart, as explained, not as differences:
``soft_delete`` of a never-launched instance, which the decorator refuses
and Nova's servers controller then answers with a ``delete`` (vmstate's
plugin says so as data: ``unlaunched=``); and vm_state ``deleted``, where
Nova never reaches the decorator (a deleted server is not found: 404)
and vmstate allows nothing (``deleted`` is terminal). Exits 1 on any
other difference.
"""

import sys
from typing import Any

from nova.compute import api as compute_api
from nova.compute import task_states
from nova.compute import vm_states

from vmstate.matrix import loader

#: vmstate action -> the method of nova.compute.api.API that checks it,
#: where the names differ (Nova's reboot checks again per reboot type).
METHODS = {"reboot": "_soft_reboot", "reboot_hard": "_hard_reboot",
           "migrate": "resize"}


def explained(action: str, vm_state: str, launched: bool) -> str | None:
    """Why Nova's REST answer differs from the decorator in this cell on
    purpose, or ``None`` (see the module's description)."""
    if vm_state == vm_states.DELETED:
        return "deleted: Nova answers 404 first; terminal in vmstate"
    if action == "soft_delete" and not launched:
        return "soft_delete never launched: Nova's controller deletes"
    return None


def _constants(module: Any) -> list[str]:
    return sorted({v for k, v in vars(module).items()
                   if k.isupper() and isinstance(v, str)})


def guard_of(method: Any) -> tuple[Any, Any, bool] | None:
    """``(vm_states, task_states, must_have_launched)`` of the
    ``check_instance_state`` around ``method`` (``None``: any), or
    ``None`` when it has none."""
    fn = method
    while fn is not None:
        code = getattr(fn, "__code__", None)
        wanted = {"vm_state", "task_state", "must_have_launched"}
        if code is not None and wanted <= set(code.co_freevars):
            cells = dict(zip(code.co_freevars,
                             (c.cell_contents for c in fn.__closure__),
                             strict=True))
            return (cells["vm_state"], cells["task_state"],
                    cells["must_have_launched"])
        fn = getattr(fn, "__wrapped__", None)
    return None


def compare(matrix: Any) -> tuple[int, list[str], list[str], int]:
    """(cells compared, differences, actions with no Nova decorator,
    cells explained)."""
    vms = _constants(vm_states)
    tasks: list[str | None] = [None, *_constants(task_states)]
    cells, differences, unchecked, skipped = 0, [], [], 0
    for action in sorted(matrix.actions):
        method = getattr(compute_api.API, METHODS.get(action, action), None)
        guard = guard_of(method) if method is not None else None
        if guard is None:
            unchecked.append(action)
            continue
        allowed_vm, allowed_task, must_launch = guard
        for launched in (True, False):
            for vm in vms:
                if explained(action, vm, launched):
                    skipped += len(tasks)
                    continue
                for task in tasks:
                    cells += 1
                    nova = ((allowed_vm is None or vm in allowed_vm)
                            and (allowed_task is None
                                 or task in allowed_task)
                            and (launched or not must_launch))
                    ours = matrix.is_allowed(action, vm, task,
                                             launched=launched)
                    if nova != ours:
                        differences.append(
                            "%s vm_state=%s task_state=%s launched=%s: "
                            "Nova %s, vmstate %s" % (
                                action, vm, task, launched,
                                "allows" if nova else "refuses",
                                "allows" if ours else "refuses"))
    return cells, differences, unchecked, skipped


def main() -> int:
    matrix = loader.load(["nova"])
    loader.set_default(matrix)
    cells, differences, unchecked, skipped = compare(matrix)
    print("nova plugin against nova.compute.api's check_instance_state: "
          "%d cells, %d differ (%d more explained: vm_state deleted, "
          "soft_delete of a never-launched instance)" % (
              cells, len(differences), skipped))
    print("actions without a decorator to compare (checked elsewhere in "
          "Nova, or not Nova's): %s" % (", ".join(unchecked) or "none"))
    for line in differences:
        print("  " + line)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
