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



"""The ``postgresql`` driver: LISTEN/NOTIFY on vmstate's own database.

Why this channel: a deployment on PostgreSQL already has it, so waiters
in every process (``vmstate-api`` workers, ``vmstate-manage wait``, the
compute services that report progress) hear each other's transitions
with nothing else to run, secure or monitor. PostgreSQL delivers a
notification only once the sending transaction commits, to every
connection listening at that moment, in commit order; and a listener
that loses its connection knows it, so it can tell its subscribers to
re-read (nothing lost silently). A broker would add a service to every
deployment for a few bytes per transition.

Each process keeps two connections of its own, outside the state
store's pool: one that listens, served by a thread blocked in
``select()`` (no polling, no query while nothing happens), and one in
autocommit that sends ``pg_notify()`` right after a transition commits.
A transition committed by a process that dies before it sends the
notification is caught by the waiters' safety net
(``[events] resync_interval``).

The payload is the change as JSON; PostgreSQL refuses payloads of 8000
bytes or more, so a change too large (a long fault message) travels as
its states only and the waiter reads the instance when it needs it.
"""

import os
import select
import threading
from typing import Any

from oslo_log import log as logging
from oslo_utils import uuidutils
import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import make_url

from vmstate import exception
from vmstate.events import changes
from vmstate.events import drivers

LOG = logging.getLogger(__name__)

# PostgreSQL's limit is 8000 bytes; the channel name travels too.
MAX_PAYLOAD = 7900

# libpq settings unless the connection URL says otherwise: notice a
# silently dead server within about a minute; name the connections.
_CONNECT_DEFAULTS = {
    "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
    "keepalives_count": 3, "connect_timeout": 10,
    "application_name": "vmstate-events",
}


def connect_args(url: str) -> tuple[list[Any], dict[str, Any]]:
    """psycopg2's arguments for a PostgreSQL SQLAlchemy URL.

    :raises EventBusError: the URL is not PostgreSQL's.
    """
    try:
        parsed = make_url(url)
    except Exception as err:
        raise exception.EventBusError(
            "[database] connection is not a database URL: %s" % err
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise exception.EventBusError(
            "The postgresql event bus driver needs [database] connection "
            "on PostgreSQL, not %s; use [events] driver = local"
            % parsed.get_backend_name())
    parsed = parsed.set(drivername="postgresql+psycopg2")
    args, kwargs = parsed.get_dialect()().create_connect_args(parsed)
    kwargs = dict(kwargs)
    for key, value in _CONNECT_DEFAULTS.items():
        kwargs.setdefault(key, value)
    return list(args), kwargs


class PostgreSQLDriver(drivers.Driver):
    """Changes to and from other processes through NOTIFY and LISTEN.

    :raises EventBusError: when built for a database that is not
        PostgreSQL.
    """

    remote = True

    def __init__(self, conf: Any) -> None:
        super().__init__(conf)
        self._args, self._kwargs = connect_args(conf.database.connection)
        self.channel: str = conf.events.channel
        self.origin = uuidutils.generate_uuid(dashed=False)
        self._connect_timeout = conf.events.connect_timeout
        self._reconnect_interval = conf.events.reconnect_interval
        self._send_lock = threading.Lock()
        self._sender: Any = None
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._wake: tuple[int, int] | None = None
        self._receive: drivers.Receive | None = None
        self._resync: drivers.Resync | None = None
        #: The server process id of the listening connection, once open.
        self.listener_pid: int | None = None

    def _connect(self) -> Any:
        conn = psycopg2.connect(*self._args, **self._kwargs)
        conn.autocommit = True
        return conn

    def check(self) -> None:
        """Open a connection as the listener would, and close it."""
        try:
            conn = self._connect()
        except psycopg2.Error as err:
            raise exception.EventBusError(
                "the postgresql event bus cannot connect to [database] "
                "connection: %s" % (str(err).strip().splitlines() or
                                    [type(err).__name__])[0]) from err
        conn.close()

    # -- sending ------------------------------------------------------------

    def publish(self, change: changes.StateChange) -> None:
        payload = changes.encode(change, self.origin)
        if len(payload.encode("utf-8")) > MAX_PAYLOAD:
            payload = changes.encode(change.states_only(), self.origin)
        with self._send_lock:
            for attempt in (1, 2):
                try:
                    if self._sender is None:
                        self._sender = self._connect()
                    with self._sender.cursor() as cursor:
                        cursor.execute("SELECT pg_notify(%s, %s)",
                                       (self.channel, payload))
                    return
                except psycopg2.Error as err:
                    # A connection lost since the last send: once more on
                    # a new one.
                    self._close_sender()
                    if attempt == 2:
                        LOG.warning(
                            "Could not notify other processes of %s "
                            "version %d (their waiters catch up within "
                            "[events] resync_interval): %s", change.uuid,
                            change.version, err)

    def _close_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            try:
                sender.close()
            except psycopg2.Error as err:
                LOG.debug("Closing the event sender connection: %s", err)

    # -- listening ----------------------------------------------------------

    def listen(self, receive: drivers.Receive,
               resync: drivers.Resync) -> None:
        if self._ready.is_set():
            return
        with self._start_lock:
            if self._thread is None and not self._stopping.is_set():
                self._receive, self._resync = receive, resync
                self._wake = os.pipe()
                self._thread = threading.Thread(
                    target=self._run, name="vmstate-events-listener",
                    daemon=True)
                self._thread.start()
        if not self._ready.wait(self._connect_timeout):
            # The waiter goes on; the first connection resyncs it.
            LOG.warning("The event channel %s is not listening yet; "
                        "waiters rely on [events] resync_interval until "
                        "it is", self.channel)

    def _run(self) -> None:
        while not self._stopping.is_set():
            conn = None
            try:
                conn = self._connect()
                with conn.cursor() as cursor:
                    cursor.execute(sql.SQL("LISTEN {}").format(
                        sql.Identifier(self.channel)))
                    cursor.execute("SELECT pg_backend_pid()")
                    self.listener_pid = cursor.fetchone()[0]
                self._ready.set()
                # Whatever was sent while nobody listened is lost: every
                # subscriber re-reads (after LISTEN, so nothing falls in
                # between).
                assert self._resync is not None
                self._resync()
                self._pump(conn)
            except psycopg2.Error as err:
                if not self._stopping.is_set():
                    LOG.warning("Event channel %s lost; listening again in "
                                "%.1f s: %s", self.channel,
                                self._reconnect_interval, err)
            finally:
                if conn is not None:
                    conn.close()
            self._stopping.wait(self._reconnect_interval)

    def _pump(self, conn: Any) -> None:
        assert self._wake is not None
        wake = self._wake[0]
        while True:
            select.select([conn, wake], [], [])
            if self._stopping.is_set():
                return
            conn.poll()
            while conn.notifies:
                self._handle(conn.notifies.pop(0).payload)

    def _handle(self, payload: str) -> None:
        try:
            origin, change = changes.decode(payload)
        except ValueError as err:
            LOG.warning("Ignoring a malformed message on channel %s: %s",
                        self.channel, err)
            return
        if origin == self.origin:
            # This process delivered it already, right after its commit.
            return
        assert self._receive is not None
        self._receive(change)

    def stop(self) -> None:
        self._stopping.set()
        with self._start_lock:
            thread, wake = self._thread, self._wake
        if wake is not None:
            os.write(wake[1], b"x")
        if thread is not None:
            thread.join(10)
        if wake is not None and (thread is None or not thread.is_alive()):
            os.close(wake[0])
            os.close(wake[1])
        with self._send_lock:
            self._close_sender()
