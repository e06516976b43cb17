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


"""RabbitMQ for the tests: the shared broker, or a private node.

:data:`URL` is the shared broker (``VMSTATE_TEST_RABBIT_URL``, default
``rabbit://guest:guest@127.0.0.1:5672/``; ``.ci/run`` starts it). Tests
that must restart a broker start a :class:`PrivateNode` of their own on
free loopback ports, never touching the shared one. Like the database
backends, what cannot be had is a skip, unless ``VMSTATE_TEST_DB_REQUIRED``
is set (CI sets it): then it is a failure.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.parse

import fixtures
from oslo_utils import uuidutils

REQUIRED = bool(os.environ.get("VMSTATE_TEST_DB_REQUIRED"))
URL = os.environ.get("VMSTATE_TEST_RABBIT_URL",
                     "rabbit://guest:guest@127.0.0.1:5672/")
RABBIT_BIN = "/usr/lib/rabbitmq/bin"
START_TIMEOUT = 120


def reachable(url: str = URL) -> str | None:
    """``None`` if something listens where ``url`` points, else why not."""
    parsed = urllib.parse.urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1",
                                       parsed.port or 5672), timeout=3):
            return None
    except OSError as err:
        return "RabbitMQ at %s is unreachable: %s" % (url, err)


def unavailable(test, why: str) -> None:
    """Skip ``test`` for ``why``, or fail it when CI requires RabbitMQ."""
    if REQUIRED:
        test.fail(why)
    test.skipTest(why)


def channel() -> str:
    """A topic of the test's own on a shared broker."""
    return "vmstate_test_%s" % uuidutils.generate_uuid(dashed=False)[:12]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateNode(fixtures.Fixture):
    """A RabbitMQ node of the test's own, that it may stop and start.

    Its own node name, ports, data and Erlang cookie (``HOME`` is its
    directory), so ``rabbitmqctl`` against it cannot reach the shared
    node. ``url`` is its transport URL. :meth:`restart` stops and starts
    the broker application (every connection dropped, every transient
    queue deleted) in a few seconds, where a whole node takes longer.
    """

    def _setUp(self) -> None:
        server = os.path.join(RABBIT_BIN, "rabbitmq-server")
        if not os.path.exists(server):
            raise FileNotFoundError("RabbitMQ is not installed (%s)" % server)
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.port = free_port()
        self.name = "vmstate%s@localhost" % uuidutils.generate_uuid(
            dashed=False)[:8]
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
            f.write("listeners.tcp.1 = 127.0.0.1:%d\nloopback_users = none\n"
                    % self.port)
        with open(os.path.join(self.dir, "enabled_plugins"), "w") as f:
            f.write("[].\n")
        self.env = dict(
            os.environ, HOME=self.dir, RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(free_port()),
            RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"),
            RABBITMQ_LOG_BASE=os.path.join(self.dir, "log"),
            RABBITMQ_CONFIG_FILE=os.path.join(self.dir, "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.dir,
                                                       "enabled_plugins"),
            RABBITMQ_CONF_ENV_FILE="/dev/null",
            RABBITMQ_PID_FILE=os.path.join(self.dir, "pid"),
            ERL_EPMD_ADDRESS="127.0.0.1")
        self.env.pop("RABBITMQ_ALLOW_INPUT", None)
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.addCleanup(self.log.close)
        self.process = subprocess.Popen(
            [server], env=self.env, cwd=self.dir, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.addCleanup(self._kill)
        self.url = "rabbit://guest:guest@127.0.0.1:%d/" % self.port
        self.wait_until_up()

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while reachable(self.url) is not None:
            if self.process.poll() is not None or \
                    time.monotonic() > deadline:
                with open(self.log.name) as f:
                    raise AssertionError("The private RabbitMQ node did not "
                                         "start: %s" % f.read()[-2000:])
            time.sleep(0.2)

    def ctl(self, *args: str) -> None:
        subprocess.run([os.path.join(RABBIT_BIN, "rabbitmqctl"), "-n",
                        self.name, *args], env=self.env, check=True,
                       capture_output=True, timeout=120)

    def stop_app(self) -> None:
        """Stop the broker (the node stays, to start it again)."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.wait_until_up()

    def _kill(self) -> None:
        # The node runs in its own session: end that whole group, and
        # only it (beam, its port programs, the wrapper script).
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 15)
                self.process.wait(30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, 9)
                self.process.wait(10)


def private_node(test) -> PrivateNode:
    """A :class:`PrivateNode` for ``test``; skip (or fail) without one."""
    if shutil.which("erl") is None and not os.path.exists(
            os.path.join(RABBIT_BIN, "rabbitmq-server")):
        unavailable(test, "RabbitMQ is not installed")
    return test.useFixture(PrivateNode())
