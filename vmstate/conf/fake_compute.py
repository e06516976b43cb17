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

from collections.abc import Mapping
from collections.abc import Sequence

from oslo_config import cfg

fake_compute_group = cfg.OptGroup(
    "fake_compute", title="vmstate-fake-compute",
    help="The Nova-compatible compute API used to try the guard.")

fake_compute_opts = [
    cfg.HostAddressOpt("host", default="127.0.0.1",
                       help="Address vmstate-fake-compute listens on."),
    cfg.PortOpt("port", default=8774,
                help="Port vmstate-fake-compute listens on."),
    cfg.FloatOpt("step_seconds", default=1.0, min=0.0,
                 help="How long the fake driver spends on each step of a "
                      "task (each task_state it walks through)."),
    cfg.IntOpt("threads", default=64, min=4,
               help="Worker threads of the fake compute API's server."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(fake_compute_group)
    conf.register_opts(fake_compute_opts, group=fake_compute_group)


def list_opts() -> Mapping[str | cfg.OptGroup | None, Sequence[cfg.Opt]]:
    return {fake_compute_group: fake_compute_opts}
