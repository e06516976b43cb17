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

"""``openstack vmstate instance list|show|action|wait|reset``."""

import argparse
import sys
import threading
import time
from typing import Any

from osc_lib.cli import format_columns
from osc_lib.command import command

from vmstate.osc.client import APIError
from vmstate.osc.client import Client

#: The columns of ``instance list``: (heading, field of the view).
LIST_COLUMNS = (("UUID", "uuid"), ("Project", "project_id"),
                ("VM State", "vm_state"), ("Task State", "task_state"),
                ("Power State", "power_state"), ("Version", "version"))
#: ``--task-state none`` asks for instances with no task running.
NO_TASK = "none"
#: Exit codes of ``instance wait``.
EXIT_REACHED, EXIT_FAILED, EXIT_TIMEOUT = 0, 1, 2
#: Seconds between the progress reads of ``instance wait``.
PROGRESS_INTERVAL = 1.0


def _client(cmd: command.Command) -> Client:
    # The plugin's client (vmstate.osc.plugin.make_client): osc-lib's
    # ClientManager gains it at run time, as an attribute named after
    # the API.
    manager = cmd.app.client_manager
    client: Client = manager.instance_state  # type: ignore[attr-defined]
    return client


def _formatted(view: dict[str, Any]) -> dict[str, Any]:
    shown = dict(view)
    for key in ("allowed_actions",):
        if key in shown:
            shown[key] = format_columns.ListColumn(shown[key])
    if "queue" in shown:
        shown["queue"] = format_columns.ListColumn(
            [q["action"] for q in shown["queue"]])
    return shown


def instance_columns(view: dict[str, Any]
                     ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """ShowOne's columns and values for an instance view (every field the
    service answers, lists kept as lists for ``-f json``)."""
    shown = _formatted(view)
    columns = tuple(shown)
    return columns, tuple(shown[c] for c in columns)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % value)
    if number < 0:
        raise argparse.ArgumentTypeError("%d is negative" % number)
    return number


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number of seconds"
                                         % value)
    if number < 0 or number != number:
        raise argparse.ArgumentTypeError("%r is not a number of seconds"
                                         % value)
    return number


class ListInstance(command.Lister):
    """List instances and their states (paginated by the service)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--vm-state", metavar="<vm-state>", action="append", default=[],
            help="Only instances in this vm_state (repeat for several)")
        parser.add_argument(
            "--task-state", metavar="<task-state>", action="append",
            default=[],
            help="Only instances with this task_state (repeat for several; "
                 "'%s' for no task running)" % NO_TASK)
        parser.add_argument(
            "--limit", metavar="<n>", type=_positive,
            help="At most this many instances (default: all, page by page)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> Any:
        task_states = [None if t == NO_TASK else t
                       for t in parsed_args.task_state]
        rows = _client(self).instances(parsed_args.vm_state, task_states,
                                       parsed_args.limit)
        return ([h for h, _ in LIST_COLUMNS],
                [tuple(r.get(f) for _, f in LIST_COLUMNS) for r in rows])


class ShowInstance(command.ShowOne):
    """Show an instance: its states, task, version and allowed actions."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("uuid", metavar="<uuid>", help="Instance UUID")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> Any:
        return instance_columns(_client(self).instance(parsed_args.uuid))


class ActionInstance(command.ShowOne):
    """Start an action on an instance (or queue it with --queue).

    A conflict is one line: why the action cannot start, and the actions
    that can.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("uuid", metavar="<uuid>", help="Instance UUID")
        parser.add_argument("action", metavar="<action>",
                            help="Action to start (reboot, stop, ...)")
        parser.add_argument(
            "--queue", action="store_true", default=None,
            help="Queue the action if the instance is busy, instead of a "
                 "conflict")
        parser.add_argument("--reason", metavar="<reason>",
                            help="Why, recorded in the history")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> Any:
        answer = _client(self).action(parsed_args.uuid, parsed_args.action,
                                      queue=parsed_args.queue,
                                      reason=parsed_args.reason)
        shown = dict(answer["instance"])
        queued = answer.get("queued")
        if queued:
            shown["queued_action"] = queued["action"]
            shown["queued_position"] = queued["position"]
        return instance_columns(shown)


class ResetInstance(command.ShowOne):
    """Reset an instance's vm_state and clear its task (admin; Nova's
    os-resetState)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("uuid", metavar="<uuid>", help="Instance UUID")
        parser.add_argument("--state", metavar="<vm-state>", required=True,
                            choices=("active", "error"),
                            help="The vm_state to set: active or error")
        parser.add_argument("--reason", metavar="<reason>", required=True,
                            help="Why, recorded in the history")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> Any:
        return instance_columns(_client(self).reset(
            parsed_args.uuid, parsed_args.state, parsed_args.reason))


class WaitInstance(command.Command):
    """Wait until an instance reaches vm_states, in order.

    Prints a progress line on stderr each time the instance changes, and
    the outcome on stdout. Exit status: 0 reached, 1 failed (the instance
    went to error or was deleted, or can no longer get there), 2 timeout.
    The service caps one wait at its [api] max_wait (300 s by default).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("uuid", metavar="<uuid>", help="Instance UUID")
        parser.add_argument(
            "--for", metavar="<vm-state>", dest="targets", action="append",
            required=True,
            help="vm_state to wait for (repeat for a sequence, in order)")
        parser.add_argument(
            "--timeout", metavar="<seconds>", type=_seconds,
            help="Give up after this many seconds (default: the service's "
                 "cap)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        client = _client(self)
        uuid, targets = parsed_args.uuid, parsed_args.targets
        began = time.monotonic()
        outcome: dict[str, Any] = {}

        def long_poll() -> None:
            try:
                outcome["answer"] = client.wait(uuid, targets,
                                                parsed_args.timeout)
            except Exception as err:
                outcome["error"] = err

        waiter = threading.Thread(target=long_poll, daemon=True,
                                  name="vmstate-wait")
        waiter.start()
        last = None
        while True:
            waiter.join(PROGRESS_INTERVAL if last is not None else 0)
            if not waiter.is_alive():
                break
            try:
                view = client.instance(uuid)
            except APIError:
                continue     # the wait's own answer will say what failed
            state = (view["vm_state"], view["task_state"], view["version"])
            if state != last:
                last = state
                self._progress("waiting for %s: %s/%s, version %d (%.0f s)"
                               % (" then ".join(targets), state[0],
                                  state[1] or "-", state[2],
                                  time.monotonic() - began))
        if "error" in outcome:
            raise outcome["error"]
        answer = outcome["answer"]
        status = answer["status"]
        inst = answer["instance"]
        self.app.stdout.write("%s: %s (seen %s); now %s/%s\n" % (
            status, " then ".join(targets),
            ", ".join(answer["seen"]) or "nothing", inst["vm_state"],
            inst["task_state"] or "-"))
        return {"reached": EXIT_REACHED, "failed": EXIT_FAILED}.get(
            status, EXIT_TIMEOUT)

    def _progress(self, line: str) -> None:
        stream = getattr(self.app, "stderr", None) or sys.stderr
        stream.write(line + "\n")
        stream.flush()
