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

"""How a serving command fails to start: one line on stderr, exit 1.

A bad option value, a configuration file that is missing or malformed, an
address that cannot be bound, a database that cannot be reached or whose
URL does not parse: each is the operator's to fix, so each is said in one
line naming the option, file or address, never as a traceback.
:func:`run` wraps a command's body; :func:`check_options` reads every
option once right after parsing, so that a bad value is found at start and
named with its group and file, not wherever it is first used.
"""

from collections.abc import Callable
import re
import sys

from oslo_config import cfg
from oslo_db import exception as db_exc
from sqlalchemy import exc as sa_exc

from vmstate import exception


def check_options(conf: cfg.ConfigOpts) -> None:
    """Read every registered option once.

    :raises cfg.Error: the first invalid value, said as ``[group] name:
        why (in file)``.
    """
    for key in list(conf):
        try:
            value = conf[key]
        except cfg.ConfigFileValueError as err:
            raise cfg.Error(_invalid(conf, None, key, err)) from None
        if not isinstance(value, cfg.ConfigOpts.GroupAttr):
            continue
        for name in list(value):
            try:
                value[name]
            except cfg.ConfigFileValueError as err:
                raise cfg.Error(_invalid(conf, key, name, err)) from None


def _invalid(conf: cfg.ConfigOpts, group: str | None, name: str,
             err: Exception) -> str:
    # oslo.config says where the value came from inside its message.
    text = str(err)
    reason = text.split(" is not valid: ", 1)[-1]
    found = re.search(r"detail='([^']*)'", text)
    where = " (in %s)" % found.group(1) if found and found.group(1) else ""
    return "invalid value for [%s] %s%s: %s" % (group or "DEFAULT", name,
                                                where, reason)


def describe(err: BaseException) -> str | None:
    """The one line for a start-up failure; ``None`` when ``err`` is not
    one (a bug: let it show its traceback)."""
    if isinstance(err, cfg.ConfigFilesNotFoundError):
        return "configuration file not found: %s" % ", ".join(
            err.config_files)
    if isinstance(err, cfg.Error):
        return "configuration error: %s" % " ".join(str(err).split())
    if isinstance(err, sa_exc.ArgumentError):
        return ("[database] connection is not a database URL: %s"
                % _first_line(err))
    if isinstance(err, (db_exc.DBError, sa_exc.SQLAlchemyError)):
        return "database error ([database] connection): %s" % _first_line(
            err)
    if isinstance(err, ModuleNotFoundError):
        return ("cannot load %s, which the configuration needs ([database] "
                "connection's driver?)" % err.name)
    if isinstance(err, exception.VMStateError):
        return _first_line(err)
    if isinstance(err, OSError):
        return _first_line(err)
    return None


def _first_line(err: BaseException) -> str:
    inner = getattr(err, "inner_exception", None) or err
    lines = str(inner).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def run(name: str, body: Callable[[], int]) -> int:
    """Run a command's ``body``; a start-up failure is one line on
    stderr (``<name>: <why>``) and exit status 1."""
    try:
        return body()
    except Exception as err:
        line = describe(err)
        if line is None:
            raise
        print("%s: %s" % (name, line), file=sys.stderr)
        return 1
