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


"""Observed power states: what a hypervisor poller reports.

Observers report what they see, often and many at once (Heat's
convergence observers). A report is one ``UPDATE .. SET power_state = :p
WHERE uuid AND power_state <> :p``: the first report of a new power state
is a transition (version, history row ``observe_power``, after-commit
listeners); the same state reported again, by the same observer or by
another, changes nothing and writes nothing.
"""

from typing import Any

from oslo_utils import timeutils
import sqlalchemy as sa

from vmstate import exception
from vmstate.context import RequestContext
from vmstate.db import api
from vmstate.db import cas
from vmstate.db import connections
from vmstate.db import listeners
from vmstate.db import models

#: The history action of a newly observed power state.
OBSERVE_POWER = "observe_power"

_c = models.instances.c


def _statement() -> tuple[cas.Assignments, list[Any]]:
    return ([(_c.power_state, cas.param("power_state", _c.power_state)),
             (_c.state_changed_at, cas.param("now", _c.state_changed_at))],
            [_c.power_state != sa.bindparam("e_power_state",
                                            type_=_c.power_state.type)])


def report(context: RequestContext, uuid: str,
           power_state: int) -> dict[str, Any]:
    """Record that ``power_state`` was observed on ``uuid``.

    :returns: the instance; its ``"event"`` is the history row when the
        power state changed, ``None`` when it already was ``power_state``.
    :raises Invalid: ``power_state`` is not an integer.
    :raises InstanceNotFound: no such instance visible to ``context``.
    """
    if isinstance(power_state, bool) or not isinstance(power_state, int):
        raise exception.Invalid("power_state must be an integer")
    change = cas.Change(
        uuid, OBSERVE_POWER, ("observe_power",), _statement,
        {"p_power_state": power_state, "e_power_state": power_state},
        {"power_state": power_state}, timeutils.utcnow())
    result = _apply(context, change)
    listeners.committed(result)
    return result


@api._retry
def _apply(context: RequestContext, change: cas.Change) -> dict[str, Any]:
    change.attempts += 1
    with connections.writer(context) as conn:
        if change.attempts > 1:
            done = cas.committed(conn, context, change)
            if done is not None:
                return done
        try:
            return cas.apply(conn, context, change)
        except exception.StateConflict:
            # Already this power state: a repeated report, not an error.
            row = cas.read_instance(conn, context, change.uuid)
            if row is None:
                raise exception.InstanceNotFound(change.uuid) from None
            unchanged = cas.instance_dict(row._mapping)
            unchanged["event"] = None
            return unchanged
