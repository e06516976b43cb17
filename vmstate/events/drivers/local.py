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



"""The ``local`` driver: no channel between processes.

Waiters hear of their own process's transitions at once (the bus does
that for every driver) and of other processes' only when their safety
net re-reads the instance (``[events] resync_interval``). Right for one
``vmstate-api`` process on the embedded SQLite database.
"""

from vmstate.events import drivers
from vmstate.events.changes import StateChange


class LocalDriver(drivers.Driver):
    """Nothing to send, nothing to listen to."""

    def publish(self, change: StateChange) -> None:
        """No other process can hear it."""

    def listen(self, receive: drivers.Receive,
               resync: drivers.Resync) -> None:
        """No other process sends anything."""

    def stop(self) -> None:
        """No channel to close."""
