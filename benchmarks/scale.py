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


"""What each API statement costs as the instances table grows.

On a scratch PostgreSQL database (created through ``--postgresql`` and
dropped afterwards), migrated to head, the instances table is filled to
each size in turn (default 10k, 100k, 1M) with ``INSERT .. SELECT FROM
generate_series`` (one history row each; 100 projects; 90 % active, 8 %
stopped, 1 % in error, 1 % with a task running, some of them expired;
actions queued on the first 250 instances and one in a thousand), then
``ANALYZE``. At each size every statement the API and the sweeper send is
captured from vmstate's own code (SQLAlchemy's
cursor events) while that code runs R times; a statement's figure is the
least of its R execution times (from sending it to its result, on
loopback: the least disturbed by a busy machine), printed beside the
same statement's at the first size, with its plan's top node and the
indexes it uses (``EXPLAIN``).

Target: every statement at the largest size at most 1.5x its time at the
smallest. Run by hand: ``python benchmarks/scale.py [--sizes
10000,100000,1000000] [--repeat R] [--postgresql URL] [--json PATH]``.
"""

import argparse
import datetime
import json
import sys
import time

import databases
import results
import sqlalchemy as sa

from vmstate import context
from vmstate import lifecycle
from vmstate.db import action_queue
from vmstate.db import api
from vmstate.db import heartbeats
from vmstate.matrix import loader

MAX_GROWTH = 1.5
PROJECTS = 100
# Instances queued at every size, besides one in a thousand: more than
# the sweeper's page (100), so that its statement fills a whole page at
# the smallest size too and its growth is the table's, not the page's.
QUEUED = 250

# One statement fills instances from id a+1 to b, and their history.
_FILL_INSTANCES = """
INSERT INTO instances (uuid, project_id, user_id, vm_state, task_state,
    power_state, version, task_id, task_action, state_changed_at,
    task_started_at, task_heartbeat_at, created_at, updated_at)
SELECT md5('i' || n)::uuid::text, 'project-' || (n %% {projects}), 'user',
    CASE WHEN n %% 100 = 7 THEN 'error'
         WHEN n %% 100 IN (11, 12, 13, 14, 15, 16, 17, 18) THEN 'stopped'
         ELSE 'active' END,
    CASE WHEN n %% 100 = 42 THEN 'rebooting' END,
    CASE WHEN n %% 100 IN (11, 12, 13, 14, 15, 16, 17, 18) THEN 4 ELSE 1 END,
    1,
    CASE WHEN n %% 100 = 42 THEN md5('t' || n)::uuid::text END,
    CASE WHEN n %% 100 = 42 THEN 'reboot' END,
    ts, CASE WHEN n %% 100 = 42 THEN ts END,
    CASE WHEN n %% 100 = 42 THEN ts END, ts, ts
FROM (SELECT n, timestamp '2026-01-01' + n * interval '1 second' AS ts
      FROM generate_series(%(first)s, %(last)s) AS n) AS s
"""

_FILL_EVENTS = """
INSERT INTO instance_events (instance_uuid, version, action, from_vm_state,
    from_task_state, from_power_state, to_vm_state, to_task_state,
    to_power_state, request_id, user_id, project_id, transition_id,
    created_at)
SELECT md5('i' || n)::uuid::text, 1, 'create', NULL, NULL, NULL, 'active',
    NULL, 1, 'req-' || n, 'user', 'project-' || (n %% {projects}),
    md5('x' || n)::uuid::text, timestamp '2026-01-01' + n * interval '1 second'
FROM generate_series(%(first)s, %(last)s) AS n
"""

_FILL_QUEUE = """
INSERT INTO instance_action_queue (instance_uuid, action, user_id, project_id,
    created_at)
SELECT md5('i' || n)::uuid::text, 'stop', 'user',
    'project-' || (n %% {projects}), timestamp '2026-06-01'
FROM generate_series(%(first)s, %(last)s) AS n
WHERE n %% 1000 = 42 OR n <= {queued}
"""


def fill(engine, first, last):
    """Instances ``first``..``last`` (and their history and queue)."""
    with engine.begin() as conn:
        for statement in (_FILL_INSTANCES, _FILL_EVENTS, _FILL_QUEUE):
            conn.exec_driver_sql(statement.format(projects=PROJECTS,
                                                  queued=QUEUED),
                                 {"first": first, "last": last})
    with engine.connect().execution_options(
            isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def uuid_of(conn, n):
    return conn.exec_driver_sql("SELECT md5('i' || %(n)s)::uuid::text",
                                {"n": n}).scalar()


class Capture:
    """The statements vmstate sends while active: (statement, parameters,
    seconds from sending to result)."""

    def __init__(self, engine):
        self.engine = engine
        self.seen = None
        self.started = None
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    @staticmethod
    def _counted(statement):
        return not statement.lstrip().upper().startswith(
            ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE",
             "EXPLAIN"))

    def _before(self, conn, cursor, statement, parameters, context, many):
        if self.seen is not None and self._counted(statement):
            self.started = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, many):
        if self.seen is not None and self._counted(statement):
            self.seen.append((statement, parameters,
                              time.perf_counter() - self.started))

    def __call__(self, work):
        self.seen = []
        try:
            work()
            return self.seen
        finally:
            self.seen = None


def operations(conn, size):
    """{name: callable} for the API's and the sweeper's work at ``size``
    instances; each touches instances spread over the table."""
    admin = context.get_admin_context()
    member = context.RequestContext(project_id="project-42", user_id="user",
                                    roles=["member"], is_admin=False,
                                    overwrite=False)
    matrix = loader.get()
    middle = uuid_of(conn, size // 2 + 1)       # n % 100 == 1: active
    last = uuid_of(conn, size - 58)             # n % 100 == 42: rebooting

    def begin_and_finish():
        task = lifecycle.begin(admin, middle, "reboot", matrix=matrix)
        task.finish()

    return {
        "show": lambda: action_queue.instance_with_queue(admin, middle),
        # The API's list page: the page with its queues, one statement.
        "list page (admin)": lambda: action_queue.instances_with_queues(
            admin, limit=100),
        "list page (project)": lambda: action_queue.instances_with_queues(
            member, limit=100),
        "list error (1 %)": lambda: action_queue.instances_with_queues(
            admin, filters={"vm_state": "error"}, limit=100),
        "list task running": lambda: action_queue.instances_with_queues(
            admin, filters={"task_state": "rebooting"}, limit=100),
        "history": lambda: api.instance_events(admin, last),
        "begin + finish": begin_and_finish,
        "sweeper: expired tasks": lambda: heartbeats.expired(
            admin, ["rebooting"],
            datetime.datetime(2026, 1, 1) + datetime.timedelta(
                seconds=size // 2), 100),
        "sweeper: queued, idle": lambda: action_queue.pending(admin, 100),
    }


def explain(engine, statement, parameters):
    """The plan of one statement (not run)."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            cursor = conn.connection.cursor()
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            found = cursor.fetchone()[0]
        finally:
            transaction.rollback()
    found = found if isinstance(found, list) else json.loads(found)
    return found[0]["Plan"]


def indexes(plan):
    found = []
    if plan.get("Index Name"):
        found.append(plan["Index Name"])
    for child in plan.get("Plans", ()):
        found.extend(indexes(child))
    return found


def describe(plan):
    used = indexes(plan)
    return "%s%s" % (plan["Node Type"],
                     " [%s]" % ", ".join(dict.fromkeys(used)) if used
                     else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="instances at each step (default "
                             "10000,100000,1000000)")
    parser.add_argument("--repeat", type=int, default=15,
                        help="runs of each operation; each statement's "
                             "least time counts (default 15)")
    parser.add_argument("--postgresql", default=databases.POSTGRESQL_ADMIN,
                        help="an account that may create databases")
    results.add_argument(parser)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    report = results.Results("scale")
    first = {}
    met = True
    with databases.postgresql_database(args.postgresql) as url, \
            databases.vmstate_on(url) as engine:
        capture = Capture(engine)
        loaded = 0
        for size in sizes:
            fill(engine, loaded + 1, size)
            loaded = size
            with engine.connect() as conn:
                ops = operations(conn, size)
            print("\n%d instances" % size)
            print("%-24s %-3s %10s %10s %8s  %s" % (
                "operation", "#", "ms", "ms@first", "growth", "plan"))
            for name, work in ops.items():
                work()      # warm: the rows and indexes it needs cached
                runs = [capture(work) for _ in range(args.repeat)]
                for number, (statement, parameters, _) in enumerate(
                        runs[0], 1):
                    ms = min(run[number - 1][2] for run in runs) * 1000
                    plan = explain(engine, statement, parameters)
                    key = (name, number)
                    first.setdefault(key, ms)
                    growth = ms / first[key] if first[key] else 1.0
                    print("%-24s %-3d %10.3f %10.3f %7.2fx  %s" % (
                        name, number, ms, first[key], growth,
                        describe(plan)))
                    report.figure("statement time", "%s #%d" % key, ms,
                                  "ms", instances=size,
                                  plan=describe(plan))
                    if size == sizes[-1] and len(sizes) > 1:
                        met = report.target(
                            "%s #%d at %d over %d instances" % (
                                name, number, size, sizes[0]),
                            growth, "<= %.1fx" % MAX_GROWTH,
                            growth <= MAX_GROWTH) and met
    print()
    missed = [t for t in report.targets if not t["met"]]
    print("statements within %.1fx of their time at %d instances: %d of %d"
          % (MAX_GROWTH, sizes[0], len(report.targets) - len(missed),
             len(report.targets)))
    for target in missed:
        print("  NOT met: %s: %.2fx" % (target["name"], target["value"]))
    report.write(args.json)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
