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


"""What one state transition costs: vmstate's CAS against the Nova pattern.

On SQLite (a temporary file) and PostgreSQL (a scratch database created
through the ``openstack_citest`` account and dropped afterwards), in one
run, the same cycle is timed two ways on one instance:

vmstate
    ``lifecycle.begin(ctx, uuid, "reboot")`` then ``task.finish()``: each
    step one ``UPDATE .. WHERE <allowed> .. RETURNING`` and the history
    INSERT, in one transaction.
Nova pattern (written here, as heavy as Nova's)
    begin as Nova's API does it: read the instance (its own transaction,
    ``compute_api.get``), check the matrix in Python, then
    ``instance.save(expected_task_state=...)``, which is
    ``instance_update_and_get_original``: one transaction that reads the
    row again, compares the expected task_state in Python, runs oslo.db's
    ``update_on_match`` and the history INSERT; then the refresh after
    the save (``instance.refresh()``: one more read). Finish as Nova's
    compute manager does it: the same ``instance_update_and_get_original``
    transaction (read, compare, ``update_on_match``, history INSERT).

Both write the same rows. Statements are counted with SQLAlchemy's
``before_cursor_execute``; transaction control that goes through a
cursor (oslo.db's own BEGIN on SQLite; psycopg2 sends its BEGIN and every
COMMIT without one) is counted apart, since every pattern pays it per
transaction. Targets: at most two
statements per successful transition (history included), and at least
1.5 times the Nova pattern's transitions per second.

Run by hand: ``python benchmarks/cas.py [--cycles N] [--repeat R]
[--postgresql URL]``; throughput is the best of R batches of N cycles,
taken in turns so that a slow moment of the machine hits both alike.
"""

import argparse
import sys
import time

import databases
from oslo_utils import timeutils
from oslo_utils import uuidutils
import results
import sqlalchemy as sa

from vmstate import context
from vmstate import exception
from vmstate import lifecycle
from vmstate.db import api
from vmstate.db import connections
from vmstate.db import models
from vmstate.matrix import loader

MAX_STATEMENTS = 2
MIN_SPEEDUP = 1.5
ADMIN_PG = ("postgresql+psycopg2://openstack_citest:openstack_citest@"
            "127.0.0.1/postgres")
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class Counter:
    """Data statements and transaction control seen by an engine."""

    def __init__(self, engine):
        self.data = self.control = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(_CONTROL):
            self.control += 1
        else:
            self.data += 1

    def reset(self):
        self.data = self.control = 0


# -- the two patterns ------------------------------------------------------

def vmstate_begin(ctx, uuid, matrix):
    return lifecycle.begin(ctx, uuid, "reboot", matrix=matrix)


def vmstate_finish(ctx, uuid, task):
    task.finish()


def _history(session, ctx, uuid, action, before, after, version):
    session.add(models.InstanceEvent(
        instance_uuid=uuid, version=version, action=action,
        from_vm_state=before[0], from_task_state=before[1],
        from_power_state=before[2], to_vm_state=after[0],
        to_task_state=after[1], to_power_state=after[2],
        request_id=ctx.request_id, user_id=ctx.user_id,
        project_id=ctx.project_id, transition_id=uuidutils.generate_uuid(),
        created_at=timeutils.utcnow()))


def _save(session, ctx, inst, action, values):
    """Nova's instance.save(expected_...): update_on_match, then history."""
    # Read before the update: update_on_match refreshes a loaded object.
    version = inst.version
    before = (inst.vm_state, inst.task_state, inst.power_state)
    after = (values.get("vm_state", inst.vm_state), values["task_state"],
             inst.power_state)
    specimen = models.Instance(id=inst.id, uuid=inst.uuid,
                               vm_state=inst.vm_state,
                               task_state=inst.task_state, version=version)
    now = timeutils.utcnow()
    values = dict(values, version=version + 1, updated_at=now,
                  state_changed_at=now)
    session.query(models.Instance).update_on_match(specimen, "uuid", values)
    _history(session, ctx, inst.uuid, action, before, after, version + 1)


def _get(session, uuid):
    return session.query(models.Instance).filter_by(uuid=uuid).one()


def nova_begin(ctx, uuid, matrix):
    main = connections.main
    # The API: compute_api.get, the guard, then instance.save.
    with main.reader.using(ctx) as session:
        inst = _get(session, uuid)
    if not matrix.is_allowed("reboot", inst.vm_state, inst.task_state):
        raise matrix.refusal("reboot", uuid, inst.vm_state, inst.task_state)
    task_id = uuidutils.generate_uuid()
    # instance.save(expected_task_state=[None]):
    # instance_update_and_get_original reads the row in its transaction.
    with main.writer.using(ctx) as session:
        inst = _get(session, uuid)
        if inst.task_state is not None:
            raise exception.TaskAborted(uuid, "reboot", {}, {})
        _save(session, ctx, inst, "reboot",
              {"task_state": "rebooting", "task_id": task_id,
               "task_action": "reboot"})
    # The refresh after the save (instance.refresh()).
    with main.reader.using(ctx) as session:
        inst = _get(session, uuid)
    return task_id


def nova_finish(ctx, uuid, task_id):
    # The compute manager: instance.save(expected_task_state=rebooting),
    # the same read, compare and update in one transaction.
    with connections.main.writer.using(ctx) as session:
        inst = _get(session, uuid)
        if inst.task_state != "rebooting" or inst.task_id != task_id:
            raise exception.TaskAborted(uuid, "reboot", {}, {})
        _save(session, ctx, inst, "reboot",
              {"vm_state": "active", "task_state": None, "task_id": None,
               "task_action": None})


# -- running -----------------------------------------------------------------

def measure(url, cycles, repeat):
    """{pattern: (transitions/s, begins/s, data stmts, control stmts)}.

    Statements are per transition (begin and finish together).
    """
    with databases.vmstate_on(url) as engine:
        counter = Counter(engine)
        ctx = context.get_admin_context()
        matrix = loader.load(["nova"])
        patterns = {"vmstate": (vmstate_begin, vmstate_finish),
                    "nova": (nova_begin, nova_finish)}
        uuids = {name: api.instance_create(
            ctx, {"vm_state": "active", "task_state": None})["uuid"]
            for name in patterns}

        def batch(name, count):
            begin, finish = patterns[name]
            uuid = uuids[name]
            begun = 0.0
            start = time.perf_counter()
            for _ in range(count):
                before = time.perf_counter()
                task = begin(ctx, uuid, matrix)
                begun += time.perf_counter() - before
                finish(ctx, uuid, task)
            return time.perf_counter() - start, begun

        best = dict.fromkeys(patterns, float("inf"))
        best_begin = dict.fromkeys(patterns, float("inf"))
        counts = {}
        for name in patterns:   # warm up caches and pools
            batch(name, 20)
        for _ in range(repeat):
            for name in patterns:
                counter.reset()
                total, begun = batch(name, cycles)
                best[name] = min(best[name], total)
                best_begin[name] = min(best_begin[name], begun)
                counts[name] = (counter.data, counter.control)
        transitions = 2 * cycles
        return {name: (transitions / best[name], cycles / best_begin[name],
                       counts[name][0] / transitions,
                       counts[name][1] / transitions)
                for name in patterns}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200,
                        help="begin+finish cycles per batch (default 200)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="batches per pattern; the best counts")
    parser.add_argument("--postgresql", default=ADMIN_PG,
                        help="an account that may create databases")
    results.add_argument(parser)
    args = parser.parse_args(argv)
    found = results.Results("cas")

    backends = [("SQLite", databases.sqlite_database()),
                ("PostgreSQL",
                 databases.postgresql_database(args.postgresql))]
    all_met = True
    print("%-11s %-9s %13s %9s %16s %14s" % (
        "backend", "pattern", "transitions/s", "begins/s",
        "statements/trans", "control stmts"))
    for label, database in backends:
        with database as url:
            result = measure(url, args.cycles, args.repeat)
        for name, (rate, begins, data, control) in result.items():
            print("%-11s %-9s %13.0f %9.0f %16.2f %14.2f" % (
                label, name, rate, begins, data, control))
            found.figure(label, "%s transitions/s" % name, rate, "1/s")
            found.figure(label, "%s begins/s" % name, begins, "1/s")
            found.figure(label, "%s statements/transition" % name, data,
                         "statements")
        speedup = result["vmstate"][0] / result["nova"][0]
        begin_speedup = result["vmstate"][1] / result["nova"][1]
        statements = result["vmstate"][2]
        met_stmts = found.target(
            "%s statements per transition" % label, statements,
            "<= %d" % MAX_STATEMENTS, statements <= MAX_STATEMENTS)
        met_speed = found.target(
            "%s throughput over the Nova pattern" % label, speedup,
            ">= %.1fx" % MIN_SPEEDUP, speedup >= MIN_SPEEDUP)
        met_begin = found.target(
            "%s starting actions over the Nova pattern" % label,
            begin_speedup, ">= %.1fx" % MIN_SPEEDUP,
            begin_speedup >= MIN_SPEEDUP)
        all_met = all_met and met_stmts and met_speed and met_begin
        print("%-11s statements per transition %.2f (target <= %d): %s" % (
            label, statements, MAX_STATEMENTS,
            "met" if met_stmts else "NOT met"))
        print("%-11s speedup over the Nova pattern %.2fx (target >= %.1fx):"
              " %s" % (label, speedup, MIN_SPEEDUP,
                       "met" if met_speed else "NOT met"))
        print("%-11s starting actions over the Nova pattern %.2fx (target "
              ">= %.1fx): %s" % (label, begin_speedup, MIN_SPEEDUP,
                                 "met" if met_begin else "NOT met"))
    found.write(args.json)
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
