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


"""The task of each history row: events carry task_id.

``instance_events.task_id`` is the task a transition belongs to (the one
it started or continued, or the one it ended); ``instances.prev_task_id``
is the task before the last transition, copied by its UPDATE like the
other ``prev_*`` columns, so that the history row needs no read. Rows
written before this revision have no task id (NULL).

Revision ID: 7c2d9e4f1a6b
Revises: 8d2f6c1a9e47
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa

revision = "7c2d9e4f1a6b"
down_revision = "8d2f6c1a9e47"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("instances", sa.Column("prev_task_id", sa.String(36)))
    op.add_column("instance_events", sa.Column("task_id", sa.String(36)))
