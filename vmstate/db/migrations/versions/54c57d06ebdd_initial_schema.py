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


"""Initial schema: instances and their history.

Revision ID: 54c57d06ebdd
Revises:
Create Date: 2026-11-21

Self-contained on purpose: a migration describes the schema as it was at
its revision, so it must not import the models, which move on.
"""

from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = "54c57d06ebdd"
down_revision = None
branch_labels = None
depends_on = None

DateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql",
                                      "mariadb")
BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Binary collation on MySQL: ids and states compare exactly.
TABLE_ARGS: dict[str, Any] = {
    "mysql_engine": "InnoDB", "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(255)),
        sa.Column("user_id", sa.String(255)),
        sa.Column("vm_state", sa.String(255), nullable=False),
        sa.Column("task_state", sa.String(255)),
        sa.Column("power_state", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(36)),
        sa.Column("task_action", sa.String(255)),
        sa.Column("state_changed_at", DateTime, nullable=False),
        sa.Column("task_started_at", DateTime),
        sa.Column("task_heartbeat_at", DateTime),
        sa.Column("fault", sa.Text()),
        sa.Column("prev_vm_state", sa.String(255)),
        sa.Column("prev_task_state", sa.String(255)),
        sa.Column("prev_power_state", sa.Integer()),
        sa.Column("created_at", DateTime, nullable=False),
        sa.Column("updated_at", DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="instances_pkey"),
        sa.UniqueConstraint("uuid", name="uniq_instances0uuid"),
        **TABLE_ARGS,
    )
    op.create_index("instances_project_id_created_at_idx", "instances",
                    ["project_id", "created_at"])
    op.create_index("instances_created_at_idx", "instances", ["created_at"])
    op.create_index("instances_vm_state_task_state_idx", "instances",
                    ["vm_state", "task_state"])
    op.create_index("instances_task_state_task_started_at_idx", "instances",
                    ["task_state", "task_started_at"])
    op.create_index("instances_task_state_task_heartbeat_at_idx",
                    "instances", ["task_state", "task_heartbeat_at"])

    op.create_table(
        "instance_events",
        sa.Column("id", BigInt, autoincrement=True, nullable=False),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(255), nullable=False),
        sa.Column("from_vm_state", sa.String(255)),
        sa.Column("from_task_state", sa.String(255)),
        sa.Column("from_power_state", sa.Integer()),
        sa.Column("to_vm_state", sa.String(255), nullable=False),
        sa.Column("to_task_state", sa.String(255)),
        sa.Column("to_power_state", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(255)),
        sa.Column("user_id", sa.String(255)),
        sa.Column("project_id", sa.String(255)),
        sa.Column("reason", sa.Text()),
        sa.Column("transition_id", sa.String(36), nullable=False),
        sa.Column("created_at", DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="instance_events_pkey"),
        sa.ForeignKeyConstraint(
            ["instance_uuid"], ["instances.uuid"], ondelete="CASCADE",
            name="instance_events_instance_uuid_fkey"),
        sa.UniqueConstraint(
            "instance_uuid", "version",
            name="uniq_instance_events0instance_uuid_version"),
        sa.UniqueConstraint("transition_id",
                            name="uniq_instance_events0transition_id"),
        **TABLE_ARGS,
    )
