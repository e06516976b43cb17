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
thread left behind). :class:`Background` does the same for one thread the
test goes on beside (a workload while the test kills a server, a request
that must still be waiting): its :meth:`~Background.outcome` is where the
thread's failure reaches the test.
"""

from collections.abc import Callable
import threading
import time
from typing import Any


class ThreadFailure(AssertionError):
    """A thread of :func:`run_concurrently` raised or did not finish."""


class Background:
    """``target`` running in a thread of its own while the test goes on.

    Started at once. :meth:`outcome` joins it and fails the test when it
    raised or is still running; with ``test`` (a test case), a cleanup of
    the test does so too when the test never asked, so no path of the
    test loses the thread's failure.
    """

    def __init__(self, target: Callable[[], Any],
                 name: str = "background", test: Any = None,
                 timeout: float = 120) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._judged = False
        self._target = target
        if test is not None:
            test.addCleanup(
                lambda: None if self._judged else self.outcome(timeout))
        self._thread = threading.Thread(target=self._run, name=name,
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._target()
        except BaseException as err:  # every kind reaches the test
            self.error = err

    @property
    def name(self) -> str:
        return self._thread.name

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` for the thread, without judging it."""
        self._thread.join(timeout)

    def outcome(self, timeout: float = 120) -> Any:
        """What ``target`` returned, once the thread has ended.

        :raises ThreadFailure: it raised (the cause, with its traceback),
            or it is still running after ``timeout`` seconds.
        """
        self._thread.join(timeout)
        self._judged = True
        if self.error is not None:
            raise ThreadFailure("thread %s raised: %r" % (
                self.name, self.error)) from self.error
        if self._thread.is_alive():
            raise ThreadFailure("thread %s still running after %g s" % (
                self.name, timeout))
        return self.result


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
    threads = [Background(target, name="concurrent-%d" % i)
               for i, target in enumerate(targets)]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    errors = {i: t.error for i, t in enumerate(threads)
              if t.error is not None}
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
    return [t.result for t in threads]
