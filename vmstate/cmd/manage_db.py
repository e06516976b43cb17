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
schema revision, or ``None`` for a database without vmstate's schema;
``db purge --before DATE`` removes the instances deleted before DATE and
their history (:mod:`vmstate.db.purge`).
"""

import datetime
from typing import Any

from oslo_utils import timeutils

from vmstate import context
from vmstate import exception
from vmstate.cmd.manage import command
from vmstate.db import migration
from vmstate.db import purge


def _sync_arguments(parser: Any) -> None:
    parser.add_argument(
        "--revision", default="head",
        help="the revision to upgrade to (default: the newest, head)")


@command("db", "sync", _sync_arguments)
def sync(args: Any) -> int:
    """Create or upgrade the database schema to the newest revision.

    Works on the database of [database] connection (the embedded SQLite
    file $state_path/vmstate.sqlite when unset, created with its
    directory). Run it after installing or upgrading vmstate and before
    starting vmstate-api on PostgreSQL or MariaDB; it is safe to run
    again, and several at once take turns on a lock. --revision stops at
    an older revision.
    """
    migration.upgrade(args.revision)
    print("database schema at revision %s" % migration.version())
    return 0


@command("db", "version")
def version(args: Any) -> int:
    """Print the database's schema revision (None: no schema yet).

    The revision is alembic's; 'vmstate-status upgrade check' compares it
    with the newest one this vmstate ships.
    """
    print(migration.version())
    return 0


def _purge_arguments(parser: Any) -> None:
    parser.add_argument(
        "--before", required=True, metavar="DATE",
        help="purge the instances deleted before this date (ISO 8601: "
             "2026-01-31 or 2026-01-31T12:00:00Z; UTC unless it says)")
    parser.add_argument(
        "--batch-size", type=int, default=purge.DEFAULT_BATCH,
        help="instances removed per transaction (default %(default)s)")


def parse_date(value: str) -> datetime.datetime:
    """A date or date and time (ISO 8601) as a naive UTC datetime.

    :raises Invalid: not such a date.
    """
    try:
        when = timeutils.parse_isotime(value)
    except ValueError:
        raise exception.Invalid(
            "--before %r is not an ISO 8601 date or date and time "
            "(2026-01-31, 2026-01-31T12:00:00Z)" % value) from None
    return timeutils.normalize_time(when)


@command("db", "purge", _purge_arguments)
def purge_deleted(args: Any) -> int:
    """Remove the instances deleted before a date, with their history.

    In batches, each its own transaction; safe while vmstate runs.
    """
    before = parse_date(args.before)
    if args.batch_size < 1:
        raise exception.Invalid("--batch-size must be 1 or more")
    removed = purge.purge_deleted(
        context.get_admin_context(), before, batch_size=args.batch_size)
    print("purged %d instance(s) deleted before %s"
          % (removed, before.isoformat()))
    return 0
