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



"""Who hears of a transition once it is durable: after-commit listeners.

The state store knows nothing of events, buses or waiters; it only keeps
this registry. Every write of :mod:`vmstate.db.api` that records a
transition calls :func:`committed` with the instance it returns (the dict
with its ``"event"``) once its transaction has committed, never before,
so that nobody is told about a change a rollback could still undo. The
layers above (:mod:`vmstate.events`) add their listener here.

The write functions of :mod:`vmstate.db.api` each own their transaction
(none runs inside another's), so the end of their ``writer`` block is the
commit. A new write function must call :func:`committed` the same way.
"""

from collections.abc import Callable
import threading
from typing import Any

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]

# Replaced, never mutated: committed() iterates without a lock.
_listeners: tuple[Listener, ...] = ()
_lock = threading.Lock()


def add(listener: Listener) -> None:
    """Call ``listener(instance)`` after every committed transition.

    Adding the same listener twice has no effect.
    """
    global _listeners
    with _lock:
        if listener not in _listeners:
            _listeners = (*_listeners, listener)


def remove(listener: Listener) -> None:
    """Stop calling ``listener``; unknown listeners are ignored."""
    global _listeners
    with _lock:
        _listeners = tuple(x for x in _listeners if x != listener)


def committed(instance: dict[str, Any]) -> None:
    """Tell every listener that ``instance``'s transition has committed.

    Does nothing for a write that recorded no transition (a heartbeat,
    whose ``"event"`` is ``None``). A listener's error is logged and the
    next listener still runs: the write has happened and stays done.
    """
    if instance.get("event") is None:
        return
    for listener in _listeners:
        try:
            listener(instance)
        except Exception:
            LOG.exception("After-commit listener %r failed for instance "
                          "%s version %s", listener, instance.get("uuid"),
                          instance.get("version"))
