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

"""Serve Keystone's WSGI application on a free loopback port.

Run by :mod:`tools.keystone_env` and :mod:`tests.keystone_fixture` with
the Python of Keystone's own virtualenv (it imports nothing of
vmstate)::

    python tools/keystone_server.py /path/to/keystone.conf

It prints ``keystone listening on http://127.0.0.1:PORT/`` once it
accepts requests, serves with Werkzeug's threaded server (a dependency of
Keystone's Flask application), and exits when the process that started it
is gone, so a test run that dies leaves no Keystone behind.
"""

import os
import sys
import threading
import time


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main() -> None:
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = sys.argv[1]
    # Keystone parses the command line too: leave it nothing to read.
    del sys.argv[1:]
    from keystone.server import wsgi
    from werkzeug import serving

    application = wsgi.initialize_public_application()
    server = serving.make_server("127.0.0.1", 0, application, threaded=True)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),),
                     daemon=True).start()
    print("keystone listening on http://127.0.0.1:%d/" % server.port,
          flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
