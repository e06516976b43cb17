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

"""The real ``openstack`` CLI (python-openstackclient) against
``vmstate-fake-compute``, configured by the clouds.yaml the project ships
(``etc/vmstate/clouds.yaml``), with only the port changed."""

import json
import os
import shutil
import subprocess

import fixtures
import openstack
import testtools
import yaml

from tests.functional.fake import test_openstacksdk

CLOUDS_YAML = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                           os.pardir, "etc", "vmstate", "clouds.yaml")
# One CLI run loads every plugin of python-openstackclient: seconds each.
CLI_TIMEOUT = 180


class OpenStackCLI(fixtures.Fixture):
    """Runs ``openstack --os-cloud NAME ...`` with a clouds.yaml of its own.
    """

    def __init__(self, cloud, endpoint):
        super().__init__()
        self.cloud = cloud
        self.endpoint = endpoint

    def _setUp(self):
        self.command = shutil.which("openstack")
        if self.command is None:
            raise AssertionError("the openstack CLI is not installed "
                                 "(python-openstackclient, test-requirements)")
        with open(CLOUDS_YAML) as f:
            clouds = yaml.safe_load(f)
        clouds["clouds"][self.cloud]["auth"]["endpoint"] = self.endpoint
        directory = self.useFixture(fixtures.TempDir()).path
        self.clouds_yaml = os.path.join(directory, "clouds.yaml")
        with open(self.clouds_yaml, "w") as f:
            yaml.safe_dump(clouds, f)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("OS_")}
        self.env["OS_CLIENT_CONFIG_FILE"] = self.clouds_yaml
        self.cwd = directory

    def run(self, *args, check=True):
        """``(returncode, stdout, stderr)`` of one command."""
        done = subprocess.run(
            [self.command, "--os-cloud", self.cloud] + list(args),
            env=self.env, cwd=self.cwd, capture_output=True, text=True,
            timeout=CLI_TIMEOUT)
        if check and done.returncode != 0:
            raise AssertionError("openstack %s exited %d: %s" % (
                " ".join(args), done.returncode, done.stderr))
        return done.returncode, done.stdout, done.stderr

    def json(self, *args):
        return json.loads(self.run(*(args + ("-f", "json")))[1])


class TestServersFromTheCLI(testtools.TestCase):

    def setUp(self):
        super().setUp()
        fake = self.useFixture(test_openstacksdk.FakeCompute())
        endpoint = fake.url + "/v2.1/"
        self.cli = self.useFixture(OpenStackCLI("vmstate-fake", endpoint))
        # Waiting for a status between commands through the SDK: one
        # process instead of a CLI run per poll.
        self.compute = openstack.connection.Connection(
            auth_type="none", auth={"endpoint": endpoint},
            compute_endpoint_override=endpoint).compute

    def wait(self, server_id, status):
        return self.compute.wait_for_server(
            self.compute.get_server(server_id), status=status,
            interval=test_openstacksdk.STEP / 2,
            wait=test_openstacksdk.WAIT)

    def test_create_list_show_stop_start_reboot_delete(self):
        # Image and flavor by name: the lookups the CLI makes first.
        created = self.cli.json("server", "create", "--image", "cirros",
                                "--flavor", "m1.tiny", "--wait", "vm1")
        self.assertEqual(("vm1", "ACTIVE"), (created["name"],
                                             created["status"]))
        uuid = created["id"]

        listed = self.cli.json("server", "list")
        self.assertEqual([(uuid, "vm1", "ACTIVE", "cirros", "m1.tiny")],
                         [(s["ID"], s["Name"], s["Status"], s["Image"],
                           s["Flavor"]) for s in listed])

        shown = self.cli.json("server", "show", "vm1")
        self.assertEqual((uuid, "active", None),
                         (shown["id"], shown["OS-EXT-STS:vm_state"],
                          shown["OS-EXT-STS:task_state"]))

        self.cli.run("server", "stop", "vm1")
        self.wait(uuid, "SHUTOFF")
        # The guard's 409, as Nova words it, on the CLI's one error line.
        code, _, err = self.cli.run("server", "stop", "vm1", check=False)
        self.assertEqual(1, code)
        self.assertIn("Cannot 'stop' instance %s while it is in vm_state "
                      "stopped" % uuid, err)

        self.cli.run("server", "start", uuid)
        self.wait(uuid, "ACTIVE")
        self.cli.run("server", "reboot", "--wait", uuid)
        self.assertEqual("ACTIVE", self.compute.get_server(uuid).status)

        self.cli.run("server", "delete", "--wait", "vm1")
        self.assertEqual([], self.cli.json("server", "list"))

    def test_unknown_image_and_flavor(self):
        code, _, err = self.cli.run("server", "create", "--image", "nope",
                                    "--flavor", "1", "vm", check=False)
        self.assertEqual(1, code)
        self.assertIn("nope", err)
        code, _, err = self.cli.run("server", "create", "--image", "cirros",
                                    "--flavor", "m9.huge", "vm",
                                    check=False)
        self.assertEqual(1, code)
        self.assertIn("m9.huge", err)
        self.assertEqual([], list(self.compute.servers()))
