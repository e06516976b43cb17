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


"""The ``messaging`` driver: changes fanned out through oslo.messaging.

Why: most OpenStack clouds run RabbitMQ beside a MariaDB Galera cluster,
where there is no LISTEN/NOTIFY. Every process casts each committed
change to the fanout of the topic ``[events] channel``; every process
(its RPC server, with a fanout queue of its own) hears every change,
whichever database the deployment uses.

A broker, unlike PostgreSQL, does not tell a consumer what it missed: a
message cast while a consumer's queue was gone (a broker restart) or
that the sender could not send is lost silently. So each process numbers
what it sends (``seq``, from 0 in each process, which has a random
``origin``), and sends a probe when it has sent nothing for ``[events]
probe_interval`` seconds. A receiver that finds a number missing, and
still missing a probe interval later (casts from one thread arrive in
order, but allow for the odd reordering), tells every subscriber to
re-read (``resync``): no wake-up is lost, only late by about that
interval. A process that hears nothing of its own probes for three
intervals knows its channel is down and says so; meanwhile its waiters
rely on ``[events] resync_interval``.

Sending never holds up a commit: :meth:`MessagingDriver.publish` only
queues; one thread casts, in commit order. While the broker cannot be
reached, what is queued is dropped (counted in the sequence, so the
others resync once the broker is back) instead of piling up.
"""

import collections
import importlib
import queue
import threading
import time
from typing import Any
import warnings

from oslo_log import log as logging
from oslo_utils import uuidutils

from vmstate import exception
from vmstate.events import changes
from vmstate.events import drivers

LOG = logging.getLogger(__name__)

#: Changes waiting for the sender thread, at most.
MAX_PENDING = 10000

_STOP = object()


def _oslo_messaging() -> Any:
    with warnings.catch_warnings():
        # oslo.messaging loads oslo.service's eventlet backend, which
        # warns that eventlet is deprecated; vmstate runs no eventlet.
        warnings.filterwarnings("ignore",
                                message=r"\s*Eventlet is deprecated")
        import oslo_messaging
    return oslo_messaging


# (module, options, group) that oslo.messaging 18 registers on cfg.CONF
# only, yet reads from the transport's configuration on every cast and
# dispatch; vmstate's configuration is its own ConfigOpts.
_GLOBAL_ONLY_OPTS = (
    ("oslo_messaging._metrics.client", "oslo_messaging_metrics",
     "oslo_messaging_metrics"),
    ("oslo_messaging._tracing.client", "oslo_messaging_tracing",
     "oslo_messaging_tracing"),
)


def _register_rpc_opts(conf: Any) -> None:
    """Give ``conf`` the option groups oslo.messaging's RPC reads."""
    for module_name, attr, group in _GLOBAL_ONLY_OPTS:
        if group in conf:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # an oslo.messaging without that feature
        conf.register_opts(getattr(module, attr), group=group)


class Sequences:
    """Which numbered messages each origin sent that did not arrive.

    :param patience: seconds a missing number may stay missing (it may
        just be late) before it counts as lost.
    :param clock: ``time.monotonic`` (tests give their own).
    """

    def __init__(self, patience: float, clock: Any = time.monotonic) -> None:
        self.patience = patience
        self._clock = clock
        self._lock = threading.Lock()
        # origin -> the next number expected from it.
        self._next: dict[str, int] = {}
        # origin -> numbers above the next expected that arrived.
        self._ahead: dict[str, set[int]] = collections.defaultdict(set)
        # origin -> when a number first went missing.
        self._missing_since: dict[str, float] = {}
        # origin -> when it was last heard.
        self._heard: dict[str, float] = {}

    def arrived(self, origin: str, seq: int) -> bool:
        """Note message ``seq`` of ``origin``; whether it is the first
        heard from that origin."""
        with self._lock:
            now = self._clock()
            self._heard[origin] = now
            expected = self._next.get(origin)
            if expected is None:
                # The first message heard from it: counting starts here
                # (the driver decides what the ones before may mean).
                self._next[origin] = seq + 1
                return True
            elif seq == expected:
                ahead = self._ahead[origin]
                expected += 1
                while expected in ahead:
                    ahead.discard(expected)
                    expected += 1
                self._next[origin] = expected
                if not ahead:
                    self._missing_since.pop(origin, None)
            elif seq > expected:
                self._ahead[origin].add(seq)
                self._missing_since.setdefault(origin, now)
            # seq < expected: a late one (a lost one already counted).
            return False

    def lost(self) -> list[str]:
        """The origins whose missing messages are now lost.

        Each loss is reported once: those origins expect what follows
        the highest number that arrived.
        """
        out = []
        with self._lock:
            now = self._clock()
            for origin, since in list(self._missing_since.items()):
                if now - since < self.patience:
                    continue
                ahead = self._ahead.pop(origin, set())
                self._next[origin] = max(ahead, default=self._next[origin]
                                         - 1) + 1
                del self._missing_since[origin]
                out.append(origin)
            # Forget processes gone quiet for long (they probe while
            # alive): a new process has a new origin anyway.
            for origin, heard in list(self._heard.items()):
                if now - heard > 100 * self.patience and \
                        origin not in self._missing_since:
                    del self._heard[origin]
                    self._next.pop(origin, None)
                    self._ahead.pop(origin, None)
        return out


class _Endpoint:
    """What the RPC server dispatches: one method, for every message."""

    def __init__(self, driver: "MessagingDriver") -> None:
        self._driver = driver

    def vmstate_event(self, ctxt: Any, origin: str, seq: int,
                      payload: str | None = None) -> None:
        self._driver._arrived(origin, seq, payload)


class MessagingDriver(drivers.Driver):
    """Changes to and from other processes through a RabbitMQ fanout.

    :raises EventBusError: when ``[events] transport_url`` (or oslo.
        messaging's ``[DEFAULT] transport_url``) is not a valid transport
        URL.
    """

    remote = True

    def __init__(self, conf: Any) -> None:
        super().__init__(conf)

        self._om = _oslo_messaging()
        url = conf.events.transport_url
        _register_rpc_opts(conf)
        try:
            self.transport = self._om.get_rpc_transport(conf, url=url)
        except (self._om.InvalidTransportURL,
                self._om.DriverLoadFailure) as err:
            raise exception.EventBusError(
                "The messaging event bus driver cannot use its transport "
                "URL ([events] transport_url or [DEFAULT] transport_url): "
                "%s" % err) from None
        self.topic: str = conf.events.channel
        self.origin = uuidutils.generate_uuid(dashed=False)
        self.probe_interval: float = conf.events.probe_interval
        self._connect_timeout: float = conf.events.connect_timeout
        self._reconnect_interval: float = conf.events.reconnect_interval
        self._target = self._om.Target(topic=self.topic, fanout=True)
        # One attempt per cast: the sender drops what it cannot send
        # rather than hold back everything behind it.
        self._client = self._om.get_rpc_client(self.transport,
                                               self._target, retry=1)
        self._pending: queue.Queue[Any] = queue.Queue(maxsize=MAX_PENDING)
        self._seq = 0
        self._sequences = Sequences(self.probe_interval)
        self._start_lock = threading.Lock()
        self._sender: threading.Thread | None = None
        self._server: Any = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._receive: drivers.Receive | None = None
        self._resync: drivers.Resync | None = None
        # When this process last heard one of its own messages.
        self._own_heard: float | None = None
        self._down = False
        #: Messages dropped because the broker could not take them.
        self.dropped = 0
        #: Times every subscriber was told to re-read.
        self.resyncs = 0
        # Connect now, with a probe: the first change of a service is then
        # not the one that waits for a connection to the broker.
        self._pending.put_nowait(None)
        self._start_sender()

    # -- sending ------------------------------------------------------------

    def publish(self, change: changes.StateChange) -> None:
        self._start_sender()
        try:
            self._pending.put_nowait(change)
        except queue.Full:
            # Numbered all the same: the others see the gap and resync.
            with self._start_lock:
                self._seq += 1
                self.dropped += 1
            LOG.error("Event of %s version %d dropped: %d are waiting for "
                      "the broker already", change.uuid, change.version,
                      MAX_PENDING)

    def _start_sender(self) -> None:
        if self._sender is not None:
            return
        with self._start_lock:
            if self._sender is None and not self._stopping.is_set():
                self._sender = threading.Thread(
                    target=self._send_loop, name="vmstate-events-sender",
                    daemon=True)
                self._sender.start()

    def _next_seq(self) -> int:
        with self._start_lock:
            seq, self._seq = self._seq, self._seq + 1
        return seq

    def _send_loop(self) -> None:
        while True:
            try:
                item = self._pending.get(timeout=self.probe_interval)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            payload = None
            if item is not None:
                payload = changes.encode(item, self.origin)
            if not self._cast(payload):
                self._drop_pending()
                if self._stopping.wait(self._reconnect_interval):
                    return
            self._check()

    def _cast(self, payload: str | None) -> bool:
        seq = self._next_seq()
        try:
            self._client.cast({}, "vmstate_event", origin=self.origin,
                              seq=seq, payload=payload)
            return True
        except Exception as err:
            with self._start_lock:
                self.dropped += 1
            if not self._stopping.is_set():
                LOG.warning("Could not send on the event channel %s (the "
                            "other processes' waiters re-read once it is "
                            "back): %s", self.topic, err)
            return False

    def _drop_pending(self) -> None:
        # Stale by the time the broker is back: drop them, numbered, so
        # that every receiver knows it missed something.
        while True:
            try:
                item = self._pending.get_nowait()
            except queue.Empty:
                return
            if item is _STOP:
                self._pending.put(_STOP)
                return
            self._next_seq()
            with self._start_lock:
                self.dropped += 1

    # -- listening ----------------------------------------------------------

    def listen(self, receive: drivers.Receive,
               resync: drivers.Resync) -> None:
        if self._ready.is_set():
            return
        with self._start_lock:
            if self._receive is None and not self._stopping.is_set():
                self._receive, self._resync = receive, resync
                threading.Thread(target=self._start_server, daemon=True,
                                 name="vmstate-events-listener").start()
        self._start_sender()
        if not self._ready.wait(self._connect_timeout):
            LOG.warning("The event channel %s is not listening yet; "
                        "waiters rely on [events] resync_interval until "
                        "it is", self.topic)

    def _start_server(self) -> None:
        target = self._om.Target(topic=self.topic,
                                 server="%s-%s" % (self.topic, self.origin))
        server = self._om.get_rpc_server(
            self.transport, target, [_Endpoint(self)],
            access_policy=self._om.DefaultRPCAccessPolicy)
        try:
            # One worker: messages are handled in the order they came.
            server.start(override_pool_size=1)
        except Exception:
            LOG.exception("Could not listen on the event channel %s; "
                          "waiters rely on [events] resync_interval",
                          self.topic)
            return
        with self._start_lock:
            if self._stopping.is_set():
                stale = True
            else:
                stale = False
                self._server = server
        if stale:
            server.stop()
            server.wait()
            return
        # Probe at once: the first of our own messages to come back says
        # the fanout queue is bound.
        try:
            self._pending.put_nowait(None)
        except queue.Full:
            pass

    def _arrived(self, origin: str, seq: int, payload: str | None) -> None:
        first = self._sequences.arrived(origin, seq)
        if first and seq > 0 and origin != self.origin and \
                self._ready.is_set():
            # Heard first while listening, past its first message: the
            # ones before may have been sent after this process's queue
            # was bound, and lost. (Before this process is ready, the
            # resync that comes with being ready covers them; a process
            # that starts later is first heard at 0.)
            self._tell_resync("first heard %s at message %d" % (origin,
                                                                seq))
        if origin == self.origin:
            self._own_heard = time.monotonic()
            if not self._ready.is_set():
                self._ready.set()
                # Whatever was sent before the queue was bound is lost.
                self._tell_resync("listening")
            elif self._down:
                self._down = False
                LOG.info("Event channel %s is back", self.topic)
                self._tell_resync("back")
            return
        if payload is None:
            return
        try:
            _origin, change = changes.decode(payload)
        except ValueError as err:
            LOG.warning("Ignoring a malformed message on channel %s: %s",
                        self.topic, err)
            return
        assert self._receive is not None
        self._receive(change)

    def _check(self) -> None:
        """Resync on lost messages; notice a channel gone quiet."""
        if self._sequences.lost():
            self._tell_resync("lost messages")
        heard = self._own_heard
        if heard is not None and not self._down and \
                time.monotonic() - heard > 3 * self.probe_interval:
            self._down = True
            LOG.warning("Event channel %s is silent: none of this process's "
                        "own probes came back for %.1f s; waiters rely on "
                        "[events] resync_interval until it is back",
                        self.topic, time.monotonic() - heard)

    def _tell_resync(self, why: str) -> None:
        if self._resync is None:
            return
        LOG.debug("Event channel %s: every waiter re-reads (%s)",
                  self.topic, why)
        self.resyncs += 1
        self._resync()

    def stop(self) -> None:
        self._stopping.set()
        with self._start_lock:
            sender, server = self._sender, self._server
            self._server = None
        if sender is not None:
            try:
                self._pending.put(_STOP, timeout=5)
            except queue.Full:
                LOG.warning("Events still queued at stop are lost")
            sender.join(10)
        if server is not None:
            server.stop()
            server.wait()
        self.transport.cleanup()
