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


"""vmstate-manage db ...: schema migrations.

``db sync`` upgrades the configured database (``[database] connection``)
to the newest schema, creating it when empty (for the embedded SQLite
default, the file and its directory too); ``db version`` prints the
schema revision, or ``None`` for a database without vmstate's schema.
"""

from typing import Any

from vmstate.cmd.manage import command
from vmstate.db import migration


def _sync_arguments(parser: Any) -> None:
    parser.add_argument(
        "--revision", default="head",
        help="the revision to upgrade to (default: the newest, head)")


@command("db", "sync", _sync_arguments)
def sync(args: Any) -> int:
    """Upgrade the database schema to the newest (or given) revision."""
    migration.upgrade(args.revision)
    print("database schema at revision %s" % migration.version())
    return 0


@command("db", "version")
def version(args: Any) -> int:
    """Print the database's schema revision (None: no schema yet)."""
    print(migration.version())
    return 0
