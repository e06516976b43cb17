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

"""``vmstate-api``: the REST service on a threaded WSGI server.

cheroot serves the application with a pool of ``[api] threads`` workers,
enough for hundreds of concurrent requests including long-poll waits. On
SIGTERM or SIGINT it stops accepting, lets requests in flight finish for up
to ``[api] shutdown_timeout`` seconds, and exits 0.

It also runs the lifecycle engine: its after-commit listeners
(notifications, queued actions, failure counts) and, unless ``[lifecycle]
run_sweeper`` is off, a sweeper thread that fires expired timeouts every
``[lifecycle] sweep_interval`` seconds and stops with the service.
"""

import sys

from vmstate import cmd
from vmstate import conf
from vmstate import exception
from vmstate.api import app
from vmstate.api.controllers import instances
from vmstate.cmd import failure
from vmstate.conf import CONF
from vmstate.lifecycle import sweeper
from vmstate.wsgi import server
from vmstate.wsgi import service

DESCRIPTION = (
    "vmstate-api: serve vmstate's REST API (instance states, allowed "
    "actions, history, waits) on [api] host:port (default "
    "127.0.0.1:9797) with a threaded WSGI server, and run the lifecycle "
    "engine and its sweeper thread. On the embedded SQLite database the "
    "schema is created at the first start; on PostgreSQL or MariaDB run "
    "'vmstate-manage db sync' first. SIGTERM or SIGINT stops it cleanly.")


def main(argv: list[str] | None = None) -> int:
    """``vmstate-api``: the exit status (1 with one line on stderr when
    it cannot start)."""
    return failure.run("vmstate-api", lambda: _serve(
        sys.argv[1:] if argv is None else argv))


def _serve(argv: list[str]) -> int:
    conf.parse_args(argv, description=DESCRIPTION,
                    epilog=cmd.config_epilog('vmstate-api'))
    failure.configured(CONF)
    service.check_listen_address(CONF.api.host)
    if CONF.api.max_waits >= CONF.api.threads:
        raise exception.StartError(
            "[api] max_waits (%d) must be below [api] threads (%d): "
            "the other threads serve short requests" % (
                CONF.api.max_waits, CONF.api.threads))
    service.prepare()
    periodic = None
    try:
        if CONF.lifecycle.run_sweeper:
            periodic = sweeper.Periodic()
            periodic.start()
        httpd = server.make_server(
            app.setup_app(CONF), CONF.api.host, CONF.api.port,
            CONF.api.threads, CONF.api.shutdown_timeout, "vmstate-api",
            client_socket_timeout=CONF.api.client_socket_timeout,
            header_timeout=CONF.api.header_timeout)
        # Long-poll waits end at once (503) rather than hold the shutdown.
        return server.serve(httpd, "vmstate-api",
                            on_stop=instances.STOPPING.set,
                            on_listening=failure.started)
    finally:
        if periodic is not None:
            periodic.stop(CONF.api.shutdown_timeout)
        service.stop()


if __name__ == "__main__":
    sys.exit(main())
