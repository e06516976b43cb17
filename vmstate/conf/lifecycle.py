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

"""``[lifecycle]``: task timeouts, failure counts, the sweeper, queued
actions and power-state drift."""

from collections.abc import Mapping
from collections.abc import Sequence
from typing import NamedTuple

from oslo_config import cfg
from oslo_config import types

from vmstate import states

lifecycle_group = cfg.OptGroup(
    "lifecycle", title="Lifecycle engine",
    help="What happens to tasks that stop making progress, to actions "
         "requested while an instance is busy, and to instances whose "
         "observed power state contradicts their vm_state.")


class TimeoutSpec(NamedTuple):
    """One ``task_timeouts`` value: ``seconds[:reaction[:max_failures]]``.

    ``reaction`` and ``max_failures`` are ``None`` where the value leaves
    them to the defaults.
    """

    seconds: float
    reaction: str | None
    max_failures: int | None


def parse_timeout(value: str) -> TimeoutSpec:
    """Parse a ``task_timeouts`` value.

    :raises ValueError: naming what is wrong, for oslo.config to report
        against the option.
    """
    parts = [p.strip() for p in str(value).split(":")]
    if not 1 <= len(parts) <= 3 or not parts[0]:
        raise ValueError("expected seconds[:reaction[:max_failures]], "
                         "not %r" % (value,))
    try:
        seconds = float(parts[0])
    except ValueError:
        raise ValueError("timeout %r is not a number of seconds"
                         % (parts[0],)) from None
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError("timeout must be a positive number of seconds, "
                         "not %r" % (parts[0],))
    reaction = parts[1] if len(parts) > 1 and parts[1] else None
    if reaction is not None and reaction not in states.TIMEOUT_REACTIONS:
        raise ValueError("unknown reaction %r (known: %s)" % (
            reaction, ", ".join(states.TIMEOUT_REACTIONS)))
    max_failures = None
    if len(parts) > 2 and parts[2]:
        try:
            max_failures = int(parts[2])
        except ValueError:
            raise ValueError("max_failures %r is not an integer"
                             % (parts[2],)) from None
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1, not %d"
                             % max_failures)
    return TimeoutSpec(seconds, reaction, max_failures)


class _TimeoutValue(types.String):
    """A ``task_timeouts`` value, checked when the option is read."""

    def __init__(self) -> None:
        super().__init__(type_name="timeout value")

    def __call__(self, value: str) -> str:
        value = super().__call__(value)
        parse_timeout(value)
        return value


_REACTION_CHOICES = [
    (states.TIMEOUT_ERROR, "vm_state error, the task cleared, a fault "
                           "recorded"),
    (states.TIMEOUT_RETRY, "the task cleared and its action begun again, "
                           "through the same atomic begin as any request "
                           "(error when the action cannot start again)"),
    (states.TIMEOUT_CLEAR, "the task cleared, the vm_state kept, a fault "
                           "recorded"),
]

#: power_drift_reaction values.
DRIFT_NONE = "none"
DRIFT_FAULT = "fault"
DRIFT_STOP = "stop"

lifecycle_opts = [
    cfg.Opt(
        "task_timeouts", type=types.Dict(value_type=_TimeoutValue()),
        default={},
        help="Timeouts per task_state, as "
             "task_state:seconds[:reaction[:max_failures]] pairs separated "
             "by commas, e.g. 'rebooting:300:retry:3,powering-off:600'. "
             "A task times out when it shows no sign of progress (its "
             "start, a checkpoint, a change of task_state) for that many "
             "seconds. These override the timeouts matrix plugins "
             "declare; a reaction or max_failures left out comes from "
             "default_timeout_reaction and max_failures. A task_state the "
             "matrix does not know stops the service at start."),
    cfg.FloatOpt(
        "default_task_timeout", default=0, min=0,
        help="Seconds without progress after which a task times out in "
             "any task_state of the matrix that neither task_timeouts nor "
             "a matrix plugin gives a timeout. 0: no default; only the "
             "task_states named there time out."),
    cfg.StrOpt(
        "default_timeout_reaction", default=states.TIMEOUT_ERROR,
        choices=_REACTION_CHOICES,
        help="The reaction to a timeout whose definition names none."),
    cfg.IntOpt(
        "max_failures", default=3, min=1,
        help="Permanent-failure threshold: the timeout that makes a step "
             "(an instance's task_state) fail this many times in a row "
             "puts the instance in error, whatever the reaction, with a "
             "fault that says which step failed how many times. The count "
             "is kept in the database and starts again when the step "
             "succeeds (the task moves on from it other than by a "
             "timeout) or an admin resets the instance."),
    cfg.BoolOpt(
        "run_sweeper", default=True,
        help="Run the sweeper (expired timeouts, and queued actions left "
             "behind) in a background thread of vmstate-api. Several "
             "sweepers may run at once, in vmstate-api processes or as "
             "'vmstate-manage lifecycle sweep': each timeout fires "
             "exactly once."),
    cfg.FloatOpt(
        "sweep_interval", default=10.0, min=0.1,
        help="Seconds between two rounds of a sweeper: how late, at most, "
             "a timeout fires after it expires."),
    cfg.IntOpt(
        "sweep_batch", default=100, min=1,
        help="The most expired tasks one query of a sweeper fetches; a "
             "round goes on until none is left."),
    cfg.BoolOpt(
        "queue_actions", default=False,
        help="Whether an action requested while the instance is busy is "
             "queued (202) instead of refused (409) when the request does "
             "not say (POST /v1/instances/{uuid}/actions with "
             "\"queue\")."),
    cfg.IntOpt(
        "max_queued_actions", default=5, min=1, max=100,
        help="The most actions queued for one instance; one more is "
             "refused with 409."),
    cfg.FloatOpt(
        "power_drift_grace", default=60.0, min=0,
        help="Seconds an active instance with no task may be observed "
             "shut down or crashed before the drift reaction happens. "
             "Measured from its last change of state; evaluated when an "
             "observer reports its power state."),
    cfg.StrOpt(
        "power_drift_reaction", default=DRIFT_FAULT,
        choices=[(DRIFT_NONE, "only record the observed power_state"),
                 (DRIFT_FAULT, "also record a PowerStateDrift fault, once "
                               "per drift"),
                 (DRIFT_STOP, "begin 'stop', as Nova's power-state sync "
                              "does (a fault when stop cannot start)")],
        help="What vmstate does, exactly once however many observers "
             "report it, when an active instance with no task stays shut "
             "down or crashed for longer than power_drift_grace."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(lifecycle_group)
    conf.register_opts(lifecycle_opts, group=lifecycle_group)


def list_opts() -> Mapping[str | cfg.OptGroup | None, Sequence[cfg.Opt]]:
    return {lifecycle_group: lifecycle_opts}
