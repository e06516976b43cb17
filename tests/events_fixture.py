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



"""A private event bus per test.

Usage::

    bus = self.useFixture(events_fixture.Bus()).bus

The process's bus (:func:`vmstate.events.get`) is then a new one, with
the ``local`` driver unless ``driver`` is given, for the test only; it is
closed and the previous one put back afterwards. Transitions committed
in the test are published to it, as in a service.
"""

import threading

import fixtures

from vmstate import events
from vmstate.db import action_queue
from vmstate.events.drivers import local


class Bus(fixtures.Fixture):
    """``bus``: the process's event bus while the fixture is set up."""

    def __init__(self, driver=None) -> None:
        super().__init__()
        self.driver = driver

    def _setUp(self) -> None:
        self.bus = events.Bus(self.driver or local.LocalDriver(None))
        previous = events.set_bus(self.bus)
        self.addCleanup(events.set_bus, previous)
        self.addCleanup(self.bus.close)


class WaitRead(fixtures.Fixture):
    """``event`` is set whenever a wait reads its instance.

    A wait subscribes before it reads, so once ``event`` is set a
    transition committed by the test is one the wait must see.
    """

    def _setUp(self):
        self.event = threading.Event()
        real = action_queue.instance_with_queue

        def read_and_tell(ctx, uuid):
            try:
                return real(ctx, uuid)
            finally:
                self.event.set()

        self.useFixture(fixtures.MockPatch(
            "vmstate.lifecycle.shared_read.action_queue.instance_with_queue",
            side_effect=read_and_tell))
