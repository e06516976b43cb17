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



"""A process that changes an instance's state, for the cross-process tests.

Run through multiprocessing's ``spawn``: a fresh interpreter with its own
configuration, engine, event bus and connections, as another vmstate
service would be.
"""

from vmstate import context
from vmstate import events
from vmstate import lifecycle
from vmstate.conf import CONF
from vmstate.db import connections


def run_actions(url, uuid, actions, go, results, driver="postgresql",
                ready=None, **events_options):
    """Once ``go`` is set, begin and finish each of ``actions`` in turn.

    ``driver`` and ``events_options`` set ``[events]``; ``ready`` (an
    event) is set once the bus is built. Puts ``"done"`` on ``results``,
    or ``"error: ..."``.
    """
    CONF.set_override("connection", url, group="database")
    CONF.set_override("driver", driver, group="events")
    for name, value in events_options.items():
        CONF.set_override(name, value, group="events")
    ctx = context.get_admin_context()
    try:
        # Built before the test starts timing, as a service builds it at
        # start.
        events.get()
        if ready is not None:
            ready.set()
        if not go.wait(60):
            results.put("error: never told to go")
            return
        for action in actions:
            lifecycle.begin(ctx, uuid, action).finish()
        results.put("done")
    except Exception as err:
        results.put("error: %r" % err)
    finally:
        events.get().close()
        connections.main.dispose_pool()
