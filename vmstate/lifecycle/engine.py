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


"""The lifecycle engine's reactions to committed transitions.

:func:`install` adds two after-commit listeners
(:mod:`vmstate.db.listeners`) to the process, in this order:

1. :func:`vmstate.lifecycle.notifications.publish`: the notification of
   every transition (when a driver is configured);
2. :func:`after_commit`, which

   * forgets the failure count of a step that succeeded (the task moved
     on from a task_state that has a timeout, not by a timeout, not into
     error);
   * empties the queue of an instance whose deletion began (a delete
     supersedes everything);
   * starts the queued actions of an instance whose task ended, or that
     an admin reset (the drain), unless a timeout ended the task: the
     sweeper that fired it retries the step first and drains after.

vmstate-api and the sweeper install it when they start; a program that
uses :mod:`vmstate.lifecycle` as a library calls :func:`install` once to
get the same (otherwise the sweeper drains its queues within a round).
"""

import threading
from typing import Any

from oslo_log import log as logging

from vmstate import states
from vmstate.context import get_admin_context
from vmstate.db import action_queue
from vmstate.db import failures
from vmstate.db import listeners
from vmstate.db import overrides
from vmstate.lifecycle import notifications
from vmstate.lifecycle import queue
from vmstate.lifecycle import timeouts
from vmstate.matrix import loader

LOG = logging.getLogger(__name__)

_lock = threading.Lock()
_installed = False

_ADMIN_ACTIONS = frozenset((overrides.RESET_STATE, overrides.CLEAR_ERROR))


def install() -> None:
    """Add the lifecycle listeners to this process (idempotent).

    Checks the timeout configuration against the matrix and starts the
    notification sender, so that a bad configuration stops a service at
    start rather than at its first timeout.

    :raises MatrixError: ``[lifecycle] task_timeouts`` names an unknown
        task_state, or the matrix plugins are broken.
    :raises ConfigFileValueError: a malformed ``[lifecycle]`` value.
    """
    global _installed
    with _lock:
        timeouts.policy()
        notifications.setup()
        listeners.add(notifications.publish)
        listeners.add(after_commit)
        _installed = True


def uninstall() -> None:
    """Remove the listeners and stop the notification sender."""
    global _installed
    with _lock:
        listeners.remove(after_commit)
        listeners.remove(notifications.publish)
        notifications.shutdown()
        _installed = False


def after_commit(instance: dict[str, Any]) -> None:
    """The engine's after-commit listener (see the module docstring)."""
    event = instance["event"]
    uuid = instance["uuid"]
    before = event["from"]["task_state"]
    after = event["to"]["task_state"]
    action = event["action"]
    admin = get_admin_context()
    matrix = loader.get()
    if (before is not None and after != before
            and action != failures.TIMEOUT
            and event["to"]["vm_state"] != states.ERROR
            and before in timeouts.policy(matrix)):
        failures.clear(admin, uuid, before, before=event["created_at"])
    if (action in matrix.actions and after is not None
            and queue.deletes(matrix.definition(action))
            and before != after):
        for entry in action_queue.clear(admin, uuid):
            queue.notify_dropped(entry, "superseded by %s" % action)
    # Draining costs a query: only after what can make a queued action
    # possible, a task's end (other than a timeout's) or an admin's reset.
    if after is None and action != failures.TIMEOUT and (
            before is not None or action in _ADMIN_ACTIONS):
        queue.drain(uuid, matrix)
