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


"""A MariaDB Galera cluster of the test's own, on loopback.

:class:`GaleraCluster` starts N ``mariadbd`` with wsrep (Debian's
``galera-4`` provider), each with its own data directory under a
temporary directory and its own ports (SQL, group communication, IST,
SST), the first one bootstrapped (``--wsrep-new-cluster``), the others
joining it by rsync SST; it creates the database ``vmstate`` (user
root, no password, loopback only) and tears everything down afterwards.
Each node can be killed (SIGKILL) mid-test.

Unavailable (no ``mariadbd`` or no provider) is a skip, unless
``VMSTATE_TEST_DB_REQUIRED`` is set (CI sets it): then it is a failure.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

import fixtures
import pymysql

REQUIRED = bool(os.environ.get("VMSTATE_TEST_DB_REQUIRED"))
PROVIDER = os.environ.get("VMSTATE_TEST_GALERA_PROVIDER",
                          "/usr/lib/galera/libgalera_smm.so")
MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or \
    "/usr/bin/mariadb-install-db"
START_TIMEOUT = 180
DATABASE = "vmstate"


def missing() -> str | None:
    """Why no cluster can be started here, or ``None``."""
    for path in (MARIADBD, INSTALL_DB, PROVIDER):
        if not os.path.exists(path):
            return "Galera needs %s, which is missing" % path
    if shutil.which("rsync") is None:
        return "Galera's rsync SST needs rsync, which is missing"
    return None


def _user() -> str:
    """Who the servers run as: ``mysql`` when the tests run as root.

    As root, the rsync daemon of the joiners' state transfer would drop
    to ``nobody`` and could not write their data directories.
    """
    if os.geteuid() == 0:
        try:
            return pwd.getpwnam("mysql").pw_name
        except KeyError:
            return "root"
    return pwd.getpwuid(os.geteuid()).pw_name


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


class Node:
    """One ``mariadbd`` of the cluster."""

    def __init__(self, cluster: "GaleraCluster", index: int,
                 ports: list[int]) -> None:
        self.cluster = cluster
        self.index = index
        self.port, self.gcomm, self.ist, self.sst = ports
        self.dir = os.path.join(cluster.dir, "node%d" % index)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "error.log")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the database ``vmstate`` on this node."""
        return "mysql+pymysql://root@127.0.0.1:%d/%s" % (self.port,
                                                         DATABASE)

    def make_dirs(self) -> None:
        os.makedirs(self.data)
        if os.geteuid() == 0:
            for path in (self.dir, self.data):
                shutil.chown(path, self.cluster.user, self.cluster.user)

    def install(self) -> None:
        self.make_dirs()
        subprocess.run(
            [INSTALL_DB, "--no-defaults", "--datadir=%s" % self.data,
             "--user=%s" % self.cluster.user,
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True, timeout=300, cwd=self.dir)

    def command(self, bootstrap: bool) -> list[str]:
        peers = ",".join("127.0.0.1:%d" % n.gcomm
                         for n in self.cluster.nodes)
        provider_options = ";".join((
            "gmcast.listen_addr=tcp://127.0.0.1:%d" % self.gcomm,
            "ist.recv_addr=127.0.0.1:%d" % self.ist,
            "gcache.size=32M",
            # Loopback: notice a dead peer within seconds, not the
            # defaults' tens of seconds.
            "evs.suspect_timeout=PT3S", "evs.inactive_timeout=PT6S",
            "evs.keepalive_period=PT0.5S", "evs.inactive_check_period=PT0.5S",
            "pc.wait_prim_timeout=PT30S",
        ))
        command = [
            MARIADBD, "--no-defaults", "--user=%s" % self.cluster.user,
            "--datadir=%s" % self.data,
            "--socket=%s" % os.path.join(self.dir, "mysqld.sock"),
            "--pid-file=%s" % os.path.join(self.dir, "mysqld.pid"),
            "--log-error=%s" % self.log,
            "--bind-address=127.0.0.1", "--port=%d" % self.port,
            "--skip-name-resolve", "--performance-schema=OFF",
            "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-autoinc-lock-mode=2", "--binlog-format=ROW",
            "--default-storage-engine=InnoDB", "--max-connections=500",
            "--wsrep-on=ON", "--wsrep-provider=%s" % PROVIDER,
            "--wsrep-cluster-name=vmstate-test",
            "--wsrep-cluster-address=gcomm://%s" % peers,
            "--wsrep-node-name=node%d" % self.index,
            "--wsrep-node-address=127.0.0.1:%d" % self.gcomm,
            "--wsrep-provider-options=%s" % provider_options,
            "--wsrep-sst-method=rsync",
            "--wsrep-sst-receive-address=127.0.0.1:%d" % self.sst,
            "--wsrep-slave-threads=2",
        ]
        if bootstrap:
            command.append("--wsrep-new-cluster")
        return command

    def start(self, bootstrap: bool = False) -> None:
        out = open(os.path.join(self.dir, "stdout.log"), "a")
        try:
            self.process = subprocess.Popen(
                self.command(bootstrap), cwd=self.dir,
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()

    def connect(self, database: str | None = None) -> pymysql.Connection:
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root",
                               database=database, connect_timeout=5,
                               autocommit=True)

    def status(self, name: str) -> str | None:
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute("SHOW STATUS LIKE %s", (name,))
                row = cursor.fetchone()
                return None if row is None else row[1]
        finally:
            conn.close()

    def wait_synced(self, size: int | None = None,
                    timeout: float = START_TIMEOUT) -> None:
        """Until this node is Synced (in a cluster of ``size`` nodes)."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError("Galera node %d exited: %s" % (
                    self.index, self.tail()))
            try:
                state = self.status("wsrep_local_state_comment")
                members = int(self.status("wsrep_cluster_size") or 0)
                last = (state, members)
                if state == "Synced" and (size is None or members == size):
                    return
            except pymysql.err.MySQLError as err:
                last = err
            if time.monotonic() > deadline:
                raise AssertionError("Galera node %d not synced (%s): %s" % (
                    self.index, last, self.tail()))
            time.sleep(0.2)

    def tail(self) -> str:
        try:
            with open(self.log) as f:
                return f.read()[-3000:]
        except OSError as err:
            return str(err)

    def kill(self) -> None:
        """SIGKILL: the node dies as in a power cut."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class GaleraCluster(fixtures.Fixture):
    """``nodes``: a running Galera cluster of ``size`` nodes."""

    def __init__(self, size: int = 3) -> None:
        super().__init__()
        self.size = size

    def _setUp(self) -> None:
        why = missing()
        if why is not None:
            raise FileNotFoundError(why)
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.user = _user()
        # The servers' user must reach its directories.
        os.chmod(self.dir, 0o755)
        ports = _free_ports(4 * self.size)
        self.nodes = [Node(self, i, ports[4 * i:4 * i + 4])
                      for i in range(self.size)]
        self.addCleanup(self._stop)
        try:
            self._start()
        except AssertionError as err:
            raise AssertionError("%s\n%s" % (err, "\n".join(
                "--- node%d:\n%s" % (n.index, n.tail())
                for n in self.nodes))) from None
        conn = self.nodes[0].connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute("CREATE DATABASE %s" % DATABASE)
        finally:
            conn.close()

    def _start(self) -> None:
        first = self.nodes[0]
        first.install()
        first.start(bootstrap=True)
        first.wait_synced()
        for node in self.nodes[1:]:
            # Empty data directories: the joiners get everything by SST.
            node.make_dirs()
            node.start()
            node.wait_synced()
        first.wait_synced(self.size)

    def _stop(self) -> None:
        for node in self.nodes:
            node.kill()
