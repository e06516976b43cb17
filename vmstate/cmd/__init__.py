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

import inspect
import re
import textwrap


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
