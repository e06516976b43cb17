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


"""Causal reads on a MariaDB Galera cluster.

Galera replicates a commit to every node before it returns, but the other
nodes apply it a moment later: a plain read on another node may not see a
write already acknowledged. vmstate promises that an acknowledged change
is what every ``vmstate-api`` answers next, whichever node it talks to,
and its compare-and-swap decides on what it reads. So on a Galera node
(``wsrep_on`` is ON) every vmstate connection sets ``wsrep_sync_wait =
3``: reads (``SELECT``, ``SHOW``, ``BEGIN``; bit 1) and the CAS's
``UPDATE`` and ``DELETE`` (bit 2) first wait until the node has applied
everything committed in the cluster before they started. Without bit 2 an
``UPDATE .. WHERE version = N`` could miss a version N committed through
another node a moment ago and answer a conflict that is none.

A deployment that sets ``[database] mysql_wsrep_sync_wait`` (oslo.db's
option) gets exactly that value instead. Writes that race through two
nodes are caught by Galera's certification at commit; the loser gets a
deadlock error, which :mod:`vmstate.db.api` retries (its transition id
says whether the first attempt committed after all).
"""

from typing import Any

import sqlalchemy as sa

#: wsrep_sync_wait: READ (1) | UPDATE_DELETE (2).
CAUSAL_SYNC_WAIT = 3


def on_engine_create(engine: sa.engine.Engine) -> None:
    """Make ``engine``'s connections read causally on a Galera node."""
    if engine.dialect.name != "mysql":
        return
    from vmstate.conf import CONF
    if CONF.database.mysql_wsrep_sync_wait is not None:
        return  # the operator's choice, which oslo.db applies
    sa.event.listen(engine, "connect", _causal_on_connect)


def _causal_on_connect(dbapi_connection: Any, connection_record: Any
                       ) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # An empty answer on MySQL, which has no wsrep.
        cursor.execute("SHOW VARIABLES LIKE 'wsrep_on'")
        row = cursor.fetchone()
        galera = row is not None and str(row[1]).upper() == "ON"
        connection_record.info["vmstate_galera"] = galera
        if galera:
            cursor.execute("SET SESSION wsrep_sync_wait = %d"
                           % CAUSAL_SYNC_WAIT)
    finally:
        cursor.close()
