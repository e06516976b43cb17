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


"""Notifications of every committed transition, through oslo.messaging.

As OpenStack services' versioned notifications: event type
``instance.transition``, priority INFO, publisher ``vmstate:<host>``, and
a payload that is an oslo.versionedobjects object
(:mod:`vmstate.lifecycle.payloads`), naming its schema and version::

    {"vmstate_object.name": "InstanceTransitionPayload",
     "vmstate_object.namespace": "vmstate",
     "vmstate_object.version": "1.0",
     "vmstate_object.data": {
         "instance_uuid", "project_id", "version", "action",
         "from": {"vm_state", "task_state", "power_state"}, "to": {...},
         "task_id", "fault", "reason", "request_id", "user_id",
         "created_at"}}

``version`` is the instance's version after the transition, so consumers
can order notifications and see gaps. A queued action dropped at its
turn is ``instance.queue.dropped`` (payload ``QueueDroppedPayload``:
``instance_uuid, action, reason, why, user_id, project_id, request_id,
created_at``). Samples of both: ``doc/notification_samples/``.

Which transport, drivers and topics: oslo.messaging's own options
(``[oslo_messaging_notifications] driver``, ``transport_url``, ``topics``).
No driver (the default) or ``noop`` sends nothing; ``messagingv2`` sends to
the broker. :func:`publish` is an after-commit listener
(:mod:`vmstate.db.listeners`, added by :mod:`vmstate.lifecycle.engine`): it
only queues the message; one background thread sends them in commit
order, so a slow or absent broker never holds up a state change. When
that queue is full, further notifications are dropped and logged.
"""

from collections.abc import Mapping
import datetime
import os
import queue
import socket
import threading
from typing import Any
import warnings

from oslo_log import log as logging

from vmstate.conf import CONF
from vmstate.context import RequestContext

LOG = logging.getLogger(__name__)

EVENT_TYPE = "instance.transition"
QUEUE_DROPPED = "instance.queue.dropped"

# Messages waiting for the sender thread at most.
MAX_PENDING = 10000

_STOP = object()


def _iso(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(
                tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def transition_payload(instance: dict[str, Any]) -> dict[str, Any]:
    """The serialized ``InstanceTransitionPayload`` of ``instance``'s
    committed transition (``instance`` as the store returns it, with its
    ``event``)."""
    # Imported on first use: oslo.versionedobjects imports oslo.messaging,
    # which a process that sends no notification never needs.
    from vmstate.lifecycle import payloads

    event = instance["event"]
    return payloads.InstanceTransitionPayload(**{
        "instance_uuid": instance["uuid"],
        "project_id": instance.get("project_id"),
        "version": event["version"],
        "action": event["action"],
        "from": dict(event["from"]),
        "to": dict(event["to"]),
        "task_id": instance.get("task_id"),
        "fault": instance.get("fault"),
        "reason": event.get("reason"),
        "request_id": event.get("request_id"),
        "user_id": event.get("user_id"),
        "created_at": _iso(event.get("created_at")),
    }).to_primitive()


def dropped_payload(entry: Mapping[str, Any], why: str) -> dict[str, Any]:
    """The serialized ``QueueDroppedPayload`` of a queue ``entry`` dropped
    because ``why``."""
    from vmstate.lifecycle import payloads

    return payloads.QueueDroppedPayload(
        instance_uuid=entry["instance_uuid"], action=entry["action"],
        reason=entry.get("reason"), why=why, user_id=entry.get("user_id"),
        project_id=entry.get("project_id"),
        request_id=entry.get("request_id"),
        created_at=_iso(entry.get("created_at"))).to_primitive()


def _context(event: Mapping[str, Any]) -> RequestContext:
    """The context of the change (who, which request), for the envelope.
    """
    kwargs: dict[str, Any] = {"user_id": event.get("user_id"),
                              "project_id": event.get("project_id"),
                              "overwrite": False}
    if event.get("request_id"):
        kwargs["request_id"] = event["request_id"]
    return RequestContext(**kwargs)


class Publisher:
    """Sends notifications from one thread, in the order submitted."""

    def __init__(self, notifier: Any, transport: Any,
                 maxsize: int = MAX_PENDING) -> None:
        self.notifier = notifier
        self.transport = transport
        self._pending: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._start_lock = threading.Lock()

    def _started(self) -> None:
        # Started on first use, and again in a child after a fork (a
        # preforking WSGI server imports the application, then forks).
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._start_lock:
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, daemon=True,
                    name="vmstate-notifications")
                self._thread.start()

    def submit(self, ctxt: Any, event_type: str,
               payload: dict[str, Any]) -> bool:
        """Queue one INFO notification; ``False`` when the queue is full.
        """
        self._started()
        try:
            self._pending.put_nowait((ctxt, event_type, payload))
        except queue.Full:
            LOG.error("Notification %s dropped: %d are waiting for the "
                      "broker already", event_type, self._pending.maxsize)
            return False
        return True

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted was sent; whether it was."""
        if self._thread is None:
            return True
        done = threading.Event()
        try:
            self._pending.put((None, None, done), timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def stop(self, timeout: float) -> None:
        """Send what is queued (for at most ``timeout`` s) and stop."""
        if self._thread is not None:
            try:
                self._pending.put(_STOP, timeout=timeout)
            except queue.Full:
                LOG.warning("Notifications still queued at stop are lost")
            self._thread.join(timeout)
        try:
            self.transport.cleanup()
        except Exception:
            LOG.exception("Could not close the notification transport")

    def _run(self) -> None:
        while True:
            item = self._pending.get()
            if item is _STOP:
                return
            ctxt, event_type, payload = item
            if event_type is None:
                payload.set()
                continue
            try:
                self.notifier.info(ctxt, event_type, payload)
            except Exception:
                LOG.exception("Could not send notification %s",
                              event_type)


class _ContextSerializer:
    """Payloads as they are; the context as its dict (who, which request),
    which the drivers put in the envelope."""

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def serialize_context(self, ctxt: Any) -> dict[str, Any]:
        return ctxt.to_dict() if hasattr(ctxt, "to_dict") else dict(ctxt)

    def deserialize_context(self, ctxt: Any) -> Any:
        return ctxt


_lock = threading.Lock()
_publisher: Publisher | None = None


def setup() -> bool:
    """Start sending notifications if a driver is configured.

    Idempotent. oslo.messaging is imported only here, when the lifecycle
    engine is installed.

    :returns: whether notifications are sent.
    :raises oslo_messaging.InvalidTransportURL: a malformed
        ``transport_url`` (the service must not start).
    """
    global _publisher
    with _lock:
        if _publisher is not None:
            return True
        with warnings.catch_warnings():
            # oslo.messaging loads oslo.service's eventlet backend, which
            # warns that eventlet is deprecated; vmstate runs no eventlet.
            warnings.filterwarnings("ignore",
                                    message=r"\s*Eventlet is deprecated")
            import oslo_messaging

        transport = oslo_messaging.get_notification_transport(CONF)
        drivers = [d for d in CONF.oslo_messaging_notifications.driver
                   if d != "noop"]
        if not drivers:
            transport.cleanup()
            return False
        notifier = oslo_messaging.Notifier(
            transport, publisher_id="vmstate:%s" % socket.gethostname(),
            serializer=_ContextSerializer())
        _publisher = Publisher(notifier, transport)
        LOG.info("Sending notifications with driver(s) %s to topic(s) %s",
                 ", ".join(drivers),
                 ", ".join(CONF.oslo_messaging_notifications.topics))
        return True


def shutdown(timeout: float = 5.0) -> None:
    """Stop sending (after what is queued, for at most ``timeout`` s)."""
    global _publisher
    with _lock:
        publisher, _publisher = _publisher, None
    if publisher is not None:
        publisher.stop(timeout)


def flush(timeout: float = 5.0) -> bool:
    """Wait until the notifications submitted so far were sent."""
    publisher = _publisher
    return True if publisher is None else publisher.flush(timeout)


def publish(instance: dict[str, Any]) -> None:
    """After-commit listener: notify ``instance``'s transition."""
    publisher = _publisher
    if publisher is None or instance.get("event") is None:
        return
    publisher.submit(_context(instance["event"]), EVENT_TYPE,
                     transition_payload(instance))


def queue_dropped(entry: Mapping[str, Any], why: str) -> None:
    """Notify that a queued action was dropped without starting."""
    publisher = _publisher
    if publisher is None:
        return
    publisher.submit(_context(entry), QUEUE_DROPPED,
                     dropped_payload(entry, why))
