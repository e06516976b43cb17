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

"""Read-only access to a Nova database's ``instances`` table.

For the compute guard's ``nova_db`` state source: vmstate stands in front
of a real Nova without changing it, reading the state Nova keeps. One
indexed read per guarded request (``instances.uuid`` is unique in Nova);
nothing is ever written.
"""

import threading

from oslo_db import exception as db_exc
import sqlalchemy as sa

from vmstate import exception

_instances = sa.table(
    "instances",
    sa.column("uuid", sa.String),
    sa.column("vm_state", sa.String),
    sa.column("task_state", sa.String),
    sa.column("power_state", sa.Integer),
    sa.column("deleted", sa.Integer),
    sa.column("project_id", sa.String),
)
_BY_UUID = (
    sa.select(_instances.c.uuid, _instances.c.vm_state,
              _instances.c.task_state, _instances.c.power_state)
    .where(_instances.c.uuid == sa.bindparam("uuid"))
    .where(_instances.c.deleted == 0)
)
_BY_UUID_IN_PROJECT = _BY_UUID.where(
    _instances.c.project_id == sa.bindparam("project_id"))


class NovaInstances:
    """Instances of one Nova (cell) database, by uuid."""

    def __init__(self, url: str) -> None:
        if not url:
            raise exception.ServiceUnavailable(
                "The nova_db state source needs [nova_db] connection")
        self._url = url
        self._engine: sa.engine.Engine | None = None
        self._lock = threading.Lock()

    def _get_engine(self) -> sa.engine.Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = sa.create_engine(
                        self._url, pool_pre_ping=True, pool_recycle=3600)
        return self._engine

    def state(self, uuid: str, project_id: str | None = None
              ) -> dict[str, object] | None:
        """``{uuid, vm_state, task_state, power_state}``, or ``None`` when
        Nova has no live instance with that uuid (in ``project_id``, when
        given; ``None``: in any project).

        :raises ServiceUnavailable: when the database cannot be read.
        """
        if project_id is None:
            stmt, params = _BY_UUID, {"uuid": uuid}
        else:
            stmt = _BY_UUID_IN_PROJECT
            params = {"uuid": uuid, "project_id": project_id}
        try:
            with self._get_engine().connect() as conn:
                row = conn.execute(stmt, params).first()
        except (sa.exc.SQLAlchemyError, db_exc.DBError) as err:
            raise exception.ServiceUnavailable(
                "The Nova database cannot be read: %s"
                % type(err).__name__) from err
        return None if row is None else dict(row._mapping)

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
