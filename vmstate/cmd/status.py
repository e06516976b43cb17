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

"""``vmstate-status upgrade check``: is this deployment ready to serve?

Run after installing or upgrading vmstate and its configuration, before
(re)starting the services, as every OpenStack service's ``*-status``
(oslo.upgradecheck). Each check reads the same configuration the services
read and answers Success, Warning or Failure with what to do; the command
exits with the worst (:data:`EXIT_CODES`).
"""

import sys
from typing import Any

from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_policy import policy as oslo_policy
from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck
from sqlalchemy import exc as sa_exc

from vmstate import cmd
from vmstate import exception
from vmstate import matrix
from vmstate.conf import CONF
from vmstate.db import connections
from vmstate.db import migration

Code = upgradecheck.Code
Result = upgradecheck.Result

#: What the exit status means (oslo.upgradecheck's codes).
EXIT_CODES = {
    0: "every check passed: ready to start or upgrade",
    1: "at least one warning: read it; the services will start",
    2: "at least one failure: the services would refuse to start or "
       "misbehave; fix it first (or the configuration cannot be read: "
       "one line on stderr says why)",
    255: "a check could not run (an unexpected error, with its trace)",
}


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def check_schema(checks: object = None) -> Result:
    """The database's schema is at the newest revision this vmstate has.

    Failure when the database cannot be reached, or on PostgreSQL or
    MariaDB has no schema or another revision: the services refuse to
    start there until ``vmstate-manage db sync`` ran. On SQLite a schema
    that is missing or behind is a Warning, since the services create or
    upgrade it when they start. A revision this vmstate does not know (a
    newer release's) is a Failure everywhere.
    """
    try:
        engine = connections.get_engine()
        current = migration.version(engine)
    except (db_exc.DBError, sa_exc.SQLAlchemyError) as err:
        return Result(Code.FAILURE, "Cannot read the schema revision of "
                      "[database] connection: %s" % _first_line(err))
    head = migration.head()
    if current == head:
        return Result(Code.SUCCESS, "Schema at revision %s (head)." % head)
    if current is not None and current not in migration.revisions():
        return Result(Code.FAILURE, "The schema is at revision %s, which "
                      "this vmstate does not know (a newer release's?); "
                      "its newest is %s." % (current, head))
    embedded = engine.dialect.name == "sqlite"
    code = Code.WARNING if embedded else Code.FAILURE
    later = (" (vmstate-api does it when it starts on SQLite)"
             if embedded else "")
    if current is None:
        return Result(code, "The database has no vmstate schema: run "
                      "'vmstate-manage db sync'%s." % later)
    return Result(code, "The schema is at revision %s, not %s: run "
                  "'vmstate-manage db sync'%s." % (current, head, later))


def check_matrix(checks: object = None) -> Result:
    """The plugins of ``[matrix] plugins`` load and compose."""
    try:
        loaded = matrix.load()
    except exception.MatrixError as err:
        return Result(Code.FAILURE, "The matrix does not load: %s" % err)
    from vmstate.lifecycle import timeouts
    try:
        timeouts.policy(loaded)
    except (exception.VMStateError, cfg.Error, ValueError) as err:
        return Result(Code.FAILURE, "The matrix loads, but the task "
                      "timeouts do not fit it: %s" % _first_line(err))
    return Result(Code.SUCCESS, "Plugins %s: %d actions, %d vm_states, "
                  "%d task_states." % (", ".join(loaded.plugins),
                                       len(loaded.actions),
                                       len(loaded.vm_states),
                                       len(loaded.task_states)))


def check_policy(checks: object = None) -> Result:
    """The policy file (``[oslo_policy] policy_file``), if any, is valid.

    Failure when it does not parse or a rule refers to a rule that does
    not exist; Warning for overrides of rules vmstate does not have
    (misspelt names silently change nothing).
    """
    from vmstate.api import policy
    policy.reset()
    try:
        return _check_policy(policy.get_enforcer())
    finally:
        # The services build their own enforcer when they start.
        policy.reset()


def _check_policy(enforcer: oslo_policy.Enforcer) -> Result:
    try:
        enforcer.load_rules(force_reload=True)
    except (ValueError, oslo_policy.PolicyNotRegistered,
            cfg.Error, OSError) as err:
        return Result(Code.FAILURE, "The policy file does not load: %s"
                      % _first_line(err))
    if not enforcer.check_rules(raise_on_violation=False):
        return Result(Code.FAILURE, "The policy refers to undefined rules "
                      "or has cyclic references (the log says which).")
    unknown = sorted(set(enforcer.file_rules) - set(enforcer.registered_rules))
    if unknown:
        return Result(Code.WARNING, "The policy file overrides rules "
                      "vmstate does not have: %s." % ", ".join(unknown))
    if enforcer.policy_path:
        return Result(Code.SUCCESS, "Policy file %s is valid."
                      % enforcer.policy_path)
    return Result(Code.SUCCESS, "No policy file: the defaults in code "
                  "apply.")


def check_policy_json(checks: object = None) -> Result:
    """oslo.upgradecheck's check that the policy file is not JSON."""
    # The common check never reads its "self" (the UpgradeCommands).
    result = common_checks.check_policy_json(
        None, conf=CONF)  # type: ignore[arg-type]
    if result.code == Code.SUCCESS and not result.details:
        return Result(Code.SUCCESS, "The policy file, if any, is YAML.")
    return result


def check_event_bus(checks: object = None) -> Result:
    """The ``[events] driver`` loads and its channel can be reached."""
    from vmstate.events import bus
    from vmstate.events import drivers
    try:
        driver = bus.load_driver(CONF)
    except exception.EventBusError as err:
        return Result(Code.FAILURE, str(err))
    try:
        if not driver.remote:
            return Result(Code.SUCCESS, "Driver %s: waiters hear of other "
                          "processes' transitions every [events] "
                          "resync_interval (%g s)." % (
                              CONF.events.driver,
                              CONF.events.resync_interval))
        if type(driver).check is drivers.Driver.check:
            return Result(Code.WARNING, "Driver %s cannot be checked: it "
                          "has no check() of its own." % CONF.events.driver)
        driver.check()
    except exception.EventBusError as err:
        return Result(Code.FAILURE, str(err))
    finally:
        driver.stop()
    return Result(Code.SUCCESS, "Driver %s: channel reached."
                  % CONF.events.driver)


class Checks(upgradecheck.UpgradeCommands):
    """vmstate's upgrade checks, in the order they are printed.

    oslo.upgradecheck calls each with this object (the ``checks``
    argument, unused).
    """

    _upgrade_checks = (
        ("Database schema", check_schema),
        ("Matrix plugins", check_matrix),
        ("Policy file", check_policy),
        ("Policy file format", check_policy_json),
        ("Event bus", check_event_bus),
    )


DESCRIPTION = (
    "vmstate-status upgrade check: check that this deployment is ready to "
    "serve, before starting or after upgrading vmstate: the database "
    "schema is at the newest revision, the [matrix] plugins load and "
    "compose, the policy file is valid, the [events] bus driver loads and "
    "reaches its channel. It reads the configuration the services read. "
    "Exit status: %s." % "; ".join(
        "%d %s" % (code, text) for code, text in EXIT_CODES.items()))


def _add_parsers(subparsers: Any, checks: Checks) -> None:
    parser = subparsers.add_parser(
        "upgrade", help="upgrade checks",
        description="Run the upgrade checks and print a table of their "
                    "results.",
        epilog=cmd.config_epilog("vmstate-status"))
    parser.add_argument("check", choices=["check"],
                        help="run every check")
    parser.add_argument("--json", action="store_true",
                        help="print the results as JSON instead of a "
                             "table")
    parser.set_defaults(action_fn=checks.check)


def main(argv: list[str] | None = None) -> int:
    """``vmstate-status``; the exit status is in :data:`EXIT_CODES`."""
    checks = Checks()
    opt = cfg.SubCommandOpt(
        "command", title="Commands",
        handler=lambda subparsers: _add_parsers(subparsers, checks),
        help="run 'vmstate-status upgrade check'")
    # A configuration that cannot be read fails as every command's does
    # (one line), with the upgrade check's failure status.
    return cmd.run_subcommand("vmstate-status", opt, argv, DESCRIPTION,
                              _upgrade_check, code=2)


def _upgrade_check() -> int:
    # oslo.upgradecheck reads --json from its own module's CONF, as its
    # main() sets it.
    upgradecheck.CONF = CONF
    try:
        return int(upgradecheck.run(CONF))
    finally:
        upgradecheck.CONF = None

if __name__ == "__main__":
    sys.exit(main())
