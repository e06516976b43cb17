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


"""Observed power state, and acting once on a drift (Heat's convergence:
observers report the actual state, the engine acts on the difference).

Observers (a hypervisor poller) report what they see with :func:`report`;
each report is recorded by :func:`vmstate.db.power_states.report` (a transition
only when the power state changed). Then the drift rule is evaluated:
an ``active`` instance with no task, observed ``shutdown`` or ``crashed``
since its last change of state for longer than ``[lifecycle]
power_drift_grace``. On a drift ``[lifecycle] power_drift_reaction``
happens:

``fault``
    a ``PowerStateDrift`` fault is recorded (a transition, no state
    change), naming the drift by the time it began;
``stop``
    ``stop`` begins through :func:`vmstate.lifecycle.begin`, as Nova's
    power-state sync stops such an instance (a fault when the matrix
    does not allow it);
``none``
    nothing beyond the recorded power state.

However many observers report the same drift, at once or one after the
other, the reaction happens once: it is a compare-and-swap on the
instance's version as the observer read it (Heat's ``atomic_key``), so
of racing observers one wins; and after it the drift is no longer open
(a task runs, or the fault for this drift is there).
"""

import dataclasses
import datetime
from typing import Any

from oslo_log import log as logging
from oslo_utils import timeutils

from vmstate import exception
from vmstate import states
from vmstate.conf import CONF
from vmstate.conf import lifecycle as lifecycle_conf
from vmstate.context import RequestContext
from vmstate.db import api as db_api
from vmstate.db import power_states
from vmstate.lifecycle import tasks
from vmstate.matrix import Matrix
from vmstate.matrix import loader

LOG = logging.getLogger(__name__)

#: The fault type, and the history action of recording it.
DRIFT_FAULT = "PowerStateDrift"
DRIFT_ACTION = "power_drift"

#: Observed power states that contradict an active instance.
STOPPED_POWER = (states.SHUTDOWN, states.CRASHED)

STOP = "stop"


@dataclasses.dataclass
class Report:
    """What one report did: the instance after it, whether it changed
    the power state, and the drift reaction it carried out (``fault``,
    ``stop`` or ``None``: none, or another observer's)."""

    instance: dict[str, Any]
    changed: bool
    reaction: str | None = None


def _since(instance: dict[str, Any]) -> str:
    changed_at: datetime.datetime = instance["state_changed_at"]
    return changed_at.isoformat()


def drifting(instance: dict[str, Any], now: datetime.datetime,
             grace: float) -> bool:
    """Whether ``instance`` drifts past the grace period."""
    return (instance["vm_state"] == states.ACTIVE
            and instance["task_state"] is None
            and instance["power_state"] in STOPPED_POWER
            and (now - instance["state_changed_at"]).total_seconds()
            >= grace)


def handled(instance: dict[str, Any]) -> bool:
    """Whether this drift's fault is recorded already."""
    fault = instance.get("fault") or {}
    return (fault.get("type") == DRIFT_FAULT
            and fault.get("since") == _since(instance))


def report(context: RequestContext, uuid: str, power_state: int,
           matrix: Matrix | None = None) -> Report:
    """Record an observed ``power_state``; react once to a drift.

    :raises Invalid: ``power_state`` is not one of the power states.
    :raises InstanceNotFound: no such instance visible to ``context``.
    """
    if power_state not in states.POWER_STATES or isinstance(power_state,
                                                            bool):
        raise exception.Invalid(
            "power_state must be one of %s, not %r" % (
                ", ".join(map(str, states.POWER_STATES)), power_state))
    instance = power_states.report(context, uuid, power_state)
    result = Report(instance, instance.get("event") is not None)
    reaction = CONF.lifecycle.power_drift_reaction
    now = timeutils.utcnow()
    if (reaction == lifecycle_conf.DRIFT_NONE
            or not drifting(instance, now, CONF.lifecycle.power_drift_grace)
            or handled(instance)):
        return result
    matrix = matrix or loader.get()
    waited = (now - instance["state_changed_at"]).total_seconds()
    why = ("observed power_state %s (%s) on an active instance for %d s "
           "(grace %g s)" % (
               instance["power_state"],
               states.POWER_STATE_NAMES.get(instance["power_state"], "?"),
               waited, CONF.lifecycle.power_drift_grace))
    expected = {"version": instance["version"],
                "power_state": instance["power_state"]}
    if reaction == lifecycle_conf.DRIFT_STOP and STOP in matrix.actions:
        try:
            task = tasks.begin(context, uuid, STOP, matrix=matrix,
                               reason="power-state drift: " + why,
                               expected=expected)
        except exception.InstanceInvalidState as err:
            LOG.warning("Instance %s drifts (%s) but stop cannot begin: "
                        "%s; recording a fault instead", uuid, why, err)
        except (exception.StateConflict, exception.InstanceNotFound):
            return result    # another observer, or a change, came first
        else:
            LOG.warning("Instance %s: %s; stop begun", uuid, why)
            result.instance = task.instance
            result.reaction = STOP
            return result
    fault = {"type": DRIFT_FAULT, "message": "Power-state drift: " + why,
             "since": _since(instance),
             "power_state": instance["power_state"],
             "vm_state": instance["vm_state"],
             "created_at": now.isoformat()}
    try:
        result.instance = db_api.transition(
            context, uuid, {"fault": fault}, expected=expected,
            action=DRIFT_ACTION, reason=fault["message"])
    except (exception.StateConflict, exception.InstanceNotFound):
        return result
    LOG.warning("Instance %s: %s; fault recorded", uuid, why)
    result.reaction = lifecycle_conf.DRIFT_FAULT
    return result
