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

"""Assembling the vmstate-api WSGI application.

From the outside in: request ids on every response, the fault wrapper
(every error leaves as a Nova-style body), the healthcheck (no auth), the
body size limit (413), authentication (keystonemiddleware's auth_token
under ``keystone``) and the Pecan application with its hooks.
"""

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from oslo_config import cfg
from oslo_middleware import healthcheck
from oslo_middleware import request_id
from oslo_middleware import sizelimit
import pecan

from vmstate.api import faults
from vmstate.api import hooks
from vmstate.api.controllers import root

WSGIApp = Callable[..., Any]

# Version discovery stays reachable without a token, as in other services.
PUBLIC_PATHS = ("/", "/v1", "/v1/")


class PathDispatch:
    """Send a few exact paths to another application.

    Used twice: to mount the healthcheck at ``/healthcheck`` (the filter
    answers whatever reaches it), and under ``keystone`` to let version
    discovery around the authentication filter.
    """

    def __init__(self, default: WSGIApp, paths: Iterable[str],
                 target: WSGIApp) -> None:
        self.default = default
        self.paths = frozenset(paths)
        self.target = target

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO") or "/"
        if path in self.paths:
            return self.target(environ, start_response)
        return self.default(environ, start_response)


def pecan_app() -> WSGIApp:
    """The bare Pecan application, without middleware."""
    return pecan.make_app(
        root.RootController(),
        hooks=[hooks.ContextHook(), hooks.FaultHook()],
        force_canonical=False,
        guess_content_type_from_ext=False,
        debug=False,
        logging={},
    )


def setup_app(conf: cfg.ConfigOpts | None = None) -> WSGIApp:
    """The whole vmstate-api WSGI application for ``conf``."""
    if conf is None:
        from vmstate.conf import CONF
        conf = CONF
    app = pecan_app()
    if conf.api.auth_strategy == "keystone":
        from keystonemiddleware import auth_token
        app = PathDispatch(auth_token.AuthProtocol(
            app, {"oslo_config_config": conf}), PUBLIC_PATHS, app)
    app = sizelimit.RequestBodySizeLimiter(app, conf)
    app = PathDispatch(app, ("/healthcheck",),
                       healthcheck.Healthcheck(None, conf))
    app = faults.FaultWrapper(app)
    app = request_id.RequestId(app, conf)
    return app
