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

"""What every controller does the same way."""

from collections.abc import Callable
from typing import Any

from oslo_utils import uuidutils
import pecan

from vmstate import exception
from vmstate.api import policy
from vmstate.conf import CONF
from vmstate.context import RequestContext
from vmstate.db import api as db_api


def link(path: str) -> str:
    """The absolute URL of ``path`` (``/v1/...``) for the caller.

    ``[api] public_endpoint`` when set; else the request's own base URL
    (scheme and host as the client sent them, or as a trusted proxy
    reported them through HTTPProxyToWSGI).
    """
    base: str = CONF.api.public_endpoint or pecan.request.application_url
    return base.rstrip("/") + path


def is_uuid(value: str) -> bool:
    """Whether ``value`` reads as a uuid (oslo.utils' ``is_uuid_like``,
    as Nova checks a server id before looking it up)."""
    return uuidutils.is_uuid_like(value)


def uuid_or_404(value: str) -> str:
    """The instance id of a path, lower case.

    :raises InstanceNotFound: a malformed id names no instance (404, as
        Nova answers).
    """
    if not is_uuid(value):
        raise exception.InstanceNotFound(value)
    return value.lower()


def scoped(ctx: RequestContext) -> RequestContext:
    """The context to act with: every project's, where policy says so."""
    if policy.check("vmstate:instance:all_projects", ctx, {}):
        return ctx.elevated()
    return ctx


def authorize_change(rule: str, ctx: RequestContext, uuid: str
                     ) -> tuple[RequestContext, str]:
    """Check ``rule`` for a change to the instance of a path, reading the
    instance only when the answer depends on it.

    The rule's target is the instance's owner (:func:`authorize_instance`).
    A caller who sees only its own project reaches only that project's
    instances (the change's compare-and-swap is scoped to it: another
    project's instance is not found, 404), so its target is known without
    a read: ``{"project_id": <the caller's>}``. When the rule allows that,
    no read is made; when it refuses, the instance is read to answer as
    :func:`authorize_instance` does (404 when not visible, else 403).
    A caller with every project's view is checked on the instance read.

    :returns: ``(context to act with, lower-case uuid)``.
    :raises InstanceNotFound: as :func:`authorize_instance`.
    :raises Forbidden: as :func:`authorize_instance`.
    """
    uuid = uuid_or_404(uuid)
    acting = scoped(ctx)
    if (not getattr(acting, "is_admin", False)
            and policy.check(rule, ctx, {"project_id": ctx.project_id})):
        return acting, uuid
    found, uuid, _row = authorize_instance(rule, ctx, uuid)
    return found, uuid


def authorize_instance(rule: str, ctx: RequestContext, uuid: str,
                       read: Callable[[RequestContext, str],
                                      dict[str, Any]]
                       = db_api.instance_get
                       ) -> tuple[RequestContext, str, dict[str, Any]]:
    """Find the instance of a path and check ``rule`` on it.

    The instance is looked up as the caller may see it (its own project,
    or every project where ``vmstate:instance:all_projects`` says so),
    then ``rule`` is checked with the instance's owner as the target.

    :param read: how to read the instance (``db_api.instance_get``, or a
        read that brings more in the same statement); it must raise
        ``InstanceNotFound`` for an instance the context may not see.

    :returns: ``(scoped context, uuid, instance row)``.
    :raises InstanceNotFound: no such instance, or another project's that
        the caller may not see (404, never 403).
    :raises Forbidden: the caller sees it but ``rule`` refuses (403).
    """
    uuid = uuid_or_404(uuid)
    acting = scoped(ctx)
    row = read(acting, uuid)
    policy.authorize(rule, ctx, policy.instance_target(row))
    return acting, uuid, row
