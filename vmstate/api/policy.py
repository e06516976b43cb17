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

"""The policy enforcer: one place where every API rule is checked."""

import threading
import time
from typing import Any

from oslo_policy import policy

from vmstate import exception
from vmstate.api import policies
from vmstate.context import RequestContext

_ENFORCER: policy.Enforcer | None = None
_LOCK = threading.Lock()


class Enforcer(policy.Enforcer):
    """oslo.policy's enforcer, looking at its policy files for changes at
    most every ``[api] policy_reload_interval`` seconds.

    oslo.policy's ``load_rules`` runs before every check and stats the
    policy file and each ``policy_dirs`` entry in every configuration
    directory: two checks a request made that about a tenth of a show's
    server CPU (``benchmarks/api.py``). Here the first check loads the
    rules, and a later one looks again once the interval has passed; a
    forced reload (``load_rules(True)``) and :meth:`clear` always do.
    """

    def __init__(self, conf: Any, reload_interval: float) -> None:
        super().__init__(conf)
        self.reload_interval = reload_interval
        self._next_look = 0.0

    def load_rules(self, force_reload: bool = False) -> None:
        now = time.monotonic()
        if force_reload or now >= self._next_look:
            super().load_rules(force_reload)
            self._next_look = now + self.reload_interval

    def clear(self) -> None:
        super().clear()
        self._next_look = 0.0


def get_enforcer() -> policy.Enforcer:
    """The process's enforcer, its defaults registered.

    Built once under a lock and published only once complete: concurrent
    first requests never see an enforcer without its rules (which would
    answer ``PolicyNotRegistered``, a 500).
    """
    global _ENFORCER
    enforcer = _ENFORCER
    if enforcer is not None:
        return enforcer
    with _LOCK:
        if _ENFORCER is None:
            from vmstate.conf import CONF
            enforcer = Enforcer(CONF, CONF.api.policy_reload_interval)
            enforcer.register_defaults(policies.list_rules())
            _ENFORCER = enforcer
        return _ENFORCER


def enforcer_for_tools() -> policy.Enforcer:
    """The ``oslo.policy.enforcer`` entry point, for oslopolicy's tools
    (``oslopolicy-policy-generator``, ``oslopolicy-list-redundant``):
    they run outside any vmstate program, so vmstate's configuration
    (``/etc/vmstate/vmstate.conf`` and its ``[oslo_policy]``) is read here
    first."""
    from vmstate import conf
    if not conf.is_parsed():
        conf.parse_args([], setup_logging=False)
    return get_enforcer()


def reset() -> None:
    """Forget the enforcer (tests, and a reloaded configuration)."""
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is not None:
            _ENFORCER.clear()
        _ENFORCER = None


def instance_target(row: Any) -> dict[str, Any]:
    """The policy target of an instance: its owner, not the caller."""
    return {"project_id": row["project_id"]}


def authorize(rule: str, context: RequestContext,
              target: dict[str, Any]) -> None:
    """Check ``rule`` for ``context`` on ``target``.

    :param target: what the rule is about; for an instance,
        :func:`instance_target` (its owner's project). There is no
        default: the caller's own project would let any rule with
        ``project_id:%(project_id)s`` pass on every instance it reaches.
    :raises Forbidden: when the policy refuses, or the token's scope is
        not one the rule accepts (HTTP 403).
    """
    try:
        get_enforcer().authorize(rule, target, context, do_raise=True)
    except (policy.PolicyNotAuthorized, policy.InvalidScope):
        raise exception.Forbidden(
            "Policy doesn't allow %s to be performed." % rule) from None


def check(rule: str, context: RequestContext,
          target: dict[str, Any]) -> bool:
    """Like :func:`authorize`, but answer instead of raising."""
    try:
        authorize(rule, context, target)
    except exception.Forbidden:
        return False
    return True
