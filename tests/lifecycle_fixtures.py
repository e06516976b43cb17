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


"""Fixtures for the lifecycle engine: a controllable clock, the engine's
listeners, and notifications captured in memory."""

import datetime

import fixtures
from oslo_utils import timeutils
from sqlalchemy import event as sa_event

from vmstate.conf import CONF
from vmstate.lifecycle import engine
from vmstate.lifecycle import notifications

START = datetime.datetime(2026, 11, 21, 12, 0, 0)


class Clock(fixtures.Fixture):
    """``timeutils.utcnow()`` frozen at ``start`` until :meth:`advance`.

    Every timestamp vmstate writes comes from ``timeutils.utcnow()``, so
    heartbeats, timeouts and grace periods all follow this clock, in
    every thread of the test process.
    """

    def __init__(self, start: datetime.datetime = START) -> None:
        super().__init__()
        self.start = start

    def _setUp(self) -> None:
        timeutils.set_time_override(self.start)
        self.addCleanup(timeutils.clear_time_override)

    def advance(self, seconds: float) -> datetime.datetime:
        timeutils.advance_time_delta(datetime.timedelta(seconds=seconds))
        return self.now

    @property
    def now(self) -> datetime.datetime:
        return timeutils.utcnow()


class Engine(fixtures.Fixture):
    """The lifecycle engine's after-commit listeners, for one test.

    ``notify=True`` also sends notifications with oslo.messaging's
    in-memory ``test`` driver; ``notifications`` then lists what was sent
    as ``(event_type, payload)`` (after :meth:`flush`).
    """

    def __init__(self, notify: bool = False) -> None:
        super().__init__()
        self.notify = notify

    def _setUp(self) -> None:
        if self.notify:
            import oslo_messaging
            from oslo_messaging.notify import _impl_test

            # Registers oslo.messaging's options on vmstate's CONF.
            oslo_messaging.get_notification_transport(
                CONF, url="fake:/").cleanup()
            _impl_test.reset()
            self.addCleanup(_impl_test.reset)
            CONF.set_override("driver", ["test"],
                              group="oslo_messaging_notifications")
            CONF.set_override("transport_url", "fake:/",
                              group="oslo_messaging_notifications")
            self.addCleanup(CONF.clear_override, "driver",
                            group="oslo_messaging_notifications")
            self.addCleanup(CONF.clear_override, "transport_url",
                            group="oslo_messaging_notifications")
        self.addCleanup(engine.uninstall)
        engine.install()

    def flush(self) -> None:
        assert notifications.flush(10)

    @property
    def notifications(self) -> list:
        self.flush()
        from oslo_messaging.notify import _impl_test

        # (ctxt, message, priority, retry) tuples of the test driver.
        return [(m["event_type"], m["payload"]) for _, m, _, _ in
                _impl_test.NOTIFICATIONS]


def captured(engine, call):
    """The SELECT statements ``call()`` runs on ``engine``, with their
    parameters, as the driver receives them."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    return seen


def explain(engine, statement, parameters):
    """The database's plan of ``statement`` as text, one line per row.

    SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN with sequential
    scans priced out (so a plan that still scans has no index to use),
    MariaDB's EXPLAIN (its ``type`` and ``key`` columns).
    """
    name = engine.dialect.name
    with engine.connect() as conn:
        if name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                        parameters)
            return [row[-1] for row in rows]
        if name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
            return [row[0] for row in rows]
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        return ["table=%s type=%s key=%s" % (r._mapping["table"],
                                             r._mapping["type"],
                                             r._mapping["key"])
                for r in rows]
