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


"""Lifecycle engine: failure counters and queued actions.

Revision ID: 3b7e4541c99d
Revises: 54c57d06ebdd
Create Date: 2026-11-21

Self-contained, like every migration: the schema as it is at this
revision, without importing the models.
"""

from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = "3b7e4541c99d"
down_revision = "54c57d06ebdd"
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
        "instance_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("task_state", sa.String(255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("last_action", sa.String(255)),
        sa.Column("created_at", DateTime, nullable=False),
        sa.Column("updated_at", DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="instance_failures_pkey"),
        sa.ForeignKeyConstraint(
            ["instance_uuid"], ["instances.uuid"], ondelete="CASCADE",
            name="instance_failures_instance_uuid_fkey"),
        sa.UniqueConstraint(
            "instance_uuid", "task_state",
            name="uniq_instance_failures0instance_uuid_task_state"),
        **TABLE_ARGS,
    )

    op.create_table(
        "instance_action_queue",
        sa.Column("id", BigInt, autoincrement=True, nullable=False),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("action", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("request_id", sa.String(255)),
        sa.Column("user_id", sa.String(255)),
        sa.Column("project_id", sa.String(255)),
        sa.Column("created_at", DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="instance_action_queue_pkey"),
        sa.ForeignKeyConstraint(
            ["instance_uuid"], ["instances.uuid"], ondelete="CASCADE",
            name="instance_action_queue_instance_uuid_fkey"),
        **TABLE_ARGS,
    )
    op.create_index("instance_action_queue_instance_uuid_id_idx",
                    "instance_action_queue", ["instance_uuid", "id"])
