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

"""Console entry points, and what their ``--help`` says in common."""

from collections.abc import Callable
import inspect
import os
import re
import sys
import textwrap

from oslo_config import cfg

from vmstate.cmd import failure
from vmstate.conf import CONF


def config_epilog(prog: str) -> str:
    """Where ``prog`` reads its configuration, for the end of ``--help``.

    The search is oslo.config's (``cfg.find_config_files`` for the project
    ``vmstate``), said in words an operator can check with ``ls``.
    """
    return textwrap.fill(
        "Configuration: the files named by --config-file (repeatable; "
        "later ones override earlier ones) and the *.conf files of the "
        "directories named by --config-dir. Without --config-file, the "
        "first vmstate.conf and the first %s.conf found in ~/.vmstate/, "
        "~/, /etc/vmstate/ and /etc/ (usually /etc/vmstate/vmstate.conf). "
        "With none, the defaults apply: the embedded SQLite database "
        "$state_path/vmstate.sqlite, state_path defaulting to "
        "~/.local/share/vmstate. 'oslo-config-generator --namespace "
        "vmstate' prints every option." % prog, 79)


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def plain(text: str | None) -> str:
    """A docstring as plain text for ``--help``: no reST markup."""
    text = inspect.cleandoc(text or "")
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return text.replace("``", "'")


def summary(text: str | None) -> str:
    """The first paragraph of a docstring, on one line, as plain text."""
    first = plain(text).split("\n\n", 1)[0]
    return " ".join(first.split())


def run_subcommand(prog: str, opt: cfg.SubCommandOpt, argv: list[str] | None,
                   description: str, body: Callable[[], int],
                   code: int = 1) -> int:
    """Run ``prog``, a command with sub-commands (``opt``): parse
    ``argv`` (``None``: the process's), then ``body`` (which reads the
    chosen sub-command from ``CONF``); its exit status.

    A failure the operator can fix is one line on stderr and exit status
    ``code`` (:func:`vmstate.cmd.failure.run`); a reader that goes away
    (``| head``) ends it quietly. ``CONF`` is left as found, so the
    command can run again in one process (tests).
    """
    # CLI options can only be added before a parse; in a fresh process
    # there was none, in one that parsed already (tests) start over.
    CONF.clear()
    CONF.register_cli_opt(opt)
    try:
        return failure.run(prog, lambda: _parsed(
            prog, sys.argv[1:] if argv is None else argv, description,
            body), code=code)
    finally:
        CONF.clear()
        CONF.unregister_opt(opt)


def _parsed(prog: str, argv: list[str], description: str,
            body: Callable[[], int]) -> int:
    CONF(argv, project="vmstate", description=description,
         epilog=config_epilog(prog))
    failure.configured(CONF)
    try:
        return body()
    except BrokenPipeError:
        # The reader went away (matrix show | head): nothing to report.
        # Point stdout at nothing so the interpreter's flush at exit
        # does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
