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

"""Whether the store can be read and written, without writing.

One short write transaction: a read of one row of ``instances``, then an
``UPDATE`` that matches no row, rolled back. The UPDATE needs everything a
real change needs (a connection, write permission, a read-write
transaction, the write lock of SQLite), so a store that refuses writes
(read-only file or database, a read-only replica, revoked privileges)
refuses it too; and it changes nothing, so a probe every second costs no
disk write and no history.
"""


import sqlalchemy as sa

from vmstate.context import RequestContext
from vmstate.db import connections
from vmstate.db import models


class StoreUnusable(Exception):
    """The store cannot be read or written; the message says which."""


class _Rollback(Exception):
    """Ends the probe's write transaction without a commit."""


def check(context: RequestContext) -> None:
    """Read and (without changing anything) write the store.

    :raises StoreUnusable: with ``cannot read: ...`` or ``cannot write:
        ...`` and the database's first line of error.
    """
    inst = models.instances
    try:
        with connections.reader(context) as conn:
            conn.execute(sa.select(inst.c.id).limit(1)).all()
    except Exception as err:
        raise StoreUnusable("cannot read: %s" % _first_line(err)) from err
    try:
        with connections.writer(context) as conn:
            conn.execute(sa.update(inst).where(sa.false())
                         .values(version=inst.c.version))
            raise _Rollback()
    except _Rollback:
        pass
    except Exception as err:
        raise StoreUnusable("cannot write: %s" % _first_line(err)) from err


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "inner_exception", None) or err).strip()
    return (text.splitlines() or [type(err).__name__])[0]
