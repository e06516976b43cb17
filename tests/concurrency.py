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

"""Running test code in threads without losing a failure.

A failure inside a thread (an assertion, an exception) is printed by the
thread and then lost: the test goes on and may pass. :func:`run_concurrently`
collects every thread's outcome and fails the test with the first
exception raised in any thread, traceback included, or with the list of
threads still running when the timeout ends (a hang is a failure, not a
thread left behind).
"""

from collections.abc import Callable
import threading
import time
from typing import Any


class ThreadFailure(AssertionError):
    """A thread of :func:`run_concurrently` raised or did not finish."""


def run_concurrently(*targets: Callable[[], Any], timeout: float = 120,
                     ) -> list[Any]:
    """Run each of ``targets`` in its own thread; their return values.

    The threads start together; the call returns when all have ended, in
    the order of ``targets``.

    :param timeout: seconds for all of them, together.
    :raises ThreadFailure: a thread raised (the first such exception is
        the cause, with its traceback; every failing thread is named), or
        a thread is still alive when ``timeout`` ends.
    """
    results: list[Any] = [None] * len(targets)
    errors: dict[int, BaseException] = {}

    def run(index: int, target: Callable[[], Any]) -> None:
        try:
            results[index] = target()
        except BaseException as err:  # every kind reaches the test
            errors[index] = err

    threads = [threading.Thread(target=run, args=(i, target),
                                name="concurrent-%d" % i, daemon=True)
               for i, target in enumerate(targets)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    if errors:
        first = min(errors)
        raise ThreadFailure("%d of %d threads raised (%s); the first: %r" % (
            len(errors), len(threads),
            ", ".join("concurrent-%d" % i for i in sorted(errors)),
            errors[first])) from errors[first]
    if alive:
        raise ThreadFailure("%d of %d threads still running after %g s: %s"
                            % (len(alive), len(threads), timeout,
                               ", ".join(alive)))
    return results
