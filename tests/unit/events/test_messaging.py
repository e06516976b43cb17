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

"""The messaging driver's bookkeeping of numbered messages."""

from tests import base
from vmstate.events.drivers import messaging


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class TestSequences(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = Clock()
        self.seqs = messaging.Sequences(1.0, clock=self.clock)

    def arrive(self, origin, *numbers):
        for seq in numbers:
            self.seqs.arrived(origin, seq)

    def test_in_order_loses_nothing(self):
        self.arrive("a", 5, 6, 7)
        self.arrive("b", 0, 1)
        self.clock.now += 10
        self.assertEqual([], self.seqs.lost())

    def test_the_first_number_heard_is_where_an_origin_starts(self):
        self.assertTrue(self.seqs.arrived("a", 41))
        self.assertFalse(self.seqs.arrived("a", 42))
        self.clock.now += 10
        self.assertEqual([], self.seqs.lost())

    def test_a_late_message_within_patience_is_no_loss(self):
        self.arrive("a", 0, 2, 3)
        self.clock.now += 0.5
        self.arrive("a", 1)
        self.clock.now += 10
        self.assertEqual([], self.seqs.lost())

    def test_a_gap_is_lost_after_patience_and_reported_once(self):
        self.arrive("a", 0, 1, 4)
        self.clock.now += 0.5
        self.assertEqual([], self.seqs.lost())
        self.clock.now += 0.6
        self.assertEqual(["a"], self.seqs.lost())
        self.assertEqual([], self.seqs.lost())
        # Counting goes on from the highest number that arrived.
        self.arrive("a", 5, 6)
        self.clock.now += 10
        self.assertEqual([], self.seqs.lost())
        # The lost ones arriving after all change nothing.
        self.arrive("a", 2, 3)
        self.assertEqual([], self.seqs.lost())

    def test_origins_are_counted_apart(self):
        self.arrive("a", 0, 1)
        self.arrive("b", 0, 2)
        self.clock.now += 2
        self.assertEqual(["b"], self.seqs.lost())

    def test_a_gap_filled_later_in_order(self):
        self.arrive("a", 0, 3, 2, 1)
        self.clock.now += 5
        self.assertEqual([], self.seqs.lost())
        self.arrive("a", 4)
        self.assertEqual([], self.seqs.lost())

    def test_quiet_origins_are_forgotten(self):
        self.arrive("a", 7)
        self.clock.now += 1000
        self.assertEqual([], self.seqs.lost())
        # Heard again: a fresh start, not a gap from 8.
        self.arrive("a", 50)
        self.clock.now += 10
        self.assertEqual([], self.seqs.lost())
