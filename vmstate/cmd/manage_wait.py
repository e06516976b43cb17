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



"""``vmstate-manage wait``: wait for an instance's states from a shell.

``vmstate-manage wait <uuid> --for stopped --for active --timeout 60``
prints a line for every version of the instance it observes (the
current one first) and exits 0 when every awaited vm_state was reached
in order, 1 when the instance settled where the next one cannot be
reached (error, deleted, or hopeless by the matrix), and 2 on timeout.
Errors (an unknown instance, a bad argument, an unreachable database)
print why and exit 1 as every vmstate-manage command does.

It reads the store directly with an admin context, through
:func:`vmstate.lifecycle.wait_for`: transitions committed by other
processes wake it through the configured event bus (``[events]
driver``); with the ``local`` driver only the safety net
(``[events] resync_interval``) notices them.
"""

import sys
from typing import Any

from vmstate import context
from vmstate import exception
from vmstate import lifecycle
from vmstate.cmd.manage import command
from vmstate.lifecycle import waits

EXIT_CODES = {waits.REACHED: 0, waits.FAILED: 1, waits.TIMEOUT: 2}
DEFAULT_TIMEOUT = 300.0


def _arguments(parser: Any) -> None:
    parser.add_argument("uuid", help="the instance")
    parser.add_argument(
        "--for", dest="states", action="append", metavar="VM_STATE",
        help="a vm_state to wait for; repeat for a sequence, awaited in "
             "order")
    parser.add_argument(
        "--timeout", default=str(DEFAULT_TIMEOUT), metavar="SECONDS",
        help="give up after this many seconds (default %g)"
             % DEFAULT_TIMEOUT)


def _timeout(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise exception.Invalid("--timeout must be a number of seconds, "
                                "not %r" % value) from None


class _Printer:
    """Prints each observed version, and each awaited state reached."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.reached = 0

    def __call__(self, progress: waits.Progress) -> None:
        line = "version %d: %s" % (progress.version, progress.vm_state)
        if progress.task_state is not None:
            line += " (task %s)" % progress.task_state
        if len(progress.reached) > self.reached:
            self.reached = len(progress.reached)
            line += "  <- reached %s (%d/%d)" % (
                progress.reached[-1], self.reached, self.total)
        print(line, flush=True)


@command("wait", None, _arguments)
def wait(args: Any) -> int:
    """Wait for an instance to reach vm_states in order.

    Prints a line for each version of the instance it observes, the
    current one first. A vm_state is reached when the instance is in it
    with no task running. Exit status: 0 every awaited vm_state was
    reached in order, 1 the instance settled where the next one cannot be
    reached (error, deleted, or no way there in the matrix) or an error,
    2 the timeout passed. Other processes' transitions wake it through
    [events] driver (with the local driver only every [events]
    resync_interval seconds).
    """
    if not args.states:
        raise exception.Invalid("name the vm_state to wait for: --for "
                                "<vm_state> (repeat it for a sequence)")
    timeout = _timeout(args.timeout)
    try:
        result = lifecycle.wait_for(context.get_admin_context(),
                                    args.uuid.lower(), args.states,
                                    timeout,
                                    on_progress=_Printer(len(args.states)))
    except KeyboardInterrupt:
        print("vmstate-manage: wait interrupted", file=sys.stderr)
        return 130
    if result.status == waits.REACHED:
        print("reached: %s" % ", ".join(result.reached))
    else:
        print("%s: %s" % (result.status, result.reason))
    return EXIT_CODES[result.status]
