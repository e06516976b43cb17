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

api_group = cfg.OptGroup("api", title="vmstate-api service")

api_opts = [
    cfg.HostAddressOpt("host", default="127.0.0.1",
                       help="Address vmstate-api listens on."),
    cfg.PortOpt("port", default=9797, help="Port vmstate-api listens on."),
    cfg.StrOpt("auth_strategy", default="noauth",
               choices=[("noauth", "identity from X-Project-Id, X-User-Id "
                                   "and X-Roles; admin when absent"),
                        ("keystone", "keystonemiddleware auth_token")],
               help="How requests are authenticated."),
    cfg.BoolOpt("noauth_allow_remote", default=False,
                help="Let vmstate-api listen on an address other than "
                     "loopback under auth_strategy = noauth. noauth "
                     "believes whatever identity headers a caller sends "
                     "(and a request without them is an admin), so "
                     "anyone who reaches the port controls every "
                     "instance: only for a test bed behind its own "
                     "firewall."),
    cfg.URIOpt("public_endpoint", schemes=["http", "https"],
               help="The URL clients reach vmstate-api at (with any path "
                    "prefix), for every link it answers: version "
                    "discovery, Location, next. Unset, links come from "
                    "the request (its Host header, or a trusted proxy's "
                    "X-Forwarded-* headers with [oslo_middleware] "
                    "enable_proxy_headers_parsing); set it whenever "
                    "clients come through a proxy or load balancer."),
    cfg.IntOpt("max_limit", default=1000, min=1,
               help="The most instances one list request returns; a "
                    "larger limit is lowered to this, and a list without "
                    "a limit is paged at this size."),
    cfg.IntOpt("threads", default=256, min=8,
               help="Worker threads of vmstate-api's WSGI server: the "
                    "requests it serves at once, long-poll waits "
                    "included."),
    cfg.IntOpt("max_wait", default=300, min=1, max=3600,
               help="The longest, in seconds, one GET "
                    "/v1/instances/{uuid}/wait long-poll waits; a longer "
                    "timeout is lowered to this (the answer is then "
                    "\"timeout\" and the client waits again), and a wait "
                    "without a timeout lasts this long. Each wait holds "
                    "one of the [api] threads meanwhile."),
    cfg.IntOpt("max_waits", default=224, min=1,
               help="The most long-poll waits vmstate-api holds at once; "
                    "one more answers 429 overLimit with Retry-After. "
                    "Must be below [api] threads: the other threads "
                    "always serve short requests (shows, actions, "
                    "/healthcheck)."),
    cfg.IntOpt("max_waits_per_project", default=200, min=1,
               help="The most long-poll waits the callers of one project "
                    "hold at once (429 overLimit beyond), so that one "
                    "project cannot take every wait."),
    cfg.IntOpt("client_socket_timeout", default=30, min=1,
               help="Seconds vmstate-api waits for a client's bytes: the "
                    "request line, headers and body of a request, and an "
                    "idle keep-alive connection before closing it. "
                    "Independent of long-poll waits ([api] max_wait). An "
                    "idle connection holds no worker thread."),
    cfg.IntOpt("header_timeout", default=20, min=1,
               help="Seconds a client may take to send a request's line "
                    "and headers, from their first byte; a slower client "
                    "is disconnected. client_socket_timeout bounds only "
                    "the silence between two bytes: without this, a "
                    "client sending one byte a second (\"slowloris\") "
                    "holds a worker thread for as long as it likes. As "
                    "nginx's client_header_timeout."),
    cfg.FloatOpt("policy_reload_interval", default=1.0, min=0,
                 help="Seconds between two looks at the policy files "
                      "([oslo_policy] policy_file and policy_dirs) for "
                      "changes. oslo.policy looks on every check, which "
                      "costs each request a stat of every file in every "
                      "configuration directory; a change is seen at most "
                      "this late. 0 looks on every check, as oslo.policy "
                      "does."),
    cfg.IntOpt("shutdown_timeout", default=10, min=0,
               help="Seconds vmstate-api waits for requests in flight "
                    "after SIGTERM before it exits."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(api_group)
    conf.register_opts(api_opts, group=api_group)


def list_opts() -> Mapping[str | cfg.OptGroup | None, Sequence[cfg.Opt]]:
    return {api_group: api_opts}
