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

"""Serving a WSGI application with cheroot until SIGTERM.

Shared by ``vmstate-api`` and ``vmstate-fake-compute``: a pool of worker
threads (enough for long-poll waits), the bound address printed for
scripts and tests that ask for port 0, and a clean stop on SIGTERM or
SIGINT that lets requests in flight finish for a bounded time.

Why cheroot, tuned, rather than gunicorn or uwsgi: vmstate-api is one
process by design (its waiters wake on an in-process event bus, and its
wait counters are per process), which cheroot serves with a thread pool
and a selector for idle connections; it is maintained (CherryPy's server),
pure Python, and already a dependency. Two things are tuned here:

- A new connection waits in cheroot's selector, like an idle keep-alive
  one, until its first bytes arrive: a connection that sends nothing holds
  no worker thread, and is closed after ``client_socket_timeout`` seconds
  (cheroot hands a new connection to a worker at once, which then blocks
  reading it).
- No limit of 10 idle keep-alive connections (cheroot's default closes
  every connection beyond it after its response); the open-files limit is
  raised to its hard limit to hold them.
- A deadline for a request's line and headers (``header_timeout``, from
  their first byte): cheroot's socket timeout bounds only the silence
  between two bytes, so a client that sends its headers one byte a second
  ("slowloris") would hold a worker thread for as long as it likes. A
  watchdog thread disconnects a request still reading its headers at the
  deadline (as nginx's ``client_header_timeout`` and Apache's
  ``mod_reqtimeout`` do), which frees its worker.
"""

from collections.abc import Callable
import resource
import signal
import socket
import threading
import time
from typing import Any

from cheroot import connections
from cheroot import server as cheroot_server
from cheroot import wsgi
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

#: Seconds to wait for a client's bytes unless the caller says otherwise.
CLIENT_SOCKET_TIMEOUT = 30
#: Seconds a request's line and headers may take, from their first byte,
#: unless the caller says otherwise.
HEADER_TIMEOUT = 20
#: The listen backlog: a burst of new connections is accepted, not reset.
BACKLOG = 1024


class HeaderDeadlines:
    """The requests reading their line and headers, with their deadlines;
    a watchdog thread disconnects those past theirs.

    :param timeout: seconds from the start of a request's headers.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._pending: dict[Any, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Requests disconnected at their deadline (for logs and tests).
        self.expired = 0

    def begin(self, conn: Any) -> None:
        """``conn`` starts reading a request's headers."""
        with self._lock:
            self._pending[conn] = time.monotonic() + self.timeout
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="header-deadlines",
                    daemon=True)
                self._thread.start()

    def end(self, conn: Any) -> None:
        """``conn`` has read its headers (or given up)."""
        with self._lock:
            self._pending.pop(conn, None)

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        # Checked a few times per timeout: a request is cut at most a
        # quarter of a timeout (or a second) after its deadline.
        period = min(1.0, self.timeout / 4)
        while not self._stop.wait(period):
            now = time.monotonic()
            with self._lock:
                late = [c for c, deadline in self._pending.items()
                        if deadline <= now]
                for conn in late:
                    del self._pending[conn]
            for conn in late:
                self.expired += 1
                LOG.info("Disconnecting %s: its request line and headers "
                         "took over %g s", conn.remote_addr, self.timeout)
                try:
                    # The worker's blocked read returns: cheroot sees
                    # the client gone and closes the connection.
                    conn.socket.shutdown(socket.SHUT_RDWR)
                except OSError as err:
                    LOG.debug("%s was closed already: %s",
                              conn.remote_addr, err)


class Request(cheroot_server.HTTPRequest):
    """cheroot's request, its line and headers read under the server's
    :class:`HeaderDeadlines`."""

    def parse_request(self) -> None:
        deadlines = self.server.header_deadlines
        deadlines.begin(self.conn)
        try:
            super().parse_request()
        finally:
            deadlines.end(self.conn)


class Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = Request


class Server(wsgi.Server):
    """cheroot's WSGI server; a new connection waits in the selector until
    it has something to read, instead of in a worker thread, and a
    request's headers have a deadline (:class:`HeaderDeadlines`)."""

    ConnectionClass = Connection
    # Set by cheroot's prepare(); its stub leaves it out.
    _connections: connections.ConnectionManager

    def __init__(self, *args: Any, header_timeout: float = HEADER_TIMEOUT,
                 **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.header_deadlines = HeaderDeadlines(header_timeout)

    def stop(self) -> None:
        self.header_deadlines.stop()
        super().stop()

    def process_conn(self, conn: Any) -> None:
        if not getattr(conn, "vmstate_seen", False):
            conn.vmstate_seen = True
            if self.ready and not conn.rfile.has_data():
                # Registered like an idle keep-alive connection: handed to
                # a worker once readable, closed by cheroot's expiry after
                # ``timeout`` seconds of silence.
                self._connections.put(conn)
                return
        super().process_conn(conn)


def raise_open_files_limit() -> int:
    """Raise the soft limit of open files to the hard one; the new soft
    limit (each connection, idle or not, is one open file)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as err:
            LOG.warning("Cannot raise the open files limit to %s: %s",
                        hard, err)
    return soft


def make_server(application: Callable[..., Any], host: str, port: int,
                threads: int, shutdown_timeout: float, name: str,
                client_socket_timeout: float = CLIENT_SOCKET_TIMEOUT,
                header_timeout: float = HEADER_TIMEOUT) -> wsgi.Server:
    """A cheroot server for ``application`` (not yet bound).

    :param threads: worker threads: the requests served at once.
    :param client_socket_timeout: the longest silence, in seconds, while
        reading a client's request line, headers or body, and how long an
        idle connection stays open.
    :param header_timeout: seconds a request's line and headers may take
        in all, from their first byte.
    """
    raise_open_files_limit()
    server = Server((host, port), application, numthreads=threads,
                    max=threads, request_queue_size=BACKLOG,
                    timeout=client_socket_timeout, server_name=name,
                    shutdown_timeout=shutdown_timeout,
                    header_timeout=header_timeout)
    # cheroot reads None as "no limit" (its stub says int only).
    server.keep_alive_conn_limit = None  # type: ignore[assignment]
    return server


def serve(server: wsgi.Server, name: str,
          on_stop: Callable[[], None] | None = None,
          on_listening: Callable[[], None] | None = None) -> int:
    """Run ``server`` until a signal stops it; the exit status.

    :param on_stop: called when the signal comes, before the server waits
        for the requests in flight (to end long-polls at once).
    :param on_listening: called once the address is bound (the command
        has started).
    :raises OSError: the address cannot be bound (in use, not local).
    """
    try:
        server.prepare()
    except OSError as err:
        # cheroot's message names the address; keep it on one line.
        raise OSError(err.errno, "cannot listen on %s:%s: %s" % (
            server.bind_addr[0], server.bind_addr[1],
            " ".join(str(err).split()))) from None
    host, port = server.bind_addr[:2]
    LOG.info("%s listening on http://%s:%s/", name, host, port)
    print("%s listening on http://%s:%s/" % (name, host, port), flush=True)
    if on_listening is not None:
        on_listening()

    stopping = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        LOG.info("%s got signal %d, stopping", name, signum)
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    serving = threading.Thread(target=server.serve, name=name, daemon=True)
    serving.start()
    while not stopping.wait(1.0):
        if not serving.is_alive():
            LOG.error("%s server thread ended unexpectedly", name)
            return 1
    if on_stop is not None:
        on_stop()
    server.stop()
    LOG.info("%s stopped", name)
    return 0
