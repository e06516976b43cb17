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

"""How a command fails: one line on stderr, exit 1.

A bad option value, a configuration file that is missing or malformed, an
address that cannot be bound, a database that cannot be reached or whose
URL does not parse: each is the operator's to fix, so each is said in one
line naming the option, file or address, never as a traceback. This is
the one path every command (``vmstate-api``, ``vmstate-fake-compute``,
``vmstate-manage ...``, ``vmstate-status``) fails through:

- :func:`run` wraps a command's body and turns such an error into the
  line;
- :func:`configured` reads every option once right after parsing
  (:func:`check_options`), so that a bad value is found at start and
  named with its group and file, not wherever it is first used;
- while a command starts (a one-shot command: the whole run), log records
  that carry such an error with its traceback are held back: libraries
  log before they raise (oslo.db's "DB exceeded retry limit." with three
  chained tracebacks), and the one line says it all. When the command
  ends any other way (the error was handled, or a bug shows its own
  traceback), and when a service starts serving (:func:`started`), they
  are logged after all, one line each; from then on errors are logged as
  usual, tracebacks included.
"""

from collections.abc import Callable
import logging
import re
import sys
import threading

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


class _HeldBack(logging.Filter):
    """A handler filter that keeps the records carrying an error
    :func:`describe` names (with their traceback) out of the log."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.handlers: set[logging.Handler] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        err = record.exc_info[1] if record.exc_info else None
        if err is not None and describe(err) is not None:
            # Each handler asks: keep the record once.
            if not any(held is record for held in self.records):
                self.records.append(record)
            return False
        return True


_held: _HeldBack | None = None
_held_lock = threading.Lock()


def hold_back_logs() -> None:
    """Hold back operator errors' tracebacks on the handlers configured
    now (Python's last-resort handler and the root logger's). Called by
    :func:`run`, and again by :func:`configured`: logging's setup
    replaces the handlers."""
    with _held_lock:
        if _held is None:
            return
        handlers = [h for h in [logging.lastResort,
                                *logging.getLogger().handlers]
                    if h is not None]
        for handler in handlers:
            if _held not in handler.filters:
                handler.addFilter(_held)
                _held.handlers.add(handler)


def _release(emit: bool) -> None:
    global _held
    with _held_lock:
        held, _held = _held, None
    if held is None:
        return
    for handler in held.handlers:
        handler.removeFilter(held)
    if emit:
        # Handled after all (a retry that succeeded, a check that turned
        # it into its result): said, in one line each.
        for record in held.records:
            err = record.exc_info[1] if record.exc_info else None
            record.msg = "%s (%s)" % (record.getMessage(), describe(err)
                                      if err is not None else "")
            record.args = None
            record.exc_info = record.exc_text = None
            logging.getLogger(record.name).handle(record)


def started() -> None:
    """The command is up (a service listens): from now on its errors are
    logged as usual, tracebacks included; what was held back is logged
    now, one line each."""
    _release(emit=True)


def configured(conf: cfg.ConfigOpts) -> None:
    """Right after a command parsed its configuration (and set up its
    logging): check every option (:func:`check_options`) and hold back
    tracebacks on the handlers logging now has."""
    hold_back_logs()
    check_options(conf)


def run(name: str, body: Callable[[], int], code: int = 1) -> int:
    """Run a command's ``body``; a failure the operator can fix is one
    line on stderr (``<name>: <why>``) and exit status ``code``."""
    global _held
    with _held_lock:
        _held = _HeldBack()
    hold_back_logs()
    said = False
    try:
        return body()
    except Exception as err:
        line = describe(err)
        if line is None:
            raise
        print("%s: %s" % (name, line), file=sys.stderr)
        said = True
        return code
    finally:
        _release(emit=not said)
