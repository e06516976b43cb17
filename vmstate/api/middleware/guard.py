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

"""``ComputeGuard``: Nova's 409 before the compute service runs.

In a compute API's paste pipeline, after authentication::

    [filter:vmstate_guard]
    paste.filter_factory = vmstate.api.middleware:ComputeGuard.factory
    config_file = /etc/vmstate/vmstate.conf

A request the route table does not guard passes at once, without touching
a database. A guarded one is looked up in the state source, in the
caller's project only (an admin's scope is every project, as in Nova), and
checked against the matrix: refused, it gets Nova's own 409 body plus the
allowed actions; allowed, it goes on to the service. A server the caller
cannot see (unknown, or another project's) and a server already
``deleted`` pass untouched: the service answers its own 404, and the guard
writes nothing and shows nothing of another project's server.

With ``[guard] reserve``, the filter begins the action with vmstate's
compare-and-swap first, so two concurrent requests cannot both pass, and
hands the begun task to the service, which continues it (see
:mod:`vmstate.api.middleware.reservation` for the handoff and for when the
reservation is released).
"""

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_middleware import base
from oslo_utils import strutils
import webob

from vmstate import exception
from vmstate import lifecycle
from vmstate import states
from vmstate.api import faults
from vmstate.api import hooks
from vmstate.api.middleware import reservation
from vmstate.api.middleware import routes
from vmstate.api.middleware import sources
from vmstate.conf import CONF
from vmstate.conf import is_parsed
from vmstate.conf import parse_args
from vmstate.context import RequestContext
from vmstate.db import nova
from vmstate.matrix import loader

LOG = logging.getLogger(__name__)
ANY = routes.ANY

# Only these methods have guarded routes; everything else passes untouched.
GUARDED_METHODS = frozenset({"POST", "PUT", "DELETE"})
#: Where the guard hands its reservation to the service (see
#: :mod:`vmstate.api.middleware.reservation`).
RESERVATION = reservation.ENVIRON_KEY
#: Where Nova's ``keystonecontext`` and ``noauth2`` filters (and the fake
#: compute API's context filter) put the caller's request context.
NOVA_CONTEXT = "nova.context"


def caller_context(environ: dict[str, Any]) -> RequestContext:
    """Who sends the request, as the compute service behind sees them.

    The context an earlier filter put in ``environ["nova.context"]``
    (Nova's ``keystonecontext`` or ``noauth2``) when there is one: its
    project, user, roles, admin flag and request ids. Otherwise the
    identity headers, read as ``vmstate-api`` reads them
    (:func:`vmstate.api.hooks.context_from_environ`).

    :raises Invalid: identity headers that cannot name anybody.
    """
    theirs = environ.get(NOVA_CONTEXT)
    if theirs is None:
        return hooks.context_from_environ(environ)
    roles = [r.strip().lower() for r in getattr(theirs, "roles", None) or ()
             if isinstance(r, str) and r.strip()]
    kwargs: dict[str, Any] = {}
    request_id = getattr(theirs, "request_id", None)
    if request_id:
        kwargs["request_id"] = request_id
    return RequestContext(
        project_id=getattr(theirs, "project_id", None),
        user_id=getattr(theirs, "user_id", None), roles=roles,
        is_admin=bool(getattr(theirs, "is_admin", False)),
        global_request_id=getattr(theirs, "global_request_id", None),
        overwrite=False, **kwargs)


class ComputeGuard(base.ConfigurableMiddleware):
    """The paste filter; options from vmstate's configuration.

    Paste options (``config_file``, and ``state_source``, ``reserve``,
    ``soft_delete`` overriding ``[guard]``) come as ``conf``; an
    oslo.config object may be passed instead when built in code.
    """

    #: The wrapped service (the base class allows None; a filter always
    #: wraps one).
    application: Callable[..., Iterable[bytes]]

    def __init__(self, application: Any,
                 conf: dict[str, Any] | cfg.ConfigOpts | None = None
                 ) -> None:
        local = dict(conf) if isinstance(conf, dict) else {}
        oslo_conf = conf if isinstance(conf, cfg.ConfigOpts) else None
        if oslo_conf is None:
            oslo_conf = CONF
            config_file = local.pop("config_file", None)
            if config_file and not is_parsed():
                # The host service owns logging.
                parse_args(["--config-file", config_file],
                           setup_logging=False)
        super().__init__(application, oslo_conf)
        self.conf = {k: v for k, v in local.items()
                     if k in ("state_source", "reserve", "soft_delete",
                              "nova_max_microversion")}
        self.source = sources.load(self._conf_get("state_source", "guard"),
                                   self.oslo_conf)
        self.reserve = strutils.bool_from_string(
            self._conf_get("reserve", "guard"))
        if self.reserve and not self.source.supports_reservation:
            raise exception.VMStateError(
                "[guard] reserve needs the vmstate state source, not %r"
                % self._conf_get("state_source", "guard"))
        self.routes = routes.RouteTable(
            soft_delete=strutils.bool_from_string(
                self._conf_get("soft_delete", "guard")),
            max_version=routes.parse_version(
                self._conf_get("nova_max_microversion", "guard")))
        # Fail at start, not on the first request, if the matrix is bad.
        loader.get()

    # A plain WSGI callable, not the base class's webob.dec.wsgify one.
    def __call__(  # type: ignore[override]
            self, environ: dict[str, Any],
            start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in GUARDED_METHODS:
            return self.application(environ, start_response)
        verdict = self.admit(webob.Request(environ))
        if isinstance(verdict, webob.Response):
            return verdict(environ, start_response)
        if verdict is None:
            return self.application(environ, start_response)
        return reservation.serve(self.application, environ, start_response,
                                 verdict)

    def admit(self, req: webob.Request
              ) -> webob.Response | lifecycle.Task | None:
        """Decide on a request before the service runs.

        The route table (:mod:`vmstate.api.middleware.routes`) says where
        Nova would answer before its state check; there the request
        passes untouched. Otherwise the state is read (one indexed read,
        with what Nova checks first: the lock, the host, a metadata key,
        an attached volume) and checked against the matrix.

        :returns: the fault that stops it here (409 refused, in Nova's
            words; 503 the state source cannot answer); the task begun
            for it, with ``[guard] reserve``, which the service takes
            over; or ``None`` to pass it on untouched.
        """
        match = self.routes.match(req.method, req.path_info,
                                  req.script_name)
        if match is None:
            return None
        try:
            decision = self.routes.decide(
                match, req.method, req.headers, req.content_type,
                req.content_length, lambda: req.body,
                body_readable=req.is_body_readable)
            if decision is None:
                return None
            route = decision.route
            if "never" in route.before_state:
                return None
            context = caller_context(req.environ)
            if not self._reaches_the_controller(req.environ, context,
                                                decision):
                return None
            if self.reserve:
                # One compare-and-swap both checks and reserves.
                return self._reserve(context, decision)
            server_id = (match.raw_id if self.source.ids_as_written
                         else match.server_id)
            probe = next((p for p in route.before_state
                          if p in nova.PROBES), None)
            state = self.source.get(context, server_id, probe=probe,
                                    item=decision.item if probe else None)
            if state is None or state["vm_state"] == states.DELETED:
                return None
            if not _reaches_state_check(context, route, state, probe):
                return None
            return self._check(decision, state)
        except exception.VMStateError as err:
            return self._fault(err)

    def _reaches_the_controller(self, environ: dict[str, Any],
                                context: RequestContext,
                                decision: routes.Decision) -> bool:
        """Whether Nova gets past its router, its policy and the route's
        own checks of the body (each answered by Nova otherwise)."""
        match, route = decision.match, decision.route
        if match.project_id is not None and (
                not routes.PROJECT_ID.match(match.project_id)
                or match.project_id != context.project_id):
            return False        # Nova: 404, or 400 "Malformed request URL"
        if not _policy_allows(environ, context, route):
            return False        # Nova: 403
        if "body" in route.before_state and route.tail == ("metadata", ANY):
            meta = decision.body.get("meta") if decision.body else None
            return isinstance(meta, dict) and decision.item in meta
        return True

    def _check(self, decision: routes.Decision, state: dict[str, Any]
               ) -> webob.Response | None:
        matrix = loader.get()
        vm_state, task_state = state["vm_state"], state["task_state"]
        if matrix.is_allowed(decision.action, vm_state, task_state):
            return None
        return self._refusal(decision, state["uuid"], matrix.refusal(
            decision.action, state["uuid"], vm_state, task_state))

    def _reserve(self, context: RequestContext,
                 decision: routes.Decision) -> lifecycle.Task | None:
        uuid = decision.match.server_id
        try:
            with sources.store_unavailable_as_503():
                return lifecycle.begin(context, uuid, decision.action,
                                       reason="reserved by the compute guard")
        except exception.InstanceNotFound:
            return None         # unknown, or another project's: untouched
        except exception.InstanceInvalidState as err:
            if err.vm_state == states.DELETED:
                return None     # the service answers its own 404
            raise _Refused(self._refusal(decision, uuid, err)) from None

    @staticmethod
    def _fault(err: exception.VMStateError) -> webob.Response:
        if isinstance(err, _Refused):
            return err.response
        return faults.from_exception(err)

    @staticmethod
    def _refusal(decision: routes.Decision, uuid: str,
                 err: exception.InstanceInvalidState) -> webob.Response:
        # Nova's body, word for word, plus what the user may do instead.
        route = decision.route
        shown = (decision.match.raw_id if route.message_id == "path"
                 else uuid)
        value = {"vm_state": err.vm_state,
                 "task_state": err.task_state}.get(err.attribute)
        message = routes.nova_message(route.word, shown, err.attribute,
                                      value)
        return faults.fault_response(409, {"conflictingRequest": {
            "code": 409, "message": message,
            "allowed_actions": err.allowed_actions}})


class _Refused(exception.VMStateError):
    """A refusal already rendered as Nova's 409."""

    def __init__(self, response: webob.Response) -> None:
        super().__init__("refused")
        self.response = response


def _policy_allows(environ: dict[str, Any],
                   context: RequestContext,
                   route: routes.Route) -> bool:
    """Whether Nova's policy lets the caller run ``route``.

    Inside Nova, Nova's own request context answers (``can`` with the
    route's rule, never raising); the target is the caller's project,
    which is the server's for everybody but an admin (the source reads
    other projects' servers for admins only, and an admin passes Nova's
    rules). Elsewhere, the default persona of the rule decides
    (``nova/policies/base.py``).
    """
    theirs = environ.get(NOVA_CONTEXT)
    can = getattr(theirs, "can", None)
    if callable(can):
        target = {"project_id": getattr(theirs, "project_id", None),
                  "user_id": getattr(theirs, "user_id", None)}
        try:
            return bool(can(route.policy, target=target, fatal=False))
        except Exception:   # Nova's policy failing: Nova answers it
            LOG.debug("Policy %s not evaluated", route.policy,
                      exc_info=True)
            return False
    if context.is_admin:
        return True
    roles = set(context.roles)
    return {routes.MEMBER: "member" in roles,
            routes.MANAGER: "manager" in roles,
            routes.SERVICE: "service" in roles,
            routes.ADMIN: False}[route.persona]


def _reaches_state_check(context: RequestContext,
                         route: routes.Route, state: dict[str, Any],
                         probe: str | None) -> bool:
    """Whether Nova's checks between the policy and the state pass, as
    far as the state source knows them (an absent key: not known)."""
    if probe is not None and state.get(probe) is False:
        return False            # Nova: 404 (or 400 for a root volume)
    if ("lock" in route.before_state and state.get("locked")
            and not context.is_admin):
        return False            # Nova: "Instance U is locked"
    if ("host" in route.before_state and "host" in state
            and not state["host"]):
        return False            # Nova: "Instance U is not ready"
    return True
