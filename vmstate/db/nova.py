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
from typing import Any

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
    sa.column("user_id", sa.String),
    sa.column("host", sa.String),
    sa.column("locked", sa.Boolean),
    sa.column("launched_at", sa.DateTime),
)
_metadata = sa.table(
    "instance_metadata",
    sa.column("instance_uuid", sa.String),
    sa.column("key", sa.String),
    sa.column("deleted", sa.Integer),
)
_bdms = sa.table(
    "block_device_mapping",
    sa.column("instance_uuid", sa.String),
    sa.column("volume_id", sa.String),
    sa.column("boot_index", sa.Integer),
    sa.column("deleted", sa.Integer),
)
_i = _instances.c
_COLUMNS = (_i.uuid, _i.vm_state, _i.task_state, _i.power_state,
            _i.project_id, _i.user_id, _i.host, _i.locked, _i.launched_at)

#: What a read may also ask, in the same statement: whether the
#: instance has a metadata key (Nova's 404 before it deletes one), and
#: whether a volume is attached other than as the root device (Nova's
#: 404 and 400 before it detaches one). Both tables are indexed on
#: ``instance_uuid`` in Nova.
PROBES = {
    "metadata_key": sa.exists().where(
        _metadata.c.instance_uuid == _i.uuid,
        _metadata.c.key == sa.bindparam("item"),
        _metadata.c.deleted == 0).label("metadata_key"),
    "volume_attached": sa.exists().where(
        _bdms.c.instance_uuid == _i.uuid,
        _bdms.c.volume_id == sa.bindparam("item"),
        sa.or_(_bdms.c.boot_index.is_(None), _bdms.c.boot_index != 0),
        _bdms.c.deleted == 0).label("volume_attached"),
}


def _statement(probe: str | None, in_project: bool) -> Any:
    columns: list[sa.ColumnElement[Any]] = list(_COLUMNS)
    if probe is not None:
        columns.append(PROBES[probe])
    stmt = (sa.select(*columns)
            .where(_i.uuid == sa.bindparam("uuid"))
            .where(_i.deleted == 0))
    if in_project:
        stmt = stmt.where(_i.project_id == sa.bindparam("project_id"))
    return stmt


# Built once: (probe, in_project) -> statement.
_STATEMENTS = {(probe, in_project): _statement(probe, in_project)
               for probe in (None, *PROBES) for in_project in (False, True)}


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

    def state(self, uuid: str, project_id: str | None = None,
              probe: str | None = None, item: str | None = None
              ) -> dict[str, object] | None:
        """``{uuid, vm_state, task_state, power_state, project_id,
        user_id, host, locked, launched_at}`` (and ``probe``'s answer,
        a bool, when one of :data:`PROBES` is named for ``item``), or
        ``None`` when Nova has no live instance with that uuid (in
        ``project_id``, when given; ``None``: in any project). One
        statement on the unique index of ``instances.uuid``.

        :raises ServiceUnavailable: when the database cannot be read.
        """
        stmt = _STATEMENTS[(probe, project_id is not None)]
        params: dict[str, object] = {"uuid": uuid}
        if project_id is not None:
            params["project_id"] = project_id
        if probe is not None:
            params["item"] = item
        try:
            with self._get_engine().connect() as conn:
                row = conn.execute(stmt, params).first()
        except (sa.exc.SQLAlchemyError, db_exc.DBError) as err:
            raise exception.ServiceUnavailable(
                "The Nova database cannot be read: %s"
                % type(err).__name__) from err
        if row is None:
            return None
        found = dict(row._mapping)
        found["locked"] = bool(found["locked"])
        if probe is not None:
            found[probe] = bool(found[probe])
        return found

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
