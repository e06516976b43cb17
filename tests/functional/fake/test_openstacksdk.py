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

"""openstacksdk against vmstate-fake-compute, the guard in its pipeline.

A real OpenStack client, unchanged, meets vmstate's 409s as Nova's own.
"""

import os
import re
import shutil
import subprocess
import time

import fixtures
import openstack
from openstack import exceptions
import testtools

STEP = 0.2
WAIT = 30


class FakeCompute(fixtures.Fixture):
    """``vmstate-fake-compute`` on a free port, on a temporary SQLite file,
    started from a temporary directory with the installed script.

    :param extra_conf: more configuration file text (``[guard] reserve``,
        ``[database] connection``).
    """

    def __init__(self, extra_conf=""):
        super().__init__()
        self.extra_conf = extra_conf

    def _setUp(self):
        self.dir = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(self.dir, "vmstate.conf")
        with open(conf, "w") as f:
            f.write("[DEFAULT]\nstate_path = %s\n[fake_compute]\nport = 0\n"
                    "step_seconds = %s\n%s" % (self.dir, STEP,
                                               self.extra_conf))
        command = shutil.which("vmstate-fake-compute")
        if command is None:
            raise AssertionError("vmstate-fake-compute is not installed")
        self.log = open(os.path.join(self.dir, "fake.log"), "w+")
        self.addCleanup(self.log.close)
        self.process = subprocess.Popen(
            [command, "--config-file", conf], cwd=self.dir,
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.addCleanup(self._stop)
        deadline = time.monotonic() + 60
        while True:
            line = self.process.stdout.readline()
            found = re.search(r"listening on (http://[^/]+)/", line)
            if found:
                self.url = found.group(1)
                break
            if not line or time.monotonic() > deadline:
                self.log.seek(0)
                raise AssertionError("vmstate-fake-compute did not start: "
                                     + self.log.read())

    def _stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process.stdout.close()


class TestOpenStackSDK(testtools.TestCase):

    #: More configuration for the process.
    EXTRA_CONF = ""

    def setUp(self):
        super().setUp()
        self.fake = self.useFixture(FakeCompute(self.EXTRA_CONF))
        endpoint = self.fake.url + "/v2.1/"
        self.conn = openstack.connection.Connection(
            auth_type="none", auth={"endpoint": endpoint},
            compute_endpoint_override=endpoint)
        self.compute = self.conn.compute

    def create(self, name="vm"):
        return self.compute.create_server(name=name, flavor_id="1",
                                          image_id="cirros")

    def wait(self, server, status):
        return self.compute.wait_for_server(server, status=status,
                                            interval=STEP / 2, wait=WAIT)

    def test_lifecycle_and_novas_conflicts(self):
        server = self.wait(self.create(), "ACTIVE")
        self.assertEqual(("active", None, 1), (server.vm_state,
                                                server.task_state,
                                                server.power_state))
        self.compute.stop_server(server)
        server = self.wait(server, "SHUTOFF")
        self.assertEqual(4, server.power_state)

        err = self.assertRaises(exceptions.ConflictException,
                                self.compute.stop_server, server)
        self.assertEqual(409, err.status_code)
        self.assertIn("Cannot 'stop' instance %s while it is in vm_state "
                      "stopped" % server.id, str(err))

        err = self.assertRaises(exceptions.ConflictException,
                                self.compute.pause_server, server)
        self.assertIn("Cannot 'pause' instance %s while it is in vm_state "
                      "stopped" % server.id, str(err))

        self.compute.start_server(server)
        server = self.wait(server, "ACTIVE")
        self.compute.reboot_server(server, "SOFT")
        err = self.assertRaises(exceptions.ConflictException,
                                self.compute.reboot_server, server, "SOFT")
        self.assertIn("task_state", str(err))
        server = self.wait(server, "ACTIVE")
        self.compute.delete_server(server)
        self.compute.wait_for_delete(server, interval=STEP / 2, wait=WAIT)

    def test_delete_during_build_never_becomes_active(self):
        server = self.create("doomed")
        self.assertEqual("BUILD", self.compute.get_server(server).status)
        self.compute.delete_server(server)
        seen = set()
        # Watch well past the time the build would have needed.
        deadline = time.monotonic() + 10 * STEP
        while time.monotonic() < deadline:
            try:
                seen.add(self.compute.get_server(server).status)
            except exceptions.NotFoundException:
                seen.add("GONE")
            time.sleep(STEP / 4)
        self.assertNotIn("ACTIVE", seen)
        self.assertIn("GONE", seen)
        self.assertRaises(exceptions.NotFoundException,
                          self.compute.get_server, server)
        self.assertEqual([], [s.id for s in self.compute.servers()
                              if s.id == server.id])


class TestOpenStackSDKReserving(TestOpenStackSDK):
    """The same, with the guard reserving each action before the API runs:
    the API continues the guard's task, so the client sees no difference
    (it used to get 409 for its own reboot, stop or pause)."""

    EXTRA_CONF = "[guard]\nreserve = true\n"
