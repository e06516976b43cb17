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


"""The tables of the state store.

``instances`` holds one row per instance: its state, a ``version`` that
every transition increments (the compare-and-swap token), the task under
way (``task_id``, ``task_action``, when it started and when it last
checkpointed), and the state before the last transition (``prev_*``,
copied by the same UPDATE so that the history row needs no read).
``instance_events`` holds one row per transition, written in the same
transaction, with the instance's version after that change.
``instance_failures`` counts the timeouts in a row of each step of an
instance; ``instance_action_queue`` holds the actions queued while an
instance was busy.

Indexes serve the lookups later work relies on: uuid (every request), the
project and creation time (scoped, paginated listing), the state pair
(filters, queued actions), vm_state in creation order (a page of a rare
vm_state without walking every other instance) and task state with start
or heartbeat time (the timeout sweeper finds expired tasks without
scanning every row).
"""

from typing import cast

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import mysql

# Fixed names, so that later migrations can address constraints and
# indexes the same way on every backend.
NAMING_CONVENTION = {
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    "uq": "uniq_%(table_name)s0%(column_0_N_name)s",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}

# MySQL and MariaDB keep whole seconds unless asked for more; heartbeats,
# timeouts and the order of creation need microseconds.
DateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                      "mariadb")
# A big history needs 64-bit ids; SQLite only autoincrements INTEGER.
BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

STATE = sa.String(255)
UUID = sa.String(36)
# Binary collation on MySQL: ids and states compare exactly (the default
# collation ignores case and trailing spaces, which would let project
# "tenant" see project "Tenant").
TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4",
              "mysql_collate": "utf8mb4_bin"}


class Base(orm.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        sa.UniqueConstraint("uuid"),
        sa.Index(None, "project_id", "created_at"),
        sa.Index(None, "created_at"),
        sa.Index(None, "vm_state", "task_state"),
        sa.Index(None, "vm_state", "created_at", "id"),
        sa.Index(None, "task_state", "task_started_at"),
        sa.Index(None, "task_state", "task_heartbeat_at"),
        TABLE_ARGS,
    )

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True,
                                            autoincrement=True)
    uuid: orm.Mapped[str] = orm.mapped_column(UUID, nullable=False)
    project_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    user_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    vm_state: orm.Mapped[str] = orm.mapped_column(STATE, nullable=False)
    task_state: orm.Mapped[str | None] = orm.mapped_column(STATE)
    power_state: orm.Mapped[int] = orm.mapped_column(sa.Integer,
                                                     nullable=False)
    # Starts at 1, +1 on every transition: the compare-and-swap token and
    # the event number waiters resume from.
    version: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    # The task under way: set when a task begins, cleared when it ends.
    task_id: orm.Mapped[str | None] = orm.mapped_column(UUID)
    task_action: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    state_changed_at = orm.mapped_column(DateTime, nullable=False)
    task_started_at = orm.mapped_column(DateTime)
    task_heartbeat_at = orm.mapped_column(DateTime)
    # The last fault, JSON: {"type", "message", "action", ...}.
    fault: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    # The state before the last transition, written by its UPDATE.
    prev_vm_state: orm.Mapped[str | None] = orm.mapped_column(STATE)
    prev_task_state: orm.Mapped[str | None] = orm.mapped_column(STATE)
    prev_power_state: orm.Mapped[int | None] = orm.mapped_column(sa.Integer)
    prev_task_id: orm.Mapped[str | None] = orm.mapped_column(UUID)
    created_at = orm.mapped_column(DateTime, nullable=False)
    updated_at = orm.mapped_column(DateTime, nullable=False)


class InstanceEvent(Base):
    __tablename__ = "instance_events"
    __table_args__ = (
        sa.UniqueConstraint("instance_uuid", "version"),
        sa.UniqueConstraint("transition_id"),
        TABLE_ARGS,
    )

    id: orm.Mapped[int] = orm.mapped_column(BigInt, primary_key=True,
                                            autoincrement=True)
    instance_uuid: orm.Mapped[str] = orm.mapped_column(
        UUID, sa.ForeignKey("instances.uuid", ondelete="CASCADE"),
        nullable=False)
    # The instance's version after this transition.
    version: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    action: orm.Mapped[str] = orm.mapped_column(sa.String(255),
                                                nullable=False)
    from_vm_state: orm.Mapped[str | None] = orm.mapped_column(STATE)
    from_task_state: orm.Mapped[str | None] = orm.mapped_column(STATE)
    from_power_state: orm.Mapped[int | None] = orm.mapped_column(sa.Integer)
    to_vm_state: orm.Mapped[str] = orm.mapped_column(STATE, nullable=False)
    to_task_state: orm.Mapped[str | None] = orm.mapped_column(STATE)
    to_power_state: orm.Mapped[int] = orm.mapped_column(sa.Integer,
                                                        nullable=False)
    # The task this transition belongs to: the one it started or
    # continued, else the one it ended (NULL: no task either side).
    task_id: orm.Mapped[str | None] = orm.mapped_column(UUID)
    request_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    user_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    project_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    # Generated once per requested transition, before the first attempt:
    # a retry after an ambiguous commit finds it and does not apply twice.
    transition_id: orm.Mapped[str] = orm.mapped_column(UUID, nullable=False)
    created_at = orm.mapped_column(DateTime, nullable=False)


class InstanceFailure(Base):
    """How many times in a row one step (task_state) of an instance timed
    out: the permanent-failure count of the lifecycle engine.

    Written in the transaction that fires the timeout; deleted when the
    step succeeds or an admin resets the instance. ``last_version`` is the
    instance's version after the last timeout counted, so that a success
    recorded in the history after it restarts the count even when the
    deletion never happened (a process that died in between).
    """

    __tablename__ = "instance_failures"
    __table_args__ = (
        sa.UniqueConstraint("instance_uuid", "task_state"),
        TABLE_ARGS,
    )

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True,
                                            autoincrement=True)
    instance_uuid: orm.Mapped[str] = orm.mapped_column(
        UUID, sa.ForeignKey("instances.uuid", ondelete="CASCADE"),
        nullable=False)
    task_state: orm.Mapped[str] = orm.mapped_column(STATE, nullable=False)
    count: orm.Mapped[int] = orm.mapped_column(sa.Integer, nullable=False)
    last_version: orm.Mapped[int] = orm.mapped_column(sa.Integer,
                                                      nullable=False)
    last_action: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    created_at = orm.mapped_column(DateTime, nullable=False)
    updated_at = orm.mapped_column(DateTime, nullable=False)


class QueuedAction(Base):
    """An action requested while its instance was busy, in request order.

    ``id`` is the order: the queue of an instance is its rows by id. The
    requester's identity and request id travel with it, so that the
    history row of the begin that eventually starts it says who asked.
    """

    __tablename__ = "instance_action_queue"
    __table_args__ = (
        sa.Index(None, "instance_uuid", "id"),
        TABLE_ARGS,
    )

    id: orm.Mapped[int] = orm.mapped_column(BigInt, primary_key=True,
                                            autoincrement=True)
    instance_uuid: orm.Mapped[str] = orm.mapped_column(
        UUID, sa.ForeignKey("instances.uuid", ondelete="CASCADE"),
        nullable=False)
    action: orm.Mapped[str] = orm.mapped_column(sa.String(255),
                                                nullable=False)
    reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    request_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    user_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    project_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    created_at = orm.mapped_column(DateTime, nullable=False)


# Core tables for the statements (declarative types them as any
# FromClause; each is its class's Table).
instances = cast(sa.Table, Instance.__table__)
instance_events = cast(sa.Table, InstanceEvent.__table__)
instance_failures = cast(sa.Table, InstanceFailure.__table__)
action_queue = cast(sa.Table, QueuedAction.__table__)
