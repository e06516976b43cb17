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

"""``vmstate-manage``: operator commands.

Categories and their commands are data (:data:`CATEGORIES`), each command
a function taking the parsed arguments; a failing command prints why and
exits non-zero.
"""

import argparse
from collections.abc import Callable
import sys
from typing import Any

from oslo_config import cfg

from vmstate import cmd
from vmstate.conf import CONF

DESCRIPTION = (
    "vmstate-manage: operator commands for vmstate's database schema, "
    "its allowed-actions matrix and its lifecycle engine, run against the "
    "database and plugins of the configuration (not through the REST "
    "API). 'vmstate-manage CATEGORY --help' lists a category's commands; "
    "'vmstate-manage CATEGORY COMMAND --help' explains one. A failing "
    "command prints one line saying why and exits non-zero.")

#: What each category is for, in ``--help``. A category missing here is
#: described by the docstring of the module that registers its commands.
CATEGORY_HELP = {
    "db": "The database schema: create or upgrade it (sync) and show its "
          "revision (version).",
    "lifecycle": "The lifecycle engine: run the sweeper that fires task "
                 "timeouts and starts queued actions, show the effective "
                 "timeouts, show an instance's task, failures and queue.",
    "matrix": "The allowed-actions matrix of [matrix] plugins: show it "
              "(table, JSON or a Graphviz diagram) or check that it loads.",
}

Command = Callable[[Any], int]
CATEGORIES: dict[str, dict[str | None,
                           tuple[Command, Callable[[Any], None]]]] = {}


def command(category: str, name: str | None,
            arguments: Callable[[Any], None] = lambda parser: None
            ) -> Callable[[Command], Command]:
    """Register ``vmstate-manage <category> <name>``.

    With ``name`` ``None`` the category is a command of its own
    (``vmstate-manage wait ...``) and may hold no other.
    """
    def register(func: Command) -> Command:
        CATEGORIES.setdefault(category, {})[name] = (func, arguments)
        return func
    return register


def _category_help(category: str, func: Command) -> str:
    if category in CATEGORY_HELP:
        return CATEGORY_HELP[category]
    return cmd.summary(sys.modules[func.__module__].__doc__)


def _add_parsers(subparsers: Any) -> None:
    epilog = cmd.config_epilog("vmstate-manage")
    for category, commands in sorted(CATEGORIES.items()):
        if None in commands:
            _add_command(subparsers, category, *commands[None], epilog)
            continue
        first = next(iter(commands.values()))[0]
        text = _category_help(category, first)
        cat_parser = subparsers.add_parser(
            category, help=text, description=text, epilog=epilog)
        actions = cat_parser.add_subparsers(
            dest="action", title="commands", metavar="COMMAND")
        actions.required = True
        for name, (func, arguments) in sorted(commands.items()):
            assert name is not None  # a None command stands alone (above)
            _add_command(actions, name, func, arguments, epilog)


def _add_command(subparsers: Any, name: str, func: Command,
                 arguments: Callable[[Any], None], epilog: str) -> None:
    """The parser of one command, its help from ``func``'s docstring."""
    parser = subparsers.add_parser(
        name, help=cmd.summary(func.__doc__),
        description=cmd.plain(func.__doc__), epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments(parser)
    parser.set_defaults(func=func)


def load_commands() -> None:
    """Register every command (importing a command module registers its
    commands)."""
    from vmstate.cmd import manage_db  # noqa: F401
    from vmstate.cmd import manage_lifecycle  # noqa: F401
    from vmstate.cmd import manage_matrix  # noqa: F401
    from vmstate.cmd import manage_wait  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """``vmstate-manage``: the exit status (1 with one line on stderr when
    a command fails for a reason the operator can fix:
    :mod:`vmstate.cmd.failure`)."""
    load_commands()
    opt = cfg.SubCommandOpt("category", title="Command categories",
                            handler=_add_parsers,
                            help="run 'vmstate-manage CATEGORY --help'")
    return cmd.run_subcommand(
        "vmstate-manage", opt, argv, DESCRIPTION,
        lambda: int(CONF.category.func(CONF.category) or 0))

if __name__ == "__main__":
    sys.exit(main())
