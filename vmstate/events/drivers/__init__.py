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



"""Event bus drivers: how changes travel between processes.

A driver is a stevedore plugin in the :data:`NAMESPACE` namespace, a
class called with vmstate's configuration. The bus delivers every change
inside the process itself; the driver only carries changes to and from
other processes. Shipped: ``local`` (no channel), ``postgresql``
(LISTEN/NOTIFY) and ``messaging`` (a RabbitMQ fanout through
oslo.messaging).
"""

import abc
from collections.abc import Callable
from typing import Any

from vmstate import exception
from vmstate import plugins
from vmstate.events.changes import StateChange

NAMESPACE = "vmstate.event_bus"

Receive = Callable[[StateChange], None]
Resync = Callable[[], None]


class Driver(abc.ABC):
    """The interface of a driver.

    ``remote`` says whether changes published here reach other processes
    (the bus skips building a change nobody could hear).
    """

    remote = False

    def __init__(self, conf: Any) -> None:
        self.conf = conf

    @abc.abstractmethod
    def publish(self, change: StateChange) -> None:
        """Send a committed ``change`` to the other processes.

        Called in the committing thread, after the commit. Never raises:
        a change that cannot be sent is logged, and waiters elsewhere
        catch up through their safety net.
        """

    @abc.abstractmethod
    def listen(self, receive: Receive, resync: Resync) -> None:
        """Make sure changes from other processes reach ``receive``.

        Called on every subscription; the first call opens the channel
        and returns once it is listening (or after the configured
        ``[events] connect_timeout``), so that a waiter that subscribed
        and then read its instance cannot miss a later change. After the
        channel was lost and opened again, ``resync`` is called: changes
        sent meanwhile are lost, and subscribers must re-read. Never
        raises.
        """

    def check(self) -> None:  # noqa: B027 (optional: local has no channel)
        """Reach the channel once, for ``vmstate-status upgrade check``.

        A driver without a channel (``remote`` false) has nothing to
        reach. A remote driver overrides this to open a connection and
        close it again.

        :raises EventBusError: saying why the channel cannot be reached.
        """

    @abc.abstractmethod
    def stop(self) -> None:
        """Close the channel; the driver is not used afterwards."""


#: The event bus drivers: classes built with the configuration.
KIND: plugins.Kind[Driver] = plugins.Kind(
    NAMESPACE, "event bus driver", exception.EventBusError, base=Driver)
