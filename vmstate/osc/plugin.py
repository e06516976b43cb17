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

"""The module python-openstackclient loads for ``openstack vmstate``.

Registered in the ``openstack.cli.extension`` entry-point namespace as
``instance_state``; its commands are in ``openstack.instance_state.v1``.
osc-lib's client manager calls :func:`make_client` on first use, with the
session it authenticated (Keystone, or ``--os-auth-type none`` with
``--os-endpoint``).
"""

import argparse
import re
from typing import Any

from osc_lib import utils

from vmstate.osc import client

DEFAULT_API_VERSION = "1"
API_VERSION_OPTION = "os_instance_state_api_version"
API_NAME = "instance_state"
API_VERSIONS = {"1": "vmstate.osc.client.Client"}


def make_client(instance: Any) -> client.Client:
    """The instance-state client of ``instance`` (osc-lib's
    ClientManager): its session, and the endpoint of the service type
    ``instance-state`` from the catalog (or ``--os-endpoint``)."""
    endpoint = instance.get_endpoint_for_service_type(
        client.SERVICE_TYPE, region_name=instance.region_name,
        interface=instance.interface)
    return client.Client(instance.session, endpoint,
                         instance._api_version[API_NAME])


def check_api_version(version: str) -> bool:
    """Whether ``version`` is one this plugin speaks (``1`` or ``1.X``);
    osc-lib warns about any other and the commands keep the default."""
    return re.fullmatch(r"1(\.\d+)?", version) is not None


def build_option_parser(parser: argparse.ArgumentParser
                        ) -> argparse.ArgumentParser:
    """The global option ``--os-instance-state-api-version``."""
    parser.add_argument(
        "--os-instance-state-api-version",
        metavar="<instance-state-api-version>",
        default=utils.env("OS_INSTANCE_STATE_API_VERSION",
                          default=DEFAULT_API_VERSION),
        help="instance-state API version: 1 (microversion 1.0) or 1.X "
             "(Env: OS_INSTANCE_STATE_API_VERSION)")
    return parser
