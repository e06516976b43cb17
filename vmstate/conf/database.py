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
import copy

from oslo_config import cfg
from oslo_db import options as db_options

# The embedded SQLite default; $state_path is interpolated by oslo.config.
DEFAULT_CONNECTION = "sqlite:///$state_path/vmstate.sqlite"


def register_opts(conf: cfg.ConfigOpts) -> None:
    db_options.set_defaults(conf, connection=DEFAULT_CONNECTION)


def list_opts() -> Mapping[str | cfg.OptGroup | None, Sequence[cfg.Opt]]:
    # Copies, so the sample shows vmstate's default without changing
    # oslo.db's option objects for other projects in the same process.
    opts = copy.deepcopy(db_options.database_opts)
    for opt in opts:
        if opt.dest == "connection":
            opt.default = DEFAULT_CONNECTION
    return {"database": opts}
