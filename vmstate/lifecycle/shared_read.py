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

"""One read of an instance for all the waits that need the same one.

A commit wakes every wait on its instance at once; each then needs the
instance as it now is (with its queue) to answer. Read one by one that
is one query per waiter for the same row: W waiters, W reads. Here the
first wait that needs a read makes it, the others that need no newer one
take its result, and the result serves later waits while it is new
enough for them: at most one read per committed version, shared by all
its waiters.

When is a read "new enough"? A wait asks for the instance either

* at a version ``V`` or newer, when it has heard (from the event bus)
  that ``V`` was committed: a read started once ``V`` was known sees
  ``V`` or a later one; or
* as of a moment ``T`` (a wait that just subscribed): a read started at
  or after ``T`` sees every commit made before ``T``.

Reads are shared only between contexts that see the same rows (the same
project, or all of them for an admin), and only while some wait on the
instance is registered: the last one out forgets what was read, so a
later request never gets an old answer from here.
"""

import threading
import time
from typing import Any

from vmstate.context import RequestContext
from vmstate.db import action_queue


def _scope_key(context: RequestContext, uuid: str) -> tuple[Any, ...]:
    if getattr(context, "is_admin", False):
        return (uuid, None)
    return (uuid, getattr(context, "project_id", None))


class _Read:
    """One read, in flight or done: when it started, the newest version
    known committed when it started, and its outcome."""

    def __init__(self, started: float, floor: int) -> None:
        self.started = started
        self.floor = floor
        self.done = threading.Event()
        self.instance: dict[str, Any] | None = None
        self.error: BaseException | None = None

    def serves(self, version: int | None, after: float | None) -> bool:
        if version is not None:
            known = (self.instance["version"] if self.done.is_set()
                     and self.instance is not None else self.floor)
            if known >= version:
                return True
        return after is not None and self.started >= after

    def result(self) -> dict[str, Any]:
        self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.instance is not None
        return dict(self.instance, queue=list(self.instance["queue"]))


class _Slot:
    def __init__(self) -> None:
        self.waits = 0
        self.latest: _Read | None = None


class SharedReads:
    """Reads of instances (with their queues) shared by concurrent waits.

    Thread-safe; one per process (:data:`READS`). Counters ``reads``
    (database reads made) and ``served`` (answers given) are kept for
    tests and benchmarks.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[tuple[Any, ...], _Slot] = {}
        self.reads = 0
        self.served = 0

    def register(self, context: RequestContext, uuid: str) -> None:
        """A wait on ``uuid`` begins: keep what is read for it."""
        key = _scope_key(context, uuid)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
            slot.waits += 1

    def unregister(self, context: RequestContext, uuid: str) -> None:
        """A wait on ``uuid`` ended; the last one forgets the reads."""
        key = _scope_key(context, uuid)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                return
            slot.waits -= 1
            if slot.waits <= 0:
                del self._slots[key]

    def get(self, context: RequestContext, uuid: str,
            version: int | None = None,
            after: float | None = None) -> dict[str, Any]:
        """The instance with its ``queue``, at ``version`` or newer, or as
        read no earlier than ``after`` (a :func:`time.monotonic` value).

        With neither, a new read. Outside a registered wait, always a new
        read (nothing is kept).

        :raises InstanceNotFound: as
            :func:`vmstate.db.action_queue.instance_with_queue`.
        """
        key = _scope_key(context, uuid)
        with self._lock:
            slot = self._slots.get(key)
            read = slot.latest if slot is not None else None
            if read is None or not read.serves(version, after):
                read = _Read(time.monotonic(), version or 0)
                mine = True
                if slot is not None:
                    slot.latest = read
            else:
                mine = False
            self.served += 1
        if mine:
            try:
                read.instance = action_queue.instance_with_queue(context, uuid)
            except BaseException as err:
                read.error = err
                with self._lock:
                    # A failure is not kept for the next wait.
                    slot = self._slots.get(key)
                    if slot is not None and slot.latest is read:
                        slot.latest = None
                raise
            finally:
                with self._lock:
                    self.reads += 1
                read.done.set()
        return read.result()


#: The process's shared reads, used by :func:`vmstate.lifecycle.wait_for`.
READS = SharedReads()
