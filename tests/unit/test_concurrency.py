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

"""run_concurrently never loses a thread's failure."""

import threading
import unittest

from tests import base
from tests import concurrency


class TestRunConcurrently(base.TestCase):

    def test_results_in_the_order_of_the_targets(self):
        barrier = threading.Barrier(3, timeout=10)

        def meet(n):
            barrier.wait()      # all three run at once, or this fails
            return n * 10

        self.assertEqual([0, 10, 20], concurrency.run_concurrently(
            *(lambda n=n: meet(n) for n in range(3))))

    def test_an_assertion_in_a_thread_fails_the_test(self):
        def wrong():
            self.assertEqual(202, 500)

        err = self.assertRaises(concurrency.ThreadFailure,
                                concurrency.run_concurrently,
                                lambda: 1, wrong)
        self.assertIn("1 of 2 threads raised (concurrent-1)", str(err))
        self.assertIsInstance(err.__cause__, AssertionError)
        self.assertIn("500", str(err.__cause__))

    def test_a_thread_still_running_fails_the_test(self):
        release = threading.Event()
        self.addCleanup(release.set)
        err = self.assertRaises(concurrency.ThreadFailure,
                                concurrency.run_concurrently,
                                lambda: None, release.wait, timeout=0.2)
        self.assertIn("1 of 2 threads still running after 0.2 s: "
                      "concurrent-1", str(err))


class TestBackground(base.TestCase):

    def test_outcome_is_what_the_target_returned(self):
        thread = concurrency.Background(lambda: 42, test=self)
        self.assertEqual(42, thread.outcome(10))

    def test_an_assertion_in_the_thread_fails_at_outcome(self):
        def wrong():
            self.assertEqual(202, 500)

        thread = concurrency.Background(wrong, name="asker")
        err = self.assertRaises(concurrency.ThreadFailure, thread.outcome,
                                10)
        self.assertIn("thread asker raised", str(err))
        self.assertIsInstance(err.__cause__, AssertionError)

    def test_a_thread_still_running_fails_at_outcome(self):
        release = threading.Event()
        self.addCleanup(release.set)
        thread = concurrency.Background(release.wait, name="stuck")
        err = self.assertRaises(concurrency.ThreadFailure, thread.outcome,
                                0.2)
        self.assertIn("thread stuck still running after 0.2 s", str(err))

    def test_a_test_that_never_asks_fails_in_its_cleanup(self):
        class Forgetful(base.TestCase):
            def test(self):
                concurrency.Background(lambda: 1 / 0, test=self)

        result = unittest.TestResult()
        Forgetful("test").run(result)
        failed = result.failures + result.errors
        self.assertEqual(1, len(failed), failed)
        self.assertIn("ZeroDivisionError", failed[0][1])
