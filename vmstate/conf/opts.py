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

"""The option list for oslo-config-generator (namespace ``vmstate``)."""

from collections.abc import Sequence

from oslo_config import cfg

from vmstate.conf import api
from vmstate.conf import database
from vmstate.conf import events
from vmstate.conf import fake_compute
from vmstate.conf import guard
from vmstate.conf import lifecycle
from vmstate.conf import matrix
from vmstate.conf import paths

_MODULES = (paths, database, events, matrix, api, guard, fake_compute,
            lifecycle)


def list_opts() -> list[tuple[str | cfg.OptGroup | None, Sequence[cfg.Opt]]]:
    """Every vmstate option, grouped, for the sample config."""
    result: list[tuple[str | cfg.OptGroup | None, Sequence[cfg.Opt]]] = []
    for module in _MODULES:
        result.extend(module.list_opts().items())
    return result
