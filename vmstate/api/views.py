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

"""How instances and their history look on the wire (the REST contract)."""

import datetime
from typing import Any

from vmstate.matrix import Matrix

INSTANCE_FIELDS = ("uuid", "project_id", "vm_state", "task_state",
                   "task_id", "power_state", "version")


def timestamp(value: datetime.datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds, e.g. 2026-11-21T05:39:17.000001Z.

    Microseconds keep events of the same second in order for clients that
    sort by time.
    """
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def instance(row: dict[str, Any], matrix: Matrix) -> dict[str, Any]:
    """The instance view: its states, the running task's id (``task_id``,
    ``None`` when idle: what a worker names to fence its reports),
    version, times and allowed actions."""
    view = {field: row[field] for field in INSTANCE_FIELDS}
    view["created_at"] = timestamp(row["created_at"])
    view["updated_at"] = timestamp(row["updated_at"])
    # Without the Nova-style launch requirement where the row says the
    # instance never launched (reads that do not say: launched).
    view["allowed_actions"] = sorted(matrix.allowed_actions(
        row["vm_state"], row["task_state"], row.get("launched", True)))
    # Only while actions are queued: an idle queue adds nothing.
    if row.get("queue"):
        view["queue"] = [queued(e) for e in row["queue"]]
    return view


def queued(entry: dict[str, Any]) -> dict[str, Any]:
    """One queued action: what, since when, asked by whom and why."""
    return {
        "action": entry["action"],
        "created_at": timestamp(entry["created_at"]),
        "user_id": entry["user_id"],
        "reason": entry["reason"],
    }


def event(row: dict[str, Any]) -> dict[str, Any]:
    """One transition: full snapshots before and after, its version, and
    the task it belongs to (``task_id``: started or continued, else ended;
    ``None`` when no task was involved)."""
    return {
        "version": row["version"],
        "action": row["action"],
        "task_id": row.get("task_id"),
        "from": dict(row["from"]),
        "to": dict(row["to"]),
        "created_at": timestamp(row["created_at"]),
        "request_id": row["request_id"],
    }


def wait_result(result: Any, instance_view: dict[str, Any]
                ) -> dict[str, Any]:
    """How a wait ended: ``status``, the vm_states ``seen`` in order, and
    the view of the instance as the wait last knew it."""
    return {"status": result.status, "seen": list(result.seen),
            "instance": instance_view}
