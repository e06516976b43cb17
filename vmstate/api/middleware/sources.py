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

"""Where the compute guard reads an instance's current state.

A state source is a stevedore plugin in ``vmstate.state_source``: a class
built with the configuration, answering :meth:`StateSource.get` for the
request's caller. An instance the source does not know, or that belongs
to a project other than the caller's (unless the caller is an admin),
answers ``None`` and the request passes (the compute service answers 404
itself): the guard never tells one project anything about another's
server. A source that cannot answer raises
:class:`~vmstate.exception.ServiceUnavailable`, so the guard never lets a
request through unchecked.
"""

import abc
from collections.abc import Iterator
import contextlib
from typing import Any

from oslo_config import cfg
from oslo_db import exception as db_exc

from vmstate import exception
from vmstate import plugins
from vmstate.context import RequestContext
from vmstate.db import api as db_api
from vmstate.db import nova

NAMESPACE = "vmstate.state_source"


@contextlib.contextmanager
def store_unavailable_as_503() -> Iterator[None]:
    """Inside it, a database error of vmstate's store raises
    :class:`~vmstate.exception.ServiceUnavailable` (503): whether the
    guard reads the state or reserves the action, a store it cannot use
    is never an unchecked pass and never a 500."""
    try:
        yield
    except db_exc.DBError as err:
        raise exception.ServiceUnavailable(
            "The instance state store is unavailable: %s"
            % type(err).__name__) from err


class StateSource(abc.ABC):
    """What the guard asks of a state source."""

    #: Whether the guard may reserve actions through vmstate's own CAS.
    supports_reservation = False

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    #: Whether server ids are looked up as the path writes them (Nova's
    #: own database: its collation decides, as it does for Nova) rather
    #: than lower-cased (vmstate's store keeps them in lower case).
    ids_as_written = False

    @abc.abstractmethod
    def get(self, context: RequestContext, uuid: str,
            probe: str | None = None, item: str | None = None
            ) -> dict[str, Any] | None:
        """``{uuid, vm_state, task_state, ...}`` of the instance ``uuid``
        as ``context`` may see it: ``None`` when unknown or of another
        project (an admin context sees every project).

        What the source knows of Nova's other checks comes as more keys:
        ``locked`` (bool), ``host`` (``None``: none), ``launched_at``,
        ``user_id``, and ``probe``'s answer for ``item`` (see
        :data:`vmstate.db.nova.PROBES`). A key that is absent is not
        known to the source, and the guard does not check it.

        :raises ServiceUnavailable: when the source cannot answer.
        """


class VMStateSource(StateSource):
    """vmstate's own store: the state every ``begin`` keeps current."""

    supports_reservation = True

    def get(self, context: RequestContext, uuid: str,
            probe: str | None = None, item: str | None = None
            ) -> dict[str, Any] | None:
        try:
            with store_unavailable_as_503():
                return db_api.instance_get(context, uuid, with_launched=True)
        except exception.InstanceNotFound:
            return None


class NovaDBSource(StateSource):
    """Read-only SQL on a Nova database's ``instances`` table."""

    ids_as_written = True

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.instances = nova.NovaInstances(conf.nova_db.connection)

    def get(self, context: RequestContext, uuid: str,
            probe: str | None = None, item: str | None = None
            ) -> dict[str, Any] | None:
        if context.is_admin:
            return self.instances.state(uuid, probe=probe, item=item)
        if not context.project_id:
            return None     # nobody's project: nothing to show
        return self.instances.state(uuid, project_id=context.project_id,
                                    probe=probe, item=item)


#: The state sources: classes built with the configuration.
KIND: plugins.Kind[StateSource] = plugins.Kind(
    NAMESPACE, "state source", exception.VMStateError, base=StateSource)


def load(name: str, conf: cfg.ConfigOpts) -> StateSource:
    """The state source plugin ``name``, built with ``conf``.

    :raises VMStateError: naming the installed sources when ``name`` is not
        one of them, or the source's entry point when it cannot be built,
        at start rather than on the first request.
    """
    return plugins.build(KIND, name, conf)
