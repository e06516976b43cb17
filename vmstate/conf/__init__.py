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

"""vmstate's oslo.config options, on vmstate's own configuration object.

Not oslo.config's global ``cfg.CONF``: vmstate also runs inside other
services (the guard decorator in a compute API, the guard filter in Nova's
paste pipeline), and there ``cfg.CONF`` is the host's, with the host's
``[database]``. vmstate reads its own files into its own object.

Each module here holds one group; :mod:`vmstate.conf.opts` lists them for
the sample-config generator.
"""

from oslo_config import cfg
from oslo_log import log

from vmstate.conf import api
from vmstate.conf import database
from vmstate.conf import events
from vmstate.conf import fake_compute
from vmstate.conf import guard
from vmstate.conf import lifecycle
from vmstate.conf import matrix
from vmstate.conf import paths

CONF = cfg.ConfigOpts()

paths.register_opts(CONF)
database.register_opts(CONF)
events.register_opts(CONF)
matrix.register_opts(CONF)
api.register_opts(CONF)
fake_compute.register_opts(CONF)
guard.register_opts(CONF)
lifecycle.register_opts(CONF)


def parse_args(argv: list[str], default_config_files: list[str] | None = None,
               setup_logging: bool = True, description: str | None = None,
               epilog: str | None = None) -> None:
    """Parse the command line and config files into CONF, set up logging.

    Every vmstate program starts with this, so they all read the same files
    (``--config-file``, default ``/etc/vmstate/vmstate.conf`` when present)
    and log the same way. Inside another service (the guard filter) the
    host owns logging: ``setup_logging=False`` leaves it alone.
    ``description`` and ``epilog`` are what ``--help`` prints around the
    options.
    """
    global _parsed
    log.register_options(CONF)
    CONF(argv, project="vmstate",
         default_config_files=default_config_files,
         description=description, epilog=epilog)
    if setup_logging:
        log.setup(CONF, "vmstate")
    _parsed = True


_parsed = False


def is_parsed() -> bool:
    """Whether a vmstate program has parsed its configuration already."""
    return _parsed
