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



"""Waiting for a vm_state, or a sequence of them, without polling.

After Emulab's stated: a waiter listens to the stream of its instance's
committed transitions (:mod:`vmstate.events`) instead of reading the
database in a loop. It can wait for a sequence (``stopped`` then
``active``), hears of each state as it passes (``on_progress``), can be
cancelled, and learns at once when the instance will not get there.

How a wait avoids a lost wake-up: it subscribes first, then reads the
instance (its version ``V``), and only then waits. A transition
committed before the read is in what it read; one committed after it is
delivered to the subscription. Each change carries the instance's
version, and versions are consecutive: a change already seen is
ignored, and one more than a step ahead means the waiter missed some
(another process's notification lost, delivery out of order), so it
reads the history since its last version and goes through every state
in order. While nothing happens a waiter issues no query and holds no
database connection; only as a safety net, when it has heard nothing of
its instance for ``[events] resync_interval`` seconds, or when the bus
says its channel was lost, it re-reads the instance (one query).

The instance a wait answers with (and the one it reads when it starts)
comes with its queue, from :mod:`vmstate.lifecycle.shared_read`: the
waits woken by one commit share one read of it.

The rules, for the awaited sequence ``T1, T2, ...``:

* ``Ti`` is reached when the instance is in it with no task running.
  Each observed version counts for at most one ``Ti``, and the state
  found when the wait starts counts for ``T1`` only.
* The wait fails as soon as the instance settles (no task running) in a
  state from which the next awaited one cannot be reached: ``error`` or
  ``deleted`` (unless awaited), or what the matrix says is hopeless
  (:mod:`vmstate.lifecycle.reachability`). Staying settled in a state
  (a new version that changes only the power state) is no new
  settling; the observation that reaches a ``Ti`` is not judged against
  ``Ti+1``.
"""

from collections.abc import Callable
from collections.abc import Iterable
import dataclasses
import math
import random
import threading
import time
from typing import Any

from vmstate import events
from vmstate import exception
from vmstate.conf import CONF
from vmstate.context import RequestContext
from vmstate.db import api as db_api
from vmstate.lifecycle import reachability
from vmstate.lifecycle import shared_read
from vmstate.matrix import Matrix
from vmstate.matrix import loader

REACHED = "reached"
FAILED = "failed"
TIMEOUT = "timeout"
CANCELLED = "cancelled"

# How often a plain threading.Event given as ``cancel`` is looked at; a
# Cancel wakes its waits at once.
CANCEL_POLL = 0.1


class Cancel(threading.Event):
    """An event that, when set, wakes every wait watching it at once.

    Pass it as ``cancel`` to :func:`wait_for`; ``set()`` it from any
    thread. One Cancel may serve many waits (a server stopping).
    """

    def __init__(self) -> None:
        super().__init__()
        self._wakers: dict[Callable[[], None], None] = {}
        self._wakers_lock = threading.Lock()

    def set(self) -> None:
        super().set()
        with self._wakers_lock:
            wakers = list(self._wakers)
        for wake in wakers:
            wake()

    def _watch(self, wake: Callable[[], None]) -> None:
        with self._wakers_lock:
            self._wakers[wake] = None

    def _unwatch(self, wake: Callable[[], None]) -> None:
        with self._wakers_lock:
            self._wakers.pop(wake, None)


@dataclasses.dataclass(frozen=True)
class Progress:
    """One version of the instance, as a wait observed it.

    ``reached`` lists the awaited states reached so far, ``waiting_for``
    the next one (``None`` once all are reached).
    """

    version: int
    vm_state: str
    task_state: str | None
    seen: tuple[str, ...]
    reached: tuple[str, ...]
    waiting_for: str | None


@dataclasses.dataclass(frozen=True)
class WaitResult:
    """How a wait ended.

    ``status`` is :data:`REACHED`, :data:`FAILED`, :data:`TIMEOUT` or
    :data:`CANCELLED`; ``seen`` the vm_states the instance was observed
    in, in order (a repeat of the same vm_state is listed once);
    ``reached`` the awaited states reached; ``instance`` the newest
    version of the instance the wait knows, with its ``queue`` (the
    actions queued on it, oldest first); ``reason`` a sentence for
    anything but success.
    """

    status: str
    targets: tuple[str, ...]
    seen: tuple[str, ...]
    reached: tuple[str, ...]
    instance: dict[str, Any]
    reason: str | None = None


def wait_for(context: RequestContext, uuid: str, states: str | Iterable[str],
             timeout: float,
             on_progress: Callable[[Progress], None] | None = None,
             cancel: threading.Event | None = None,
             matrix: Matrix | None = None,
             bus: events.Bus | None = None) -> WaitResult:
    """Wait until instance ``uuid`` has been in ``states``, in order.

    :param states: one vm_state or an ordered sequence of them.
    :param timeout: seconds (0: only look at the current state).
    :param on_progress: called in the waiting thread with a
        :class:`Progress` for every version observed, the current one
        first; what it raises ends the wait and propagates.
    :param cancel: ends the wait with :data:`CANCELLED` when set: a
        :class:`Cancel` at once, a plain ``threading.Event`` within
        :data:`CANCEL_POLL` seconds.
    :param matrix: the vocabulary and the failure rule (default: the
        process's matrix).
    :param bus: the event bus (default: the process's, :func:`events.get`).
    :raises Invalid: no state, a state the matrix does not know, or a
        timeout that is not a number of seconds >= 0.
    :raises InstanceNotFound: no such instance visible to ``context``.
    :raises EventBusError: the configured bus cannot work.
    """
    matrix = matrix or loader.get()
    targets = _targets(states, matrix)
    seconds = _seconds(timeout)
    deadline = time.monotonic() + seconds
    interval = CONF.events.resync_interval
    inbox = _Inbox()
    tracker = _Tracker(context, uuid, targets, matrix, on_progress)
    watching = isinstance(cancel, Cancel)
    if watching:
        cancel._watch(inbox.wake)  # type: ignore[union-attr]
    shared_read.READS.register(context, uuid)
    try:
        subscription = (bus or events.get()).subscribe(uuid, inbox.put,
                                                       inbox.resync)
        try:
            # Subscribed and listening: the read below (one started after
            # this moment) sees everything committed before it, the
            # subscription everything after.
            subscribed = time.monotonic()
            inbox.forget_resync()
            status = tracker.observe_instance(
                shared_read.READS.get(context, uuid, after=subscribed))
            next_check = time.monotonic() + _jitter(interval)
            while status is None:
                if cancel is not None and cancel.is_set():
                    status = CANCELLED
                    break
                now = time.monotonic()
                if now >= deadline:
                    status = TIMEOUT
                    break
                pause = min(deadline, next_check) - now
                if cancel is not None and not watching:
                    pause = min(pause, CANCEL_POLL)
                changes, resync = inbox.take(pause)
                if changes:
                    next_check = time.monotonic() + _jitter(interval)
                    status = tracker.apply(changes)
                if status is None and (resync
                                       or time.monotonic() >= next_check):
                    status = tracker.catch_up()
                    next_check = time.monotonic() + _jitter(interval)
        finally:
            subscription.close()
        return tracker.result(status, seconds)
    finally:
        shared_read.READS.unregister(context, uuid)
        if watching:
            cancel._unwatch(inbox.wake)  # type: ignore[union-attr]


def _targets(states: str | Iterable[str], matrix: Matrix
             ) -> tuple[str, ...]:
    if isinstance(states, str):
        states = (states,)
    try:
        targets = tuple(states)
    except TypeError:
        raise exception.Invalid("states must be a vm_state or a sequence "
                                "of vm_states") from None
    if not targets:
        raise exception.Invalid("Wait for at least one vm_state")
    for target in targets:
        if not isinstance(target, str) or target not in matrix.vm_states:
            raise exception.Invalid("%r is not a vm_state; valid: %s" % (
                target, ", ".join(matrix.vm_states)))
    return targets


def _seconds(timeout: Any) -> float:
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
            or not math.isfinite(timeout) or timeout < 0):
        raise exception.Invalid("timeout must be a number of seconds >= 0, "
                                "not %r" % (timeout,))
    return float(timeout)


def _jitter(interval: float) -> float:
    # Waiters that started together do not all re-read at once.
    return interval * random.uniform(0.9, 1.1)


class _Inbox:
    """What the bus delivered to one wait, and the wake-up of its thread.

    The bus calls :meth:`put` and :meth:`resync` from other threads; they
    only append and notify.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._changes: list[events.StateChange] = []
        self._resync = False
        self._woken = False

    def put(self, change: events.StateChange) -> None:
        with self._cond:
            self._changes.append(change)
            self._cond.notify()

    def resync(self) -> None:
        with self._cond:
            self._resync = True
            self._cond.notify()

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify()

    def forget_resync(self) -> None:
        with self._cond:
            self._resync = False

    def take(self, timeout: float
             ) -> tuple[list[events.StateChange], bool]:
        """What arrived, waiting up to ``timeout`` seconds for something."""
        with self._cond:
            if not (self._changes or self._resync or self._woken):
                self._cond.wait(max(timeout, 0))
            changes, self._changes = self._changes, []
            resync, self._resync = self._resync, False
            self._woken = False
        return changes, resync


class _Tracker:
    """The wait's knowledge: versions observed, states seen, targets met."""

    def __init__(self, context: RequestContext, uuid: str,
                 targets: tuple[str, ...],
                 matrix: Matrix,
                 on_progress: Callable[[Progress], None] | None) -> None:
        self.context = context
        self.uuid = uuid
        self.targets = targets
        self.matrix = matrix
        self.on_progress = on_progress
        self.index = 0
        self.version = 0
        self.seen: list[str] = []
        self.instance: dict[str, Any] | None = None
        self.settled: tuple[str, None] | None = None
        self.reason: str | None = None

    def observe_instance(self, instance: dict[str, Any]) -> str | None:
        return self.observe(instance["version"], instance["vm_state"],
                            instance["task_state"], instance)

    def observe(self, version: int, vm_state: str, task_state: str | None,
                instance: Any = None) -> str | None:
        """Take in one version; the status if it ends the wait."""
        if version <= self.version:
            return None
        self.version = version
        if instance is not None:
            self.instance = {k: v for k, v in instance.items()
                             if k != "event"}
        if not self.seen or self.seen[-1] != vm_state:
            self.seen.append(vm_state)
        was_settled_here = self.settled == (vm_state, None)
        self.settled = (vm_state, None) if task_state is None else None
        target = self.targets[self.index]
        status = None
        if task_state is None and vm_state == target:
            self.index += 1
            if self.index == len(self.targets):
                status = REACHED
        elif (task_state is None and not was_settled_here
              and reachability.hopeless(self.matrix, vm_state, target)):
            status = FAILED
            self.reason = ("instance %s is %s, from which %s cannot be "
                           "reached" % (self.uuid, vm_state, target))
        if self.on_progress is not None:
            self.on_progress(Progress(
                version, vm_state, task_state, tuple(self.seen),
                self.targets[:self.index],
                self.targets[self.index] if status is None else None))
        return status

    def apply(self, changes: list[events.StateChange]) -> str | None:
        """Take in what the bus delivered, in version order."""
        for change in sorted(changes, key=lambda c: c.version):
            if change.version <= self.version:
                continue
            if change.version > self.version + 1:
                # Something was missed: the history has every step.
                status = self.catch_up()
                if status is not None or change.version <= self.version:
                    if status is not None:
                        return status
                    continue
                # The read lagged behind the change (a reader on a
                # replica): take the change as it is, gap and all.
            status = self.observe(change.version, change.vm_state,
                                  change.task_state, change.instance)
            if status is not None:
                return status
        return None

    def catch_up(self) -> str | None:
        """Read the instance, and its history since the last version seen.
        """
        try:
            instance = shared_read.READS.get(
                self.context, self.uuid, after=time.monotonic())
        except exception.InstanceNotFound:
            self.reason = "instance %s no longer exists" % self.uuid
            return FAILED
        current = instance["version"]
        if current <= self.version:
            if current == self.version:
                self.instance = instance
            return None
        history = db_api.instance_events(self.context, self.uuid,
                                         since=self.version)
        # Newest first in what the result reports, whatever is reached.
        self.instance = instance
        for event in history:
            if event["version"] > current:
                break
            status = self.observe(
                event["version"], event["to"]["vm_state"],
                event["to"]["task_state"],
                instance if event["version"] == current else None)
            if status is not None:
                return status
        return self.observe_instance(instance)

    def result(self, status: str, timeout: float) -> WaitResult:
        if (self.instance is None or "queue" not in self.instance
                or self.instance["version"] < self.version):
            # The change told the states (and, in one process, the row)
            # but not the queue: read once, shared with every wait woken
            # by the same version.
            try:
                read = shared_read.READS.get(self.context, self.uuid,
                                             version=self.version)
            except exception.InstanceNotFound:
                if self.instance is None:
                    raise
                read = dict(self.instance, queue=[])
            if (self.instance is not None
                    and self.instance["version"] == self.version
                    and read["version"] > self.version):
                # Newer than what the wait judged: answer with the
                # version it judged, and the queue as now read.
                read = dict(self.instance, queue=read["queue"])
            self.instance = read
        reason = self.reason
        if status == TIMEOUT:
            reason = "%s not reached within %g s" % (
                self.targets[self.index], timeout)
        elif status == CANCELLED:
            reason = "cancelled while waiting for %s" % (
                self.targets[self.index])
        elif status == REACHED:
            reason = None
        assert self.instance is not None
        return WaitResult(status, self.targets, tuple(self.seen),
                          self.targets[:self.index], dict(self.instance),
                          reason)
