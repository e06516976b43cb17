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


"""Lists filtered by vm_state: an index in the list's order.

Revision ID: 8d2f6c1a9e47
Revises: 3b7e4541c99d
Create Date: 2026-11-29

A page of instances in a rare vm_state (``GET /v1/instances?vm_state=
error``) is read in creation order. Without this index the database walks
the ``created_at`` index past every instance in other states (its time
grows with the table); with it, it reads the page's rows and stops.
"""

from alembic import op

revision = "8d2f6c1a9e47"
down_revision = "3b7e4541c99d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("instances_vm_state_created_at_id_idx", "instances",
                    ["vm_state", "created_at", "id"])
