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

guard_group = cfg.OptGroup(
    "guard", title="The compute guard filter",
    help="vmstate.api.middleware:ComputeGuard in a compute API's paste "
         "pipeline.")

guard_opts = [
    cfg.StrOpt("state_source", default="vmstate",
               help="Where the filter reads an instance's current state: a "
                    "plugin in the vmstate.state_source namespace. "
                    "vmstate: vmstate's own store ([database]); nova_db: "
                    "read-only SQL on a Nova database's instances table "
                    "([nova_db] connection)."),
    cfg.BoolOpt("reserve", default=False,
                help="Begin the action with vmstate's compare-and-swap, "
                     "in the caller's project, before passing the request "
                     "on, so two concurrent requests cannot both pass. The "
                     "begun task is handed to the service in the WSGI "
                     "environ (vmstate.reservation), which continues it; "
                     "unless the service answers a success and sends its "
                     "whole answer (an error status, an exception, a "
                     "client gone), the reservation is released. Needs "
                     "state_source = vmstate."),
    cfg.StrOpt("nova_max_microversion", default="2.104",
               regex=r"^[1-9][0-9]*\.(0|[1-9][0-9]*)$",
               help="The highest compute microversion of the Nova behind "
                    "the filter (Nova 34: 2.104), which 'latest' means. "
                    "The filter passes requests for higher ones untouched "
                    "(Nova answers them)."),
    cfg.BoolOpt("soft_delete", default=False,
                help="Guard DELETE /servers/{id} as soft_delete, for "
                     "deployments that keep deleted instances for a "
                     "reclaim interval."),
]

nova_db_group = cfg.OptGroup(
    "nova_db", title="A Nova database as the state source",
    help="Used by the nova_db state source; the guard only reads.")

nova_db_opts = [
    cfg.StrOpt("connection", secret=True,
               help="SQLAlchemy URL of the Nova cell database whose "
                    "instances table holds vm_state and task_state, e.g. "
                    "mysql+pymysql://nova:secret@db/nova."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(guard_group)
    conf.register_opts(guard_opts, group=guard_group)
    conf.register_group(nova_db_group)
    conf.register_opts(nova_db_opts, group=nova_db_group)


def list_opts() -> Mapping[str | cfg.OptGroup | None, Sequence[cfg.Opt]]:
    return {guard_group: guard_opts, nova_db_group: nova_db_opts}
