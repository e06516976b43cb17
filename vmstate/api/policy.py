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

from typing import Any

from oslo_policy import policy

from vmstate import context as vm_context
from vmstate import exception
from vmstate.api import policies

_ENFORCER: policy.Enforcer | None = None


def get_enforcer() -> policy.Enforcer:
    """The process's enforcer (also the oslo.policy.enforcer entry point)."""
    global _ENFORCER
    if _ENFORCER is None:
        from vmstate.conf import CONF
        _ENFORCER = policy.Enforcer(CONF)
        _ENFORCER.register_defaults(policies.list_rules())
    return _ENFORCER


def reset() -> None:
    """Forget the enforcer (tests, and a reloaded configuration)."""
    global _ENFORCER
    if _ENFORCER is not None:
        _ENFORCER.clear()
    _ENFORCER = None


def authorize(rule: str, context: vm_context.RequestContext,
              target: dict[str, Any] | None = None) -> None:
    """Check ``rule`` for ``context`` on ``target``.

    The target defaults to the caller's own project.

    :raises Forbidden: when the policy refuses (HTTP 403).
    """
    if target is None:
        target = {"project_id": context.project_id,
                  "user_id": context.user_id}
    try:
        get_enforcer().authorize(rule, target, context, do_raise=True)
    except policy.PolicyNotAuthorized:
        raise exception.Forbidden(
            "Policy doesn't allow %s to be performed." % rule) from None


def check(rule: str, context: vm_context.RequestContext,
          target: dict[str, Any] | None = None) -> bool:
    """Like :func:`authorize`, but answer instead of raising."""
    try:
        authorize(rule, context, target)
    except exception.Forbidden:
        return False
    return True
