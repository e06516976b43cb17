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
from oslo_db import exception as db_exc
from oslo_middleware import base
import webob

from vmstate import conf as vm_conf
from vmstate import context as vm_context
from vmstate import exception
from vmstate import lifecycle
from vmstate import matrix as matrix_mod
from vmstate import states
from vmstate.api import faults
from vmstate.api import hooks
from vmstate.api.middleware import reservation
from vmstate.api.middleware import routes
from vmstate.api.middleware import sources

# Only these methods have guarded routes; everything else passes untouched.
GUARDED_METHODS = frozenset({"POST", "PUT", "DELETE"})
#: Where the guard hands its reservation to the service (see
#: :mod:`vmstate.api.middleware.reservation`).
RESERVATION = reservation.ENVIRON_KEY
#: Where Nova's ``keystonecontext`` and ``noauth2`` filters (and the fake
#: compute API's context filter) put the caller's request context.
NOVA_CONTEXT = "nova.context"


def caller_context(environ: dict[str, Any]) -> vm_context.RequestContext:
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
    return vm_context.RequestContext(
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

    def __init__(self, application: Any,
                 conf: dict[str, Any] | cfg.ConfigOpts | None = None
                 ) -> None:
        local = dict(conf) if isinstance(conf, dict) else {}
        oslo_conf = conf if isinstance(conf, cfg.ConfigOpts) else None
        if oslo_conf is None:
            oslo_conf = vm_conf.CONF
            config_file = local.pop("config_file", None)
            if config_file and not vm_conf.is_parsed():
                # The host service owns logging.
                vm_conf.parse_args(["--config-file", config_file],
                                   setup_logging=False)
        super().__init__(application, oslo_conf)
        self.conf = {k: v for k, v in local.items()
                     if k in ("state_source", "reserve", "soft_delete")}
        self.source = sources.load(self._conf_get("state_source", "guard"),
                                   self.oslo_conf)
        self.reserve = _bool(self._conf_get("reserve", "guard"))
        if self.reserve and not self.source.supports_reservation:
            raise exception.VMStateError(
                "[guard] reserve needs the vmstate state source, not %r"
                % self._conf_get("state_source", "guard"))
        self.routes = routes.RouteTable(
            soft_delete=_bool(self._conf_get("soft_delete", "guard")))
        # Fail at start, not on the first request, if the matrix is bad.
        matrix_mod.get()

    def __call__(self, environ: dict[str, Any],
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

        :returns: the fault that stops it here (409 refused, 400 an action
            body with several keys, 503 the state source cannot answer);
            the task begun for it, with ``[guard] reserve``, which the
            service takes over; or ``None`` to pass it on untouched (not
            guarded, not a server the caller can see, or deleted).
        """
        match = self.routes.match(req.method, req.path_info)
        if match is None:
            return None
        try:
            action = self.routes.action(match, lambda: req.body)
            if action is None:
                return None
            context = caller_context(req.environ)
            if self.reserve:
                # One compare-and-swap both checks and reserves.
                return self._reserve(context, match.server_id, action)
            state = self.source.get(context, match.server_id)
            if state is None or state["vm_state"] == states.DELETED:
                return None
            return self._check(action, state)
        except exception.VMStateError as err:
            return self._fault(err)

    def _check(self, action: str, state: dict[str, Any]
               ) -> webob.Response | None:
        matrix = matrix_mod.get()
        vm_state, task_state = state["vm_state"], state["task_state"]
        if matrix.is_allowed(action, vm_state, task_state):
            return None
        return self._refusal(matrix.refusal(action, state["uuid"], vm_state,
                                            task_state))

    def _reserve(self, context: vm_context.RequestContext, uuid: str,
                 action: str) -> lifecycle.Task | None:
        try:
            return lifecycle.begin(context, uuid, action,
                                   reason="reserved by the compute guard")
        except exception.InstanceNotFound:
            return None         # unknown, or another project's: untouched
        except exception.InstanceInvalidState as err:
            if err.vm_state == states.DELETED:
                return None     # the service answers its own 404
            raise
        except db_exc.DBError as err:
            # Never an unchecked pass, never a 500: the store is down.
            raise exception.ServiceUnavailable(
                "The instance state store is unavailable: %s"
                % type(err).__name__) from err

    def _fault(self, err: exception.VMStateError) -> webob.Response:
        if isinstance(err, exception.InstanceInvalidState):
            return self._refusal(err)
        return faults.from_exception(err)

    @staticmethod
    def _refusal(err: exception.InstanceInvalidState) -> webob.Response:
        # Nova's body, word for word, plus what the user may do instead.
        return faults.fault_response(409, {"conflictingRequest": {
            "code": 409, "message": err.message,
            "allowed_actions": err.allowed_actions}})


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)

