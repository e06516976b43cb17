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

"""The request context: who asks, for which project, under which request id.

A thin oslo.context subclass, so logging, policy and notifications read the
same fields every OpenStack service uses.
"""

import copy
from typing import Any

from oslo_context import context


class RequestContext(context.RequestContext):
    """oslo.context's context; ``is_admin`` comes from the roles."""

    def elevated(self) -> "RequestContext":
        """A copy that may see and change every project's instances.

        For callers already authorized by policy (a service reporting on
        any project's instance), never to skip the policy check itself.
        """
        context = copy.copy(self)
        context.roles = list(self.roles)
        if "admin" not in context.roles:
            context.roles.append("admin")
        context.is_admin = True
        return context

    @classmethod
    def admin(cls, **kwargs: Any) -> "RequestContext":
        """A context for vmstate's own work (commands, sweepers)."""
        kwargs.setdefault("roles", ["admin"])
        kwargs.setdefault("is_admin", True)
        kwargs.setdefault("overwrite", False)
        return cls(**kwargs)


def get_admin_context(**kwargs: Any) -> RequestContext:
    """An admin context for internal callers, not stored thread-locally."""
    return RequestContext.admin(**kwargs)
