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

"""The fake driver: walks each task through its steps, checkpointing.

Each step waits ``[fake_compute] step_seconds``, then proves with a
checkpoint that the task still owns the instance (advancing its
task_state where Nova's has several steps). A checkpoint that finds the
task preempted (a delete during the build) stops the work at once: the
newer decision stands and the instance never comes back.
"""

from concurrent import futures
import threading
from typing import Any

from oslo_log import log as logging

from vmstate import exception
from vmstate import lifecycle
from vmstate import states as s
from vmstate.context import RequestContext

LOG = logging.getLogger(__name__)

# The task_states an action walks through after the one ``begin`` set.
STEPS: dict[str, tuple[str, ...]] = {
    "create": (s.NETWORKING, s.BLOCK_DEVICE_MAPPING, s.SPAWNING),
    "reboot": (s.REBOOT_PENDING, s.REBOOT_STARTED),
    "reboot_hard": (s.REBOOT_PENDING_HARD, s.REBOOT_STARTED_HARD),
    "resize": (s.RESIZE_MIGRATING, s.RESIZE_MIGRATED, s.RESIZE_FINISH),
    "migrate": (s.RESIZE_MIGRATING, s.RESIZE_MIGRATED, s.RESIZE_FINISH),
    "rebuild": (s.REBUILD_BLOCK_DEVICE_MAPPING, s.REBUILD_SPAWNING),
    "evacuate": (s.REBUILD_BLOCK_DEVICE_MAPPING, s.REBUILD_SPAWNING),
    "snapshot": (s.IMAGE_PENDING_UPLOAD, s.IMAGE_UPLOADING),
    "shelve": (s.SHELVING_IMAGE_PENDING_UPLOAD, s.SHELVING_IMAGE_UPLOADING),
}

# What the hypervisor would report once a vm_state is reached.
POWER_STATES: dict[str, int] = {
    s.ACTIVE: s.RUNNING,
    s.RESCUED: s.RUNNING,
    s.RESIZED: s.RUNNING,
    s.STOPPED: s.SHUTDOWN,
    s.SHELVED: s.SHUTDOWN,
    s.SOFT_DELETED: s.SHUTDOWN,
    s.PAUSED: s.POWER_PAUSED,
    s.SUSPENDED: s.POWER_SUSPENDED,
    s.SHELVED_OFFLOADED: s.NOSTATE,
    s.DELETED: s.NOSTATE,
}


class _Stopping(BaseException):
    """The driver is shutting down: leave the task as it is.

    A BaseException, so the task's context manager neither finishes nor
    fails it; a restarted worker or a timeout takes it from there.
    """


class FakeDriver:
    """Runs tasks in a thread pool, one step at a time."""

    def __init__(self, step_seconds: float, workers: int = 32) -> None:
        self.step_seconds = step_seconds
        self._stop = threading.Event()
        self._pool = futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="fake-driver")

    def build(self, context: RequestContext, uuid: str) -> futures.Future[Any]:
        """Take over the build task of a new instance and run it."""
        return self.run(lifecycle.adopt(context, uuid))

    def run(self, task: lifecycle.Task) -> futures.Future[Any]:
        """Carry ``task`` out in the background."""
        return self._pool.submit(self._run, task)

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)

    def _wait(self) -> None:
        if self._stop.wait(self.step_seconds):
            raise _Stopping()

    def _run(self, task: lifecycle.Task) -> dict[str, Any] | None:
        if task.task_id is None:
            return task.instance    # nothing runs: begin recorded it all
        try:
            with task:
                for step in STEPS.get(task.action, ()):
                    self._wait()
                    task.checkpoint(step)
                self._wait()
                task.checkpoint()
                target = task.completes_in() or task.instance["vm_state"]
                return task.finish(target,
                                   power_state=POWER_STATES.get(target))
        except exception.TaskAborted as err:
            LOG.info("%s on %s stopped: %s", task.action, task.uuid, err)
        except _Stopping:
            LOG.info("%s on %s left to its timeout: the driver stopped",
                     task.action, task.uuid)
        except Exception:
            LOG.exception("%s on %s failed", task.action, task.uuid)
        return None
