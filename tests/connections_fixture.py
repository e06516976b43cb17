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



"""How many database connections are in use, for "holds no connection".

Usage::

    held = self.useFixture(connections_fixture.CheckedOut(engine))
    ...
    self.assertEqual(0, held.count)

Counts checkouts minus checkins on the engine's pool, whatever the pool
(oslo.db gives file-based SQLite a NullPool, where ``checkedout()`` does
not exist).
"""

import functools
import threading

import fixtures
import sqlalchemy


class CheckedOut(fixtures.Fixture):
    """``count``: the connections of ``engine`` checked out right now
    (of those checked out since the fixture was set up)."""

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine

    def _setUp(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        for name, step in (("checkout", 1), ("checkin", -1)):
            listener = functools.partial(self._seen, step)
            sqlalchemy.event.listen(self.engine, name, listener)
            self.addCleanup(sqlalchemy.event.remove, self.engine, name,
                            listener)

    def _seen(self, step, *args) -> None:
        with self._lock:
            self.count += step
