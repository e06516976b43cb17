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



"""The event bus: committed transitions delivered to subscribers by uuid.

Subscribers register a callback per instance uuid. A transition
committed in this process is delivered straight from the committing
thread, right after the commit; one committed elsewhere arrives through
the driver's channel. Delivery runs the callbacks in the delivering
thread, so they must be quick and must not block (a waiter's callback
appends to its inbox and wakes it); nothing here polls.

The process has one bus, built from ``[events]`` on first use
(:func:`get`).
"""

from collections.abc import Callable
import threading
from typing import Any

from oslo_log import log as logging

from vmstate import plugins
from vmstate.events import drivers
from vmstate.events.changes import StateChange

LOG = logging.getLogger(__name__)

OnChange = Callable[[StateChange], None]
OnResync = Callable[[], None]


class Subscription:
    """One subscriber's registration for one instance; :meth:`close` it.

    Usable as a context manager.
    """

    __slots__ = ("uuid", "on_change", "on_resync", "_bus")

    def __init__(self, bus: "Bus", uuid: str, on_change: OnChange,
                 on_resync: OnResync | None) -> None:
        self.uuid = uuid
        self.on_change = on_change
        self.on_resync = on_resync
        self._bus = bus

    def close(self) -> None:
        """Stop delivering to this subscriber; closing twice is harmless."""
        self._bus._unsubscribe(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class Bus:
    """Subscribers by instance uuid, fed by this process and the driver."""

    def __init__(self, driver: drivers.Driver) -> None:
        self.driver = driver
        self._lock = threading.Lock()
        # uuid -> {subscription: None}: ordered, O(1) removal.
        self._subscribers: dict[str, dict[Subscription, None]] = {}

    # -- subscribing --------------------------------------------------------

    def subscribe(self, uuid: str, on_change: OnChange,
                  on_resync: OnResync | None = None) -> Subscription:
        """Call ``on_change(change)`` for every committed change of ``uuid``.

        Returns once deliveries are guaranteed: a transition committed
        after this returns reaches ``on_change`` (through the channel,
        for other processes' transitions, as long as the channel holds;
        when it was lost and is back, ``on_resync()`` says that changes
        may have been missed). Changes may arrive more than once and out
        of order; their versions tell.
        """
        subscription = Subscription(self, uuid, on_change, on_resync)
        with self._lock:
            self._subscribers.setdefault(uuid, {})[subscription] = None
        self.driver.listen(self.deliver, self.resync)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            found = self._subscribers.get(subscription.uuid)
            if found is not None:
                found.pop(subscription, None)
                if not found:
                    del self._subscribers[subscription.uuid]

    def subscriber_count(self, uuid: str | None = None) -> int:
        """How many subscriptions are open (for ``uuid``, or in all)."""
        with self._lock:
            if uuid is not None:
                return len(self._subscribers.get(uuid, ()))
            return sum(len(s) for s in self._subscribers.values())

    # -- delivering ---------------------------------------------------------

    def publish(self, instance: dict[str, Any]) -> None:
        """Deliver a committed state-store write here and to the others.

        ``instance`` is what the write returned, with its ``"event"``.
        Registered with :mod:`vmstate.db.listeners`, so it runs after
        every commit of a transition, in the committing thread.
        """
        if not self.driver.remote and instance["uuid"] not in \
                self._subscribers:
            return
        change = StateChange.from_instance(instance)
        self.deliver(change)
        self.driver.publish(change)

    def deliver(self, change: StateChange) -> None:
        """Run the callbacks of ``change.uuid``'s subscribers.

        A callback's error is logged; the others still run.
        """
        with self._lock:
            found = self._subscribers.get(change.uuid)
            if not found:
                return
            targets = list(found)
        for subscription in targets:
            try:
                subscription.on_change(change)
            except Exception:
                LOG.exception("Event subscriber %r failed on %s version %d",
                              subscription.on_change, change.uuid,
                              change.version)

    def resync(self) -> None:
        """Tell every subscriber that changes may have been missed."""
        with self._lock:
            targets = [s for found in self._subscribers.values()
                       for s in found if s.on_resync is not None]
        for subscription in targets:
            try:
                subscription.on_resync()  # type: ignore[misc]
            except Exception:
                LOG.exception("Event subscriber %r failed to resync",
                              subscription.on_resync)

    def close(self) -> None:
        """Stop the driver; subscriptions get no more remote changes."""
        self.driver.stop()


# -- the process's bus -------------------------------------------------------

_bus: Bus | None = None
_bus_lock = threading.Lock()


def installed_drivers() -> list[str]:
    """The names of every event bus driver installed here."""
    return plugins.installed(drivers.NAMESPACE)


def load_driver(conf: Any) -> drivers.Driver:
    """The driver ``[events] driver`` names, built for ``conf``.

    :raises EventBusError: no such driver, or it cannot work with
        ``conf`` (the postgresql driver on another database).
    """
    return plugins.build(drivers.KIND, conf.events.driver, conf)


def get() -> Bus:
    """The process's bus, built from ``[events]`` on first use.

    :raises EventBusError: as :func:`load_driver`.
    """
    global _bus
    current = _bus
    if current is not None:
        return current
    with _bus_lock:
        if _bus is None:
            from vmstate.conf import CONF
            _bus = Bus(load_driver(CONF))
        return _bus


def set_bus(bus: Bus | None) -> Bus | None:
    """Replace the process's bus (``None``: build from config on next use).

    The previous bus is returned, not closed. For tests and for programs
    that build their bus themselves.
    """
    global _bus
    with _bus_lock:
        previous, _bus = _bus, bus
    return previous
