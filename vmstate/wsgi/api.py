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

"""``vmstate.wsgi.api:application`` for uwsgi, gunicorn or mod_wsgi.

The configuration files come from ``VMSTATE_CONFIG_FILES`` (comma
separated) or the usual ``/etc/vmstate/vmstate.conf``. The schema is not
migrated here: run ``vmstate-manage db sync`` before starting, except on
the embedded SQLite default, which is created on first use.

The lifecycle engine's listeners (notifications, queued actions, failure
counts) are installed; the sweeper is not, since a WSGI server forks and
restarts its workers as it sees fit: run ``vmstate-manage lifecycle
sweep`` beside it.
"""

import os

from vmstate import conf
from vmstate.api import app
from vmstate.conf import CONF
from vmstate.wsgi import service


def init_application() -> app.WSGIApp:
    files = os.environ.get("VMSTATE_CONFIG_FILES")
    conf.parse_args([], default_config_files=(
        [f.strip() for f in files.split(",") if f.strip()] if files
        else None))
    # A failure here stops the WSGI server from loading the application,
    # with the reason in its log.
    service.prepare()
    return app.setup_app(CONF)


application = init_application()
