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

"""``openstack vmstate event list``: an instance's history."""

import argparse
from typing import Any

from osc_lib.cli import format_columns
from osc_lib.command import command

from vmstate.osc.v1 import instances

#: (heading, field of the event).
COLUMNS = (("Version", "version"), ("Action", "action"),
           ("Task ID", "task_id"), ("From", "from"), ("To", "to"),
           ("Created At", "created_at"), ("Request ID", "request_id"))


class ListEvent(command.Lister):
    """List an instance's transitions, oldest first."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("uuid", metavar="<uuid>", help="Instance UUID")
        parser.add_argument(
            "--limit", metavar="<n>", type=instances._positive,
            help="At most this many events, the oldest (default: all)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> Any:
        rows = instances._client(self).events(parsed_args.uuid,
                                              parsed_args.limit)
        return ([h for h, _ in COLUMNS],
                [tuple(_cell(r.get(f)) for _, f in COLUMNS) for r in rows])


def _cell(value: Any) -> Any:
    # A snapshot {vm_state, task_state, power_state} stays a dict for -f
    # json and reads as key=value in a table.
    if isinstance(value, dict):
        return format_columns.DictColumn(value)
    return value
