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
a database. A guarded one is looked up in the state source and checked
against the matrix: refused, it gets Nova's own 409 body plus the allowed
actions; allowed, it goes on to the service. With ``[guard] reserve``, the
filter begins the action with vmstate's compare-and-swap first, so two
concurrent requests cannot both pass, and an error answer from the service
releases the reservation.
"""

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_middleware import base
import webob

from vmstate import conf as vm_conf
from vmstate import context as vm_context
from vmstate import exception
from vmstate import lifecycle
from vmstate import matrix as matrix_mod
from vmstate.api import faults
from vmstate.api.middleware import routes
from vmstate.api.middleware import sources

LOG = logging.getLogger(__name__)

# Only these methods have guarded routes; everything else passes untouched.
GUARDED_METHODS = frozenset({"POST", "PUT", "DELETE"})
RESERVATION = "vmstate.reservation"


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
        return self._guarded(environ, start_response)

    @webob.dec.wsgify
    def _guarded(self, req: webob.Request) -> webob.Response:
        response = self.process_request(req)
        if response is not None:
            return response
        return self.process_response(req.get_response(self.application),
                                     req)

    def process_request(self, req: webob.Request) -> webob.Response | None:
        """A 4xx/5xx fault when the request must stop here, else None."""
        match = self.routes.match(req.method, req.path_info)
        if match is None:
            return None
        try:
            action = self.routes.action(match, lambda: req.body)
            if action is None:
                return None
            if self.reserve:
                # One compare-and-swap both checks and reserves.
                req.environ[RESERVATION] = self._reserve(
                    req, match.server_id, action)
                return None
            state = self.source.get(match.server_id)
            if state is None:
                return None
            return self._check(action, state)
        except exception.VMStateError as err:
            return self._fault(err)

    def process_response(self, response: webob.Response,
                         request: webob.Request | None = None
                         ) -> webob.Response:
        task = request.environ.get(RESERVATION) if request else None
        if task is not None and response.status_int >= 400:
            try:
                task.release(reason="compute service answered %d"
                             % response.status_int)
            except exception.StateConflict as err:
                # Something else moved the instance on meanwhile: that
                # newer decision stands.
                LOG.info("Reservation of %s not released: %s",
                         task.uuid, err)
        return response

    def _check(self, action: str, state: dict[str, Any]
               ) -> webob.Response | None:
        matrix = matrix_mod.get()
        vm_state, task_state = state["vm_state"], state["task_state"]
        if matrix.is_allowed(action, vm_state, task_state):
            return None
        return self._refusal(matrix.refusal(action, state["uuid"], vm_state,
                                            task_state))

    def _reserve(self, req: webob.Request, uuid: str,
                 action: str) -> Any:
        context = vm_context.RequestContext.from_environ(req.environ)
        try:
            return lifecycle.begin(context.elevated(), uuid, action,
                                   reason="reserved by the compute guard")
        except exception.InstanceNotFound:
            return None
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

