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

"""Serving a WSGI application with cheroot until SIGTERM.

Shared by ``vmstate-api`` and ``vmstate-fake-compute``: a pool of worker
threads (enough for long-poll waits), the bound address printed for
scripts and tests that ask for port 0, and a clean stop on SIGTERM or
SIGINT that lets requests in flight finish for a bounded time.
"""

from collections.abc import Callable
import signal
import threading
from typing import Any

from cheroot import wsgi
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# Long-poll waits hold a connection longer than cheroot's default allows.
SOCKET_TIMEOUT = 330


def make_server(application: Callable[..., Any], host: str, port: int,
                threads: int, shutdown_timeout: float,
                name: str) -> wsgi.Server:
    server = wsgi.Server((host, port), application, numthreads=threads,
                         max=threads, request_queue_size=128,
                         server_name=name, shutdown_timeout=shutdown_timeout)
    server.timeout = SOCKET_TIMEOUT
    return server


def serve(server: wsgi.Server, name: str,
          on_stop: Callable[[], None] | None = None) -> int:
    """Run ``server`` until a signal stops it; the exit status.

    :param on_stop: called when the signal comes, before the server waits
        for the requests in flight (to end long-polls at once).
    """
    server.prepare()
    host, port = server.bind_addr[:2]
    LOG.info("%s listening on http://%s:%s/", name, host, port)
    print("%s listening on http://%s:%s/" % (name, host, port), flush=True)

    stopping = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        LOG.info("%s got signal %d, stopping", name, signum)
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    serving = threading.Thread(target=server.serve, name=name, daemon=True)
    serving.start()
    while not stopping.wait(1.0):
        if not serving.is_alive():
            LOG.error("%s server thread ended unexpectedly", name)
            return 1
    if on_stop is not None:
        on_stop()
    server.stop()
    LOG.info("%s stopped", name)
    return 0
