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

"""How many long-poll waits one vmstate-api process holds at once.

Each wait holds one of the server's worker threads for up to ``[api]
max_wait`` seconds. Without a bound, one caller's waits could take every
worker and starve everything else (``/healthcheck``, a show, an action).
So waits are counted: at most ``[api] max_waits`` at once in the process,
which must stay below ``[api] threads`` (the rest always serve short
requests), and at most ``[api] max_waits_per_project`` for one project
(one project cannot take the others' share). A wait beyond either answers
429 ``overLimit`` with ``Retry-After``, at once, holding nothing.
"""

import collections
from collections.abc import Iterator
import contextlib
import threading

from vmstate import exception

#: Seconds a refused wait is told to wait before asking again.
RETRY_AFTER = 5


class WaitSlots:
    """Counters of the waits in flight, in total and per project."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0
        self._projects: collections.Counter[str] = collections.Counter()

    @property
    def in_flight(self) -> int:
        """The waits being held now."""
        return self._total

    @contextlib.contextmanager
    def hold(self, project_id: str | None, limit: int,
             per_project: int) -> Iterator[None]:
        """Hold one wait slot of ``project_id`` while the block runs.

        :param limit: the most waits in total.
        :param per_project: the most waits of one project.
        :raises OverLimit: either is reached (429, ``Retry-After``); the
            block does not run.
        """
        key = project_id or ""
        with self._lock:
            if self._total >= limit:
                raise exception.OverLimit(
                    "Too many waits in progress on this server (%d); wait "
                    "again in %d seconds" % (limit, RETRY_AFTER),
                    RETRY_AFTER)
            if self._projects[key] >= per_project:
                raise exception.OverLimit(
                    "Too many waits in progress for project %s (%d); wait "
                    "again in %d seconds" % (key, per_project, RETRY_AFTER),
                    RETRY_AFTER)
            self._total += 1
            self._projects[key] += 1
        try:
            yield
        finally:
            with self._lock:
                self._total -= 1
                self._projects[key] -= 1
                if not self._projects[key]:
                    del self._projects[key]


#: The process's waits (vmstate-api serves from one process).
WAITS = WaitSlots()
