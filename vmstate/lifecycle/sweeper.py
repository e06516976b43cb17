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


"""The sweeper: fires expired timeouts, and drains forgotten queues.

A round (:meth:`Sweeper.sweep`) asks the database, for each distinct
timeout, for the tasks of its task_states whose heartbeat is older than
it (an index range, :mod:`vmstate.db.heartbeats`), fires each
(:func:`vmstate.lifecycle.timeouts.fire`), and drains the queue of each
instance it moved on. Then, as a safety net, it drains the queues of
idle instances that still have queued actions (a process that died
between ending a task and draining).

Any number of sweepers may run at once, threads of vmstate-api processes
(:class:`Periodic`) or ``vmstate-manage lifecycle sweep``: a timeout
fires exactly once, through its compare-and-swap, and the others count it
as lost.
"""

import collections
import dataclasses
import datetime
import threading
from typing import Any

from oslo_log import log as logging
from oslo_utils import timeutils

from vmstate.conf import CONF
from vmstate.db import action_queue
from vmstate.db import heartbeats
from vmstate.lifecycle import queue
from vmstate.lifecycle import timeouts
from vmstate.matrix import Matrix
from vmstate.matrix import loader

LOG = logging.getLogger(__name__)

# Batches one round fetches per timeout at most: a bound, should the same
# rows keep coming back (a database that fails every fire).
_MAX_BATCHES = 1000


@dataclasses.dataclass
class Round:
    """What one round did: timeouts ``fired`` (by reaction), ``lost`` to
    another sweeper or a worker, ``failed`` (an error, logged), and the
    queued actions ``started``."""

    fired: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter)
    lost: int = 0
    failed: int = 0
    started: int = 0
    outcomes: list[timeouts.Fired] = dataclasses.field(default_factory=list)

    @property
    def total_fired(self) -> int:
        return sum(self.fired.values())

    def __str__(self) -> str:
        fired = ", ".join("%s %d" % kv for kv in sorted(self.fired.items()))
        return ("fired %d (%s), lost %d, failed %d, queued actions "
                "started %d" % (self.total_fired, fired or "-", self.lost,
                                self.failed, self.started))


class Sweeper:
    """One sweeper; :meth:`sweep` may run in many at once."""

    def __init__(self, matrix: Matrix | None = None,
                 batch: int | None = None) -> None:
        self.matrix = matrix
        self.batch = batch
        self.context = timeouts.sweeper_context()

    def sweep(self, now: datetime.datetime | None = None) -> Round:
        """One round: every timeout expired at ``now``, then the queues.

        Errors with one instance are logged and counted, and the round
        goes on.

        :raises MatrixError: the timeout configuration names unknown
            task_states.
        """
        matrix = self.matrix or loader.get()
        now = now or timeutils.utcnow()
        batch = self.batch or CONF.lifecycle.sweep_batch
        policy = timeouts.policy(matrix)
        done = Round()
        for seconds, task_states in policy.groups():
            cutoff = now - datetime.timedelta(seconds=seconds)
            for _ in range(_MAX_BATCHES):
                rows = heartbeats.expired(self.context, task_states,
                                          cutoff, batch)
                for row in rows:
                    self._fire(row, policy[row["task_state"]], now, matrix,
                               done)
                if len(rows) < batch:
                    break
        for uuid in action_queue.pending(self.context, batch):
            done.started += self._drain(uuid, matrix, done)
        if done.total_fired or done.started or done.failed:
            LOG.info("Sweep: %s", done)
        return done

    def _fire(self, row: dict[str, Any], timeout: timeouts.Timeout,
              now: datetime.datetime, matrix: Matrix, done: Round) -> None:
        try:
            fired = timeouts.fire(self.context, row, timeout, now, matrix)
        except Exception:
            LOG.exception("Could not fire the timeout of %s on %s",
                          row["task_state"], row["uuid"])
            done.failed += 1
            return
        done.outcomes.append(fired)
        if fired.outcome == timeouts.LOST:
            done.lost += 1
            return
        done.fired[fired.reaction or "?"] += 1
        if fired.retried is None or fired.retried.task_id is None:
            done.started += self._drain(row["uuid"], matrix, done)

    def _drain(self, uuid: str, matrix: Matrix, done: Round) -> int:
        try:
            return len(queue.drain(uuid, matrix))
        except Exception:
            LOG.exception("Could not start the queued actions of %s", uuid)
            done.failed += 1
            return 0


class Periodic:
    """A sweeper in a background thread, a round every ``interval`` s.

    Started by vmstate-api (``[lifecycle] run_sweeper``); :meth:`stop`
    (on SIGTERM) ends it after the round in progress.
    """

    def __init__(self, interval: float | None = None,
                 sweeper: Sweeper | None = None) -> None:
        self.interval = interval or CONF.lifecycle.sweep_interval
        self.sweeper = sweeper or Sweeper()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> None:
        """Start the thread (a daemon: it never keeps a process alive)."""
        self._thread = threading.Thread(target=self.run, daemon=True,
                                        name="vmstate-sweeper")
        self._thread.start()

    def run(self) -> None:
        """Sweep until :meth:`stop`; an error ends only its round."""
        LOG.info("Sweeper running every %g s", self.interval)
        while not self._stop.is_set():
            try:
                self.sweeper.sweep()
            except Exception:
                LOG.exception("Sweep failed; trying again in %g s",
                              self.interval)
            self.rounds += 1
            self._stop.wait(self.interval)
        LOG.info("Sweeper stopped")

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the thread to stop and wait for it; whether it ended."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
