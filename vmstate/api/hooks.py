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

"""Pecan hooks: the request context once per request, and the fault body.

Controllers find ``pecan.request.context`` ready and raise vmstate's
exceptions; :class:`FaultHook` renders any of them (and pecan's own 404 and
405) as a Nova-style fault.
"""

from typing import Any
from typing import TypedDict

from pecan import hooks

from vmstate import exception
from vmstate.api import faults
from vmstate.api import validation
from vmstate.conf import CONF
from vmstate.context import RequestContext

IDENTITY_HEADERS = ("HTTP_X_PROJECT_ID", "HTTP_X_USER_ID", "HTTP_X_ROLES",
                    "HTTP_X_TENANT_ID", "HTTP_X_USER")


class _Identity(TypedDict):
    project_id: str
    user_id: str
    roles: list[str]


# Identity of a request that names nobody under noauth.
NOAUTH_ADMIN: _Identity = {"project_id": "admin", "user_id": "admin",
                           "roles": ["admin"]}
#: The roles each role implies, as ``keystone-manage bootstrap`` creates
#: them (admin implies member implies reader). keystonemiddleware hands
#: over the implied roles already; under noauth they are added here, so
#: the policy's personas mean the same under both.
IMPLIED_ROLES = {"admin": ("member", "reader"), "member": ("reader",)}


def _header_name(key: str) -> str:
    return "-".join(p.capitalize() for p in key[5:].split("_"))


def context_from_environ(environ: dict[str, Any]
                         ) -> RequestContext:
    """The request context from headers (set by keystonemiddleware, or by
    the caller under ``noauth``).

    :raises Invalid: under noauth, an identity header that is present but
        empty (400): it names nobody, and must not fall back to the
        admin of a request without identity headers.
    """
    noauth = CONF.api.auth_strategy == "noauth"
    if noauth:
        for key in IDENTITY_HEADERS:
            value = environ.get(key)
            if value is not None and not value.strip(" ,\t"):
                raise exception.Invalid(
                    "%s is empty: name an identity, or send no identity "
                    "headers at all" % _header_name(key))
    ctx = RequestContext.from_environ(environ)
    if noauth and not any(environ.get(h) for h in IDENTITY_HEADERS):
        ctx.project_id = NOAUTH_ADMIN["project_id"]
        ctx.user_id = NOAUTH_ADMIN["user_id"]
        ctx.roles = list(NOAUTH_ADMIN["roles"])
    for name, value in (("X-Project-Id", ctx.project_id),
                        ("X-User-Id", ctx.user_id)):
        # MySQL's collations ignore trailing spaces: "p1 " must not pass
        # for "p1".
        if value is not None and (value != value.strip() or not value):
            raise exception.Invalid("%s may not be empty or begin or end "
                                    "with whitespace" % name)
        validation.check_text(value, name)
    roles = [r.strip().lower() for r in ctx.roles if r.strip()]
    if noauth:
        for role in list(roles):
            roles.extend(r for r in IMPLIED_ROLES.get(role, ())
                         if r not in roles)
    ctx.roles = roles
    ctx.is_admin = "admin" in ctx.roles
    return ctx


class ContextHook(hooks.PecanHook):
    """Build the request context before any controller runs."""

    priority = 10

    def before(self, state: Any) -> None:
        state.request.context = context_from_environ(state.request.environ)


class FaultHook(hooks.PecanHook):
    """Render exceptions raised under pecan as fault bodies."""

    def on_error(self, state: Any, exc: BaseException) -> Any:
        return faults.from_exception(exc)
