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
"""

import signal
import sys
import threading
from typing import Any

from cheroot import wsgi
from oslo_log import log as logging

from vmstate.api import app as api_app
from vmstate import conf
from vmstate.conf import CONF
from vmstate.db import migration

LOG = logging.getLogger(__name__)


def make_server(application: Any) -> wsgi.Server:
    server = wsgi.Server(
        (CONF.api.host, CONF.api.port), application,
        numthreads=CONF.api.threads, max=CONF.api.threads,
        request_queue_size=128, server_name="vmstate-api",
        shutdown_timeout=CONF.api.shutdown_timeout)
    # Long-poll waits keep connections open longer than cheroot's default.
    server.timeout = 330
    return server


def main(argv: list[str] | None = None) -> int:
    conf.parse_args(sys.argv[1:] if argv is None else argv)
    migration.ensure_schema()
    server = make_server(api_app.setup_app(CONF))
    server.prepare()
    host, port = server.bind_addr[:2]
    LOG.info("vmstate-api listening on http://%s:%s/ (%d threads)",
             host, port, CONF.api.threads)
    # Printed for scripts and tests that start on port 0.
    print("vmstate-api listening on http://%s:%s/" % (host, port),
          flush=True)

    stopping = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        LOG.info("vmstate-api got signal %d, stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    serving = threading.Thread(target=server.serve, name="vmstate-api",
                               daemon=True)
    serving.start()
    while not stopping.wait(1.0):
        if not serving.is_alive():
            LOG.error("vmstate-api server thread ended unexpectedly")
            return 1
    server.stop()
    LOG.info("vmstate-api stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
