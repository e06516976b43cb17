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

"""Starting a process that serves: one sequence for every entry point.

``vmstate-api``, the WSGI application for external servers and
``vmstate-fake-compute`` all change instance state, so each needs the same
things before its first request: a schema at head, the event bus that
wakes waiters, and the lifecycle engine (queue drains, failure counters,
notifications). A mistake in any of them stops the process at start with
one clear line, not at its first request.
"""

import ipaddress
import socket

from oslo_config import cfg
from sqlalchemy.engine import make_url

from vmstate import events
from vmstate import exception
from vmstate.conf import CONF
from vmstate.db import migration
from vmstate.lifecycle import engine


def prepare() -> None:
    """Make this process ready to serve.

    The embedded SQLite database gets its schema on first start; any
    other database must have been migrated (``vmstate-manage db sync``):
    a service does not migrate a shared database behind its operator.

    :raises StartError: the schema is behind, the event bus or the
        lifecycle configuration is wrong.
    """
    if make_url(CONF.database.connection).get_backend_name() == "sqlite":
        migration.ensure_schema()
    else:
        current, head = migration.version(), migration.head()
        if current != head:
            raise exception.StartError(
                "the database schema is at %s, not %s: run "
                "'vmstate-manage db sync' first" % (current, head))
    try:
        events.get()
    except exception.EventBusError as err:
        raise exception.StartError(str(err)) from err
    try:
        engine.install()
    except (exception.MatrixError, cfg.Error) as err:
        raise exception.StartError(str(err)) from err


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
        for info in infos)


def check_listen_address(host: str) -> None:
    """Refuse a noauth vmstate-api on anything but loopback.

    :raises StartError: ``[api] auth_strategy = noauth`` on a non-loopback
        ``host`` without ``[api] noauth_allow_remote``.
    """
    if (CONF.api.auth_strategy == "noauth"
            and not CONF.api.noauth_allow_remote and not is_loopback(host)):
        raise exception.StartError(
            "refusing to listen on %s with [api] auth_strategy = noauth: "
            "anyone who can reach it could act as any project's admin; use "
            "auth_strategy = keystone, a loopback [api] host, or set [api] "
            "noauth_allow_remote = true" % host)


def stop() -> None:
    """Undo :func:`prepare`'s process-wide parts (listeners, senders)."""
    engine.uninstall()
