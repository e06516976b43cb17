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



"""The event bus: every committed transition, delivered to its waiters.

Importing this package subscribes the process's bus to the state store's
after-commit listeners (:mod:`vmstate.db.listeners`): from then on every
transition committed in this process, whoever makes it (the REST API,
lifecycle tasks, the compute guard, sweepers), is published once its
transaction has committed, never before. :mod:`vmstate.lifecycle`
imports it, so every process that changes state through vmstate does.

Subscribe with ``events.get().subscribe(uuid, on_change, on_resync)``;
:func:`vmstate.lifecycle.wait_for` is the usual subscriber.
"""

from typing import Any

from vmstate.db import listeners
from vmstate.events.bus import Bus
from vmstate.events.bus import Subscription
from vmstate.events.bus import get
from vmstate.events.bus import installed_drivers
from vmstate.events.bus import load_driver
from vmstate.events.bus import set_bus
from vmstate.events.changes import StateChange

__all__ = [
    "Bus", "StateChange", "Subscription", "get",
    "installed_drivers", "load_driver", "publish", "set_bus",
]


def publish(instance: dict[str, Any]) -> None:
    """The after-commit listener: hand a committed write to the bus."""
    get().publish(instance)


listeners.add(publish)
