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


"""``vmstate-manage lifecycle ...``: the sweeper and what it works from.

``lifecycle sweep`` runs the sweeper (expired timeouts, forgotten queues)
every ``[lifecycle] sweep_interval`` seconds until SIGTERM or SIGINT, or
one round with ``--once``; any number may run beside vmstate-api's own.
``lifecycle timeouts`` prints the effective timeout of each task_state
(configuration over plugins over the default). ``lifecycle show <uuid>``
prints an instance's task, failure counts and queue.
"""

import signal
import sys
import threading
from typing import Any

from vmstate import context
from vmstate.cmd import failure
from vmstate.cmd.manage import command
from vmstate.db import action_queue
from vmstate.db import api as db_api
from vmstate.db import failures
from vmstate.lifecycle import engine
from vmstate.lifecycle import notifications
from vmstate.lifecycle import sweeper
from vmstate.lifecycle import timeouts


def _sweep_arguments(parser: Any) -> None:
    parser.add_argument("--once", action="store_true",
                        help="one round, then exit (for cron or tests)")
    parser.add_argument("--interval", type=float, default=None,
                        metavar="SECONDS",
                        help="seconds between rounds (default: "
                             "[lifecycle] sweep_interval)")


@command("lifecycle", "sweep", _sweep_arguments)
def sweep(args: Any) -> int:
    """Run the sweeper: fire expired task timeouts, start queued actions.

    Every [lifecycle] sweep_interval seconds (or --interval) until SIGTERM
    or SIGINT, or one round with --once (for cron). Run it beside
    vmstate-api under uwsgi or mod_wsgi, which runs no sweeper thread of
    its own; any number of sweepers may run at once, and each timeout
    fires exactly once. --once exits 1 when a timeout could not be fired.
    """
    if args.interval is not None and not args.interval > 0:
        print("vmstate-manage: --interval must be positive",
              file=sys.stderr)
        return 1
    engine.install()
    try:
        if args.once:
            done = sweeper.Sweeper().sweep()
            print("sweep: %s" % done, flush=True)
            return 1 if done.failed else 0
        periodic = sweeper.Periodic(args.interval)
        stop = threading.Event()

        def _stop(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        periodic.start()
        print("sweeper running every %g s" % periodic.interval, flush=True)
        # Up: a failing round is logged with its traceback from now on.
        failure.started()
        stop.wait()
        periodic.stop()
        print("sweeper stopped after %d rounds" % periodic.rounds,
              flush=True)
        return 0
    finally:
        notifications.flush(5)
        engine.uninstall()


@command("lifecycle", "timeouts")
def show_timeouts(args: Any) -> int:
    """Print the effective timeout of every task_state that has one.

    Each comes from [lifecycle] task_timeouts, else from the matrix
    plugins, else from [lifecycle] default_task_timeout; the last column
    says which.
    """
    policy = timeouts.policy()
    if not policy:
        print("no task_state has a timeout ([lifecycle] task_timeouts, "
              "default_task_timeout, and the matrix plugins give none)")
        return 0
    rows = [("task_state", "seconds", "reaction", "max_failures", "source")]
    for name in sorted(policy):
        t = policy[name]
        rows.append((name, "%g" % t.seconds, t.reaction,
                     str(t.max_failures), t.source))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths,
                                                     strict=True)).rstrip())
    return 0


def _show_arguments(parser: Any) -> None:
    parser.add_argument("uuid", help="the instance")


@command("lifecycle", "show", _show_arguments)
def show(args: Any) -> int:
    """Print an instance's state, task, fault, failure counts and queue.

    Read from the database directly, for any project.
    """
    admin = context.get_admin_context()
    inst = db_api.instance_get(admin, args.uuid)
    print("instance %s: vm_state %s, task_state %s, power_state %s, "
          "version %s" % (inst["uuid"], inst["vm_state"],
                          inst["task_state"], inst["power_state"],
                          inst["version"]))
    if inst["task_id"]:
        print("task %s (%s) started %s, last progress %s" % (
            inst["task_id"], inst["task_action"],
            inst["task_started_at"].isoformat(),
            inst["task_heartbeat_at"].isoformat()))
    if inst["fault"]:
        print("fault: %s: %s" % (inst["fault"].get("type"),
                                 inst["fault"].get("message")))
    counts = failures.for_instance(admin, args.uuid)
    for task_state, count in sorted(counts.items()):
        print("failures of %s: %d in a row (last %s, %s)" % (
            task_state, count["count"], count["last_action"],
            count["updated_at"].isoformat()))
    for number, entry in enumerate(
            action_queue.entries(admin, [args.uuid])[args.uuid], 1):
        print("queued %d: %s by %s at %s%s" % (
            number, entry["action"], entry["user_id"],
            entry["created_at"].isoformat(),
            ": %s" % entry["reason"] if entry["reason"] else ""))
    return 0
