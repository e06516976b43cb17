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


"""A process that races for an instance, for tests.functional.db.test_races.

Run through multiprocessing's ``spawn``: a fresh interpreter with its own
engine and connections, as a second vmstate-api worker would be.
"""

from vmstate import context
from vmstate import exception
from vmstate import lifecycle
from vmstate.conf import CONF
from vmstate.db import connections

ACTIONS = ("reboot", "stop", "pause", "suspend", "rebuild", "rescue",
           "snapshot", "shelve")


def contend(ctx, uuid, worker, rounds, barrier, record):
    """Each round: begin an action at the barrier; then the winner finishes.

    Calls ``record((round, worker, outcome))``; outcome is "won", the
    loser's exception class name, or "error: ..." for anything else.
    Threads and processes race through this same loop.
    """
    action = ACTIONS[worker % len(ACTIONS)]
    for number in range(rounds):
        barrier.wait()
        try:
            task = lifecycle.begin(ctx, uuid, action)
        except exception.StateConflict as err:
            outcome = type(err).__name__
        except Exception as err:
            outcome = "error: %r" % err
        else:
            outcome = "won"
        record((number, worker, outcome))
        # Everyone has tried before the winner lets go.
        barrier.wait()
        if outcome == "won":
            task.finish(vm_state="active")
        barrier.wait()


def race(url, uuid, worker, rounds, barrier, results):
    """:func:`contend` in a process of its own, outcomes on ``results``."""
    # vmstate's own configuration is where the facade takes its URL.
    CONF.set_override("connection", url, group="database")
    contend(context.get_admin_context(), uuid, worker, rounds, barrier,
            results.put)
    connections.main.dispose_pool()
