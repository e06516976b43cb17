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


"""The allowed cells of every action, as SQL, against every cell in a table.

For each matrix, one row per cell of its vocabulary plus states outside it;
each action's compiled condition must select exactly the rows the matrix
allows.
"""

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from tests.unit.db import base
from vmstate import lifecycle
from vmstate.db import conditions
from vmstate.db import models
from vmstate.db.conditions import OTHER
from vmstate.db.conditions import AllowedCells
from vmstate.matrix import loader

UNKNOWN_VM = "zombie"
UNKNOWN_TASK = "frobnicating"


def _poke(builder):
    builder.declare_vm_state("active", "stopped", "error")
    builder.declare_task_state("spinning", "resting")
    builder.declare_action("poke")
    builder.declare_action("prod")
    builder.declare_action("never")
    # Anything but active, idle; and any task outside the vocabulary.
    builder.allow("poke", "*", (None,))
    builder.deny("poke", "active")
    builder.allow("poke", "*", "*")
    builder.deny("poke", "*", ("spinning", "resting"))
    builder.allow("prod", "active", "*")
    builder.deny("prod", "active", None)
    builder.allow("prod", "*", ("resting",))


def _key(cell):
    vm, task = cell
    return vm, "(no task)" if task is None else task


class TestConditions(base.TestCase):

    def populate(self, matrix):
        """One instance per cell; returns {uuid: (vm_state, task_state)}."""
        now = timeutils.utcnow()
        cells = {}
        rows = []
        for vm in (*matrix.vm_states, UNKNOWN_VM):
            for task in (None, *matrix.task_states, UNKNOWN_TASK):
                uuid = uuidutils.generate_uuid()
                cells[uuid] = (vm, task)
                rows.append({"uuid": uuid, "vm_state": vm,
                             "task_state": task, "power_state": 0,
                             "version": 1, "state_changed_at": now,
                             "created_at": now, "updated_at": now})
        with self.db.engine.begin() as conn:
            conn.execute(sa.insert(models.instances), rows)
        return cells

    def check(self, matrix):
        cells = self.populate(matrix)
        table = models.instances
        with self.db.engine.connect() as conn:
            for action in matrix.actions:
                allowed = lifecycle.allowed_cells(matrix, action)
                cond = conditions.condition(allowed)
                stmt = sa.select(table.c.uuid)
                if cond is not None:
                    stmt = stmt.where(cond)
                found = {row.uuid for row in conn.execute(stmt)}
                wanted = {uuid for uuid, (vm, task) in cells.items()
                          if matrix.is_allowed(action, vm, task)}
                self.assertEqual(
                    sorted(map(_key, (cells[u] for u in wanted))),
                    sorted(map(_key, (cells[u] for u in found))),
                    action)
                for vm, task in cells.values():
                    self.assertEqual(matrix.is_allowed(action, vm, task),
                                     allowed.admits(vm, task),
                                     (action, vm, task))

    def test_nova(self):
        self.check(loader.load(["nova"]))

    def test_blueprint(self):
        self.check(loader.load(["blueprint"]))

    def test_wildcards_and_denials(self):
        self.check(loader.from_plugins(("poke", _poke)))

    def test_any_any_but_terminal_is_one_term(self):
        nova = loader.load(["nova"])
        sql = str(conditions.condition(
            lifecycle.allowed_cells(nova, "delete")).compile(
                compile_kwargs={"literal_binds": True}))
        # Every cell but the terminal vm_state's: no task_state term.
        self.assertEqual("(instances.vm_state NOT IN ('deleted'))", sql)

    def test_guards_group_into_few_terms(self):
        nova = loader.load(["nova"])
        sql = str(conditions.condition(
            lifecycle.allowed_cells(nova, "reboot_hard")).compile(
                compile_kwargs={"literal_binds": True}))
        # Five vm_states share one task set: one IN for each attribute.
        self.assertEqual(1, sql.count("vm_state IN"), sql)
        self.assertEqual(1, sql.count("task_state IN"), sql)

    def test_compiled_once_per_value(self):
        nova = loader.load(["nova"])
        cells = nova.action_cells("reboot")
        first = AllowedCells.of(cells, nova.vm_states, nova.task_states)
        again = AllowedCells.of(dict(cells), list(nova.vm_states),
                                set(nova.task_states))
        self.assertEqual(first, again)
        self.assertEqual(hash(first), hash(again))
        self.assertIs(conditions.condition(first),
                      conditions.condition(again))

    def test_other_never_matches_no_task(self):
        allowed = AllowedCells.of({"active": [OTHER]}, {"active"},
                                  {"rebooting"})
        self.assertFalse(allowed.admits("active", None))
        self.assertFalse(allowed.admits("active", "rebooting"))
        self.assertTrue(allowed.admits("active", "dreaming"))
        self.assertFalse(allowed.admits("stopped", "dreaming"))
