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

events_group = cfg.OptGroup(
    "events", title="Event bus",
    help="How committed state transitions reach waiters: in this process "
         "always, and across processes through the driver's channel.")

events_opts = [
    cfg.StrOpt("driver", default="local",
               help="Event bus driver (an entry point in the "
                    "vmstate.event_bus namespace). local: waiters hear of "
                    "the transitions committed by their own process at "
                    "once, of other processes' only through the "
                    "resync_interval safety net. postgresql: also across "
                    "processes, through PostgreSQL LISTEN/NOTIFY on the "
                    "[database] connection, which must then be "
                    "PostgreSQL. messaging: also across processes, "
                    "through a fanout on the oslo.messaging transport "
                    "(RabbitMQ), with any database. An unknown name or a "
                    "driver that cannot work with the configuration stops "
                    "the service at start."),
    cfg.StrOpt("channel", default="vmstate_events",
               regex=r"^[a-z_][a-z0-9_]{0,62}$",
               help="The PostgreSQL NOTIFY channel (postgresql driver), or "
                    "the fanout topic (messaging driver). Services sharing "
                    "a database must use the same one."),
    cfg.StrOpt("transport_url", secret=True,
               help="The oslo.messaging transport URL of the messaging "
                    "driver, for example rabbit://user:pass@host1:5672,"
                    "user:pass@host2:5672/. Unset: oslo.messaging's own "
                    "[DEFAULT] transport_url."),
    cfg.FloatOpt("probe_interval", default=1.0, min=0.05,
                 help="Seconds a process sends nothing on the messaging "
                      "driver's channel before it sends a probe. Messages "
                      "are numbered, so a receiver that misses one (a "
                      "broker restart) makes its waiters re-read within "
                      "about this long once messages flow again; and a "
                      "process that hears none of its own probes for "
                      "three intervals logs that the channel is down."),
    cfg.FloatOpt("resync_interval", default=10.0, min=0.1,
                 help="Seconds a waiter may go without hearing of its "
                      "instance before it re-reads the instance's version "
                      "(one query), in case a notification was lost: a "
                      "safety net that bounds how late a lost wake-up can "
                      "be, not the normal path. With the local driver it "
                      "is how a waiter hears of other processes' "
                      "transitions."),
    cfg.FloatOpt("connect_timeout", default=5.0, min=0,
                 help="Seconds a first waiter waits for the driver's "
                      "channel to be listening before it goes on with the "
                      "safety net only (postgresql and messaging "
                      "drivers)."),
    cfg.FloatOpt("reconnect_interval", default=1.0, min=0.01,
                 help="Seconds between attempts to re-open a lost "
                      "channel; once it is back, every waiter re-reads "
                      "its instance (postgresql driver); seconds the "
                      "messaging driver waits after a failed send before it "
                      "tries again."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(events_group)
    conf.register_opts(events_opts, group=events_group)


def list_opts() -> Mapping[str | cfg.OptGroup | None, Sequence[cfg.Opt]]:
    return {events_group: events_opts}
