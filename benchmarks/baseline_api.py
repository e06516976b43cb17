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


"""The baseline of ``benchmarks/api.py``'s show: a minimal Pecan app.

``GET /v1/instances/{uuid}`` with the same indexed read a vmstate show
makes (the instance of the caller's project, ``X-Project-Id``, LEFT
JOINed to its action queue: one statement) through a plain SQLAlchemy
engine with its default pool, rendered as JSON by Pecan; served by
cheroot with the same number of threads as ``vmstate-api``. Nothing
else: no authentication, policy, request ids, size limits, matrix or
view. What ``vmstate-api`` spends beyond it is the cost of its request
path (issue 14 asks for at most 1.5 times this app's server CPU).

Run by ``benchmarks/api.py``: ``python benchmarks/baseline_api.py URL
THREADS``; prints ``listening on http://HOST:PORT/`` and serves until
SIGTERM.
"""

import signal
import sys
import threading

from cheroot import wsgi
import pecan
from pecan import rest
import sqlalchemy as sa

SHOW = sa.text(
    "SELECT i.uuid, i.project_id, i.user_id, i.vm_state, i.task_state, "
    "i.power_state, i.version, i.task_id, i.task_action, i.created_at, "
    "i.updated_at, i.state_changed_at, i.task_started_at, "
    "i.task_heartbeat_at, i.fault, q.id AS q_id, q.action AS q_action "
    "FROM instances i LEFT OUTER JOIN instance_action_queue q "
    "ON q.instance_uuid = i.uuid "
    "WHERE i.uuid = :uuid AND i.project_id = :project_id ORDER BY q.id")

ENGINE = None


def _json(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


class Instances(rest.RestController):

    @pecan.expose("json")
    def get_one(self, uuid):
        project_id = pecan.request.headers.get("X-Project-Id")
        with ENGINE.connect() as conn:
            rows = conn.execute(SHOW, {"uuid": uuid.lower(),
                                       "project_id": project_id}).all()
        if not rows:
            pecan.abort(404)
        first = rows[0]._mapping
        instance = {k: _json(v) for k, v in first.items()
                    if not k.startswith("q_")}
        queue = [{"id": r.q_id, "action": r.q_action} for r in rows
                 if r.q_id is not None]
        if queue:
            instance["queue"] = queue
        return {"instance": instance}


class V1:
    instances = Instances()


class Root:
    v1 = V1()

    @pecan.expose("json")
    def index(self):
        return {}


def main(argv):
    global ENGINE
    url, threads = argv[1], int(argv[2])
    ENGINE = sa.create_engine(url)
    app = pecan.make_app(Root())
    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=threads)
    server.prepare()
    host, port = server.bind_addr[:2]
    print("listening on http://%s:%d/" % (host, port), flush=True)
    signal.signal(signal.SIGTERM,
                  lambda signum, frame: threading.Thread(
                      target=server.stop, daemon=True).start())
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
