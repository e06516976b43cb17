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
import os

from oslo_config import cfg

path_opts = [
    cfg.StrOpt("state_path",
               default=os.path.join(os.path.expanduser("~"), ".local",
                                    "share", "vmstate"),
               sample_default="$HOME/.local/share/vmstate",
               help="Directory where vmstate keeps its state, such as the "
                    "embedded SQLite database used when [database] "
                    "connection is not set. Created on first use."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(path_opts)


def list_opts() -> Mapping[str | cfg.OptGroup | None, Sequence[cfg.Opt]]:
    return {None: path_opts}
