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

"""``vmstate-fake-compute``: a Nova-compatible compute API behind the guard.

Assembles the paste pipeline shipped in the package (``api-paste.ini``,
also in ``etc/vmstate/``): request ids, fault bodies, the size limit, the
vmstate compute guard and the fake compute API, on ``[fake_compute]
host``:``port``. It shares vmstate's store (``[database]``), so a
``vmstate-api`` on the same configuration shows the same instances.
"""

from collections.abc import Callable
from importlib import resources
import sys
from typing import Any

from paste import deploy

from vmstate import cmd
from vmstate import conf
from vmstate.cmd import failure
from vmstate.conf import CONF
from vmstate.wsgi import server
from vmstate.wsgi import service

NAME = "vmstate-fake-compute"
DESCRIPTION = (
    "vmstate-fake-compute: serve a Nova-compatible compute API (servers, "
    "server actions, Nova's status fields) with vmstate's compute guard "
    "in its paste pipeline, for trying the guard without a cloud. It "
    "listens on [fake_compute] host:port (default 127.0.0.1:8774; set "
    "'port' in the [fake_compute] section to change it) and keeps its "
    "servers in vmstate's store ([database]); its fake driver walks each "
    "task through its steps, [fake_compute] step_seconds apart.")


def load_app(name: str = "osapi_compute") -> Callable[..., Any]:
    """The compute pipeline from the packaged ``api-paste.ini``."""
    ini = resources.files("vmstate.fake").joinpath("api-paste.ini")
    with resources.as_file(ini) as path:
        app: Callable[..., Any] = deploy.loadapp("config:%s" % path,
                                                 name=name)
        return app


def main(argv: list[str] | None = None) -> int:
    """``vmstate-fake-compute``: the exit status (1 with one line on
    stderr when it cannot start)."""
    return failure.run(NAME, lambda: _serve(
        sys.argv[1:] if argv is None else argv))


def _serve(argv: list[str]) -> int:
    conf.parse_args(argv, description=DESCRIPTION,
                    epilog=cmd.config_epilog('vmstate-fake-compute'))
    failure.configured(CONF)
    service.prepare()
    try:
        httpd = server.make_server(
            load_app(), CONF.fake_compute.host, CONF.fake_compute.port,
            CONF.fake_compute.threads, 5, NAME)
        return server.serve(httpd, NAME, on_listening=failure.started)
    finally:
        service.stop()


if __name__ == "__main__":
    sys.exit(main())
