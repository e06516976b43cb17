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

"""Purging the instances deleted long ago, with their history.

As ``nova-manage db purge``: the rows of instances whose vm_state is
``deleted`` since before a date go, with every row that refers to them
(history, failure counts, queued actions: each table with a foreign key to
``instances.uuid``), a batch at a time, each batch one short transaction.

Safe while the service runs: ``deleted`` is terminal (nothing moves an
instance out of it), and each batch re-checks, in its own DELETE
statements, that the instance is still deleted since before the date, so
a row selected for the batch but changed meanwhile is kept.
"""

import datetime
from typing import Any

import sqlalchemy as sa

from vmstate import exception
from vmstate import states
from vmstate.context import RequestContext
from vmstate.db import connections
from vmstate.db import models

#: Instances per transaction.
DEFAULT_BATCH = 500


def _dependents() -> list[tuple[sa.Table, sa.Column[Any]]]:
    """The tables whose rows refer to an instance, children first, each
    with its column that names the instance."""
    found = []
    for table in reversed(models.Base.metadata.sorted_tables):
        for fk in table.foreign_keys:
            if fk.column is models.instances.c.uuid:
                found.append((table, fk.parent))
    return found


def _purgeable(before: datetime.datetime) -> Any:
    inst = models.instances
    return sa.and_(inst.c.vm_state == states.DELETED,
                   inst.c.state_changed_at < before)


def purge_deleted(context: RequestContext, before: datetime.datetime,
                  batch_size: int = DEFAULT_BATCH,
                  max_batches: int | None = None) -> int:
    """Remove instances deleted before ``before`` and all their rows.

    :param before: a naive UTC datetime; an instance deleted (its last
        change of vm_state, to ``deleted``) strictly before it goes.
    :param batch_size: instances per transaction.
    :param max_batches: stop after this many batches (``None``: until
        none is left).
    :returns: how many instances were removed.
    :raises Invalid: ``batch_size`` below 1.
    """
    if batch_size < 1:
        raise exception.Invalid("batch size must be 1 or more")
    inst = models.instances
    removed = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with connections.writer(context) as conn:
            uuids = [r.uuid for r in conn.execute(
                sa.select(inst.c.uuid).where(_purgeable(before))
                .order_by(inst.c.id).limit(batch_size))]
            if not uuids:
                break
            # Still deleted since before the date, checked again by the
            # statements that delete.
            still = (sa.select(inst.c.uuid)
                     .where(inst.c.uuid.in_(uuids), _purgeable(before)))
            if conn.dialect.name == "mysql":
                # MySQL cannot read the table a DELETE ... IN (SELECT)
                # changes in the same statement's subquery when it is
                # the same table; the children are other tables, so a
                # derived table is enough.
                still = sa.select(still.subquery().c.uuid)
            for table, column in _dependents():
                conn.execute(sa.delete(table).where(column.in_(still)))
            done = conn.execute(sa.delete(inst).where(
                inst.c.uuid.in_(uuids), _purgeable(before)))
            removed += done.rowcount
        batches += 1
    return removed
