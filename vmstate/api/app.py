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

From the outside in: CORS, the proxy headers (HTTPProxyToWSGI), request
ids on every response, the microversion filter (406 out of range; the
answering version on every response), the healthcheck (no auth; checks the
store), the fault wrapper (every error leaves as a Nova-style body), the
body size limit (413), authentication (keystonemiddleware's auth_token
under ``keystone``) and the Pecan application with its hooks.
"""

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from oslo_config import cfg
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
from oslo_middleware import sizelimit
import pecan

from vmstate.api import faults
from vmstate.api import health
from vmstate.api import hooks
from vmstate.api import microversions
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
    app: WSGIApp = pecan.make_app(
        root.RootController(),
        hooks=[hooks.ContextHook(), hooks.FaultHook()],
        force_canonical=False,
        guess_content_type_from_ext=False,
        debug=False,
        logging={},
    )
    return app


#: Request headers a browser may send across origins, and response
#: headers it may read (CORS defaults; ``[cors]`` overrides them).
CORS_ALLOW_HEADERS = ["Content-Type", "X-Auth-Token", "X-Service-Token",
                      "X-OpenStack-Request-ID", "OpenStack-API-Version"]
CORS_EXPOSE_HEADERS = ["X-OpenStack-Request-ID", "OpenStack-API-Version",
                       "Location", "Retry-After"]
CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


def healthcheck_app(conf: cfg.ConfigOpts) -> WSGIApp:
    """oslo.middleware's healthcheck with vmstate's store backend on by
    default (``[healthcheck] backends``)."""
    from oslo_middleware.healthcheck import opts as healthcheck_opts
    conf.register_opts(healthcheck_opts.HEALTHCHECK_OPTS,
                       group="healthcheck")
    conf.set_default("backends", [health.NAME], group="healthcheck")
    return healthcheck.Healthcheck(None, conf)


def setup_app(conf: cfg.ConfigOpts | None = None) -> WSGIApp:
    """The whole vmstate-api WSGI application for ``conf``.

    From the outside in: CORS (``[cors]``; answers preflight requests),
    HTTPProxyToWSGI (``[oslo_middleware] enable_proxy_headers_parsing``:
    scheme and host from a trusted proxy's headers), request ids, the
    microversion filter, the healthcheck (its own answers: 200, or 503
    with the reason), the fault wrapper, the body size limit,
    authentication and Pecan.
    """
    if conf is None:
        from vmstate.conf import CONF
        conf = CONF
    app = pecan_app()
    if conf.api.auth_strategy == "keystone":
        from keystonemiddleware import auth_token
        app = PathDispatch(auth_token.AuthProtocol(
            app, {"oslo_config_config": conf}), PUBLIC_PATHS, app)
    app = sizelimit.RequestBodySizeLimiter(app, conf)
    app = faults.FaultWrapper(app)
    app = PathDispatch(app, ("/healthcheck",), healthcheck_app(conf))
    app = microversions.MicroversionFilter(app)
    app = request_id.RequestId(app, conf)
    app = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    cors.set_defaults(allow_headers=CORS_ALLOW_HEADERS,
                      expose_headers=CORS_EXPOSE_HEADERS,
                      allow_methods=CORS_ALLOW_METHODS)
    app = cors.CORS(app, conf)
    return app
