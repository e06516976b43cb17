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

matrix_group = cfg.OptGroup(
    "matrix", title="Allowed-actions matrix",
    help="Which actions may start from each (vm_state, task_state).")

matrix_opts = [
    cfg.ListOpt("plugins", default=["nova"],
                help="Matrix plugins (entry points in the vmstate.matrix "
                     "namespace) applied in this order; later plugins "
                     "override earlier ones. Shipped: nova (today's Nova "
                     "guards) and blueprint (the 2011 blueprint's table). "
                     "An unknown name stops the service at start."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(matrix_group)
    conf.register_opts(matrix_opts, group=matrix_group)


def list_opts() -> Mapping[str | cfg.OptGroup | None, Sequence[cfg.Opt]]:
    return {matrix_group: matrix_opts}
