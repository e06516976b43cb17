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


"""The lifecycle of actions: tasks begun, checkpointed, finished or failed.

Sits above the matrix and the state store: it turns matrix facts into the
plain data :mod:`vmstate.db` accepts, and database conflicts into the
errors callers expect (Nova's ``InstanceInvalidState``, ``TaskAborted``).
Waits (:func:`wait_for`) follow an instance's transitions through the
event bus until it reaches the awaited states.

The lifecycle engine adds task timeouts and failure counts
(:mod:`~vmstate.lifecycle.timeouts`, fired by the
:mod:`~vmstate.lifecycle.sweeper`), queued actions
(:mod:`~vmstate.lifecycle.queue`), observed power states
(:mod:`~vmstate.lifecycle.power`), admin resets
(:mod:`~vmstate.lifecycle.reset`) and notifications; a process turns on
its after-commit part with :func:`install`.
"""

from vmstate.lifecycle.engine import install
from vmstate.lifecycle.power import report as report_power_state
from vmstate.lifecycle.queue import drain
from vmstate.lifecycle.queue import request
from vmstate.lifecycle.reset import clear_error
from vmstate.lifecycle.reset import reset_state
from vmstate.lifecycle.sweeper import Sweeper
from vmstate.lifecycle.tasks import BUILD
from vmstate.lifecycle.tasks import Task
from vmstate.lifecycle.tasks import adopt
from vmstate.lifecycle.tasks import allowed_cells
from vmstate.lifecycle.tasks import begin
from vmstate.lifecycle.waits import Cancel
from vmstate.lifecycle.waits import Progress
from vmstate.lifecycle.waits import WaitResult
from vmstate.lifecycle.waits import wait_for

__all__ = ["BUILD", "Task", "adopt", "allowed_cells", "begin"]
__all__ += ["Cancel", "Progress", "WaitResult", "wait_for"]
__all__ += ["Sweeper", "clear_error", "drain", "install",
            "report_power_state", "request", "reset_state"]
