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


"""Processes for tests.functional.db.test_lifecycle, run through
multiprocessing's ``spawn``: fresh interpreters with their own engines, as
separate sweepers and compute workers are."""

import datetime
import time

from oslo_utils import timeutils

from vmstate import context
from vmstate import lifecycle
from vmstate.conf import CONF
from vmstate.db import connections
from vmstate.lifecycle import sweeper


def sweep(url, timeouts, now, barrier, results):
    """One sweeper round at ``now`` (ISO 8601), started at the barrier.

    Puts ``(fired, lost, failed, uuids fired)`` on ``results``.
    """
    CONF.set_override("connection", url, group="database")
    CONF.set_override("task_timeouts", timeouts, group="lifecycle")
    timeutils.set_time_override(datetime.datetime.fromisoformat(now))
    try:
        barrier.wait()
        done = sweeper.Sweeper(batch=7).sweep()
        results.put((done.total_fired, done.lost, done.failed,
                     [o.uuid for o in done.outcomes
                      if o.outcome == "fired"]))
    except Exception as err:
        results.put(("error", repr(err), 0, []))
    finally:
        connections.main.dispose_pool()


def reboot_forever(url, uuid, started):
    """Begin a reboot of ``uuid``, say so, then checkpoint until killed.
    """
    CONF.set_override("connection", url, group="database")
    ctx = context.get_admin_context()
    task = lifecycle.begin(ctx, uuid, "reboot")
    task.checkpoint("reboot_started")
    started.set()
    while True:
        time.sleep(0.05)
        task.checkpoint()
