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

"""The guard in front of a real Nova: state from Nova's own database.

A table shaped like Nova's ``instances`` (the columns the guard reads,
among others Nova has) on PostgreSQL and MariaDB; the ``nova_db`` source
reads it and nothing else, and vmstate's own store stays out of it.
"""

import json
import uuid as uuidlib

import sqlalchemy as sa
import webtest

from tests.functional.db import base
from tests.functional.guard import test_middleware
from vmstate.api.middleware import ComputeGuard

JSON = {"Content-Type": "application/json"}
NOVA_INSTANCES = """
CREATE TABLE instances (
    id INTEGER NOT NULL PRIMARY KEY,
    created_at TIMESTAMP NULL,
    updated_at TIMESTAMP NULL,
    deleted_at TIMESTAMP NULL,
    uuid VARCHAR(36) NOT NULL,
    user_id VARCHAR(255),
    project_id VARCHAR(255),
    hostname VARCHAR(255),
    host VARCHAR(255),
    power_state INTEGER,
    vm_state VARCHAR(255),
    task_state VARCHAR(255),
    launched_at TIMESTAMP NULL,
    locked BOOLEAN,
    deleted INTEGER,
    CONSTRAINT uniq_instances0uuid UNIQUE (uuid)
)
"""
# Nova's two other tables the guard reads, in the same statement.
NOVA_METADATA = """
CREATE TABLE instance_metadata (
    id INTEGER NOT NULL PRIMARY KEY,
    instance_uuid VARCHAR(36),
    {key} VARCHAR(255),
    value VARCHAR(255),
    deleted INTEGER
)
"""
NOVA_BDMS = """
CREATE TABLE block_device_mapping (
    id INTEGER NOT NULL PRIMARY KEY,
    instance_uuid VARCHAR(36),
    volume_id VARCHAR(36),
    boot_index INTEGER,
    deleted INTEGER
)
"""


class _NovaDB:
    FIXTURE = base.SQLiteEmpty

    def setUp(self):
        super().setUp()
        key = self.engine.dialect.identifier_preparer.quote("key")
        with self.engine.begin() as conn:
            conn.execute(sa.text(NOVA_INSTANCES))
            conn.execute(sa.text(NOVA_METADATA.format(key=key)))
            conn.execute(sa.text(NOVA_BDMS))
        self.next_id = 0
        self.compute = test_middleware.Compute()
        self.flags(group="nova_db", connection=self.url)
        self.guard = ComputeGuard(self.compute,
                                  {"state_source": "nova_db"})
        self.addCleanup(self.guard.source.instances.dispose)
        self.app = webtest.TestApp(self.guard)

    def nova_instance(self, vm_state, task_state=None, deleted=False,
                      host="compute1", locked=False):
        self.next_id += 1
        uuid = str(uuidlib.uuid4())
        with self.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO instances (id, uuid, project_id, hostname, "
                "host, power_state, vm_state, task_state, launched_at, "
                "locked, deleted) VALUES (:id, :uuid, 'p1', 'vm', "
                ":host, 1, :vm, :task, CURRENT_TIMESTAMP, :locked, "
                ":deleted)"), {"id": self.next_id, "uuid": uuid,
                               "vm": vm_state, "task": task_state,
                               "host": host, "locked": locked,
                               "deleted": self.next_id if deleted else 0})
        return uuid

    def nova_row(self, table, **values):
        self.next_id += 1
        values = dict(values, id=self.next_id, deleted=0)
        names = ", ".join(self.engine.dialect.identifier_preparer.quote(n)
                          for n in values)
        with self.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO %s (%s) VALUES (%s)" % (
                table, names, ", ".join(":" + n for n in values))), values)

    def counted(self):
        counter = []

        def seen(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("SELECT"):
                counter.append(statement)
        engine = self.guard.source.instances._get_engine()
        sa.event.listen(engine, "before_cursor_execute", seen)
        self.addCleanup(sa.event.remove, engine, "before_cursor_execute",
                        seen)
        return counter

    def test_locked_server_is_novas_for_a_member(self):
        uuid = self.nova_instance("paused", locked=True)
        member = {"X-Project-Id": "p1", "X-Roles": "member", **JSON}
        self.app.post("/v2.1/servers/%s/action" % uuid,
                      json.dumps({"pause": None}), headers=member,
                      status=202)
        self.assertEqual(1, len(self.compute.seen))
        # An admin passes Nova's lock: the state refuses.
        self.post(uuid, {"pause": None}, 409)

    def test_no_host_is_novas_for_start(self):
        uuid = self.nova_instance("shelved_offloaded", host=None)
        self.post(uuid, {"os-start": None}, 202)
        res = self.post(uuid, {"pause": None}, 409)
        self.assertIn("vm_state shelved_offloaded",
                      res.json["conflictingRequest"]["message"])

    def test_metadata_key_and_volume_read_in_the_same_statement(self):
        uuid = self.nova_instance("building", "scheduling")
        reads = self.counted()
        self.app.delete("/v2.1/servers/%s/metadata/k" % uuid, status=202)
        self.assertEqual(1, len(reads))
        self.nova_row("instance_metadata", instance_uuid=uuid, key="k",
                      value="v")
        res = self.app.delete("/v2.1/servers/%s/metadata/k" % uuid,
                              status=409, expect_errors=True)
        self.assertEqual("Cannot 'delete metadata' instance %s while it is "
                         "in vm_state building" % uuid,
                         res.json["conflictingRequest"]["message"])
        volume = str(uuidlib.uuid4())
        path = "/v2.1/servers/%s/os-volume_attachments/%s" % (uuid, volume)
        self.app.delete(path, status=202)
        self.nova_row("block_device_mapping", instance_uuid=uuid,
                      volume_id=volume, boot_index=0)
        self.app.delete(path, status=202)      # the root volume: Nova's 400
        self.nova_row("block_device_mapping", instance_uuid=uuid,
                      volume_id=volume, boot_index=None)
        self.app.delete(path, status=409, expect_errors=True)
        self.assertEqual(5, len(reads))
        self.assertEqual(3, len(self.compute.seen))

    def post(self, uuid, body, status):
        return self.app.post("/v2.1/servers/%s/action" % uuid,
                             json.dumps(body), headers=JSON, status=status,
                             expect_errors=status >= 400)

    def test_refused_from_novas_state(self):
        uuid = self.nova_instance("stopped")
        res = self.post(uuid, {"os-stop": None}, 409)
        self.assertEqual("Cannot 'stop' instance %s while it is in "
                         "vm_state stopped" % uuid,
                         res.json["conflictingRequest"]["message"])
        self.assertEqual([], self.compute.seen)

    def test_refused_by_novas_task(self):
        uuid = self.nova_instance("active", "rebooting")
        res = self.post(uuid, {"reboot": {"type": "SOFT"}}, 409)
        self.assertIn("task_state rebooting",
                      res.json["conflictingRequest"]["message"])
        # Nova's own hard reboot over a soft one is allowed.
        self.post(uuid, {"reboot": {"type": "HARD"}}, 202)

    def test_allowed_passes_and_nothing_is_written(self):
        uuid = self.nova_instance("active")
        self.post(uuid, {"os-stop": None}, 202)
        with self.engine.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT vm_state, task_state FROM instances WHERE uuid = "
                ":uuid"), {"uuid": uuid}).one()
        self.assertEqual(("active", None), tuple(row))

    def test_deleted_and_unknown_instances_pass_to_nova(self):
        self.compute.answer = 404
        self.post(self.nova_instance("deleted", deleted=True),
                  {"os-start": None}, 404)
        self.post(str(uuidlib.uuid4()), {"os-start": None}, 404)
        self.assertEqual(2, len(self.compute.seen))

    def test_other_projects_server_is_never_shown(self):
        uuid = self.nova_instance("stopped")
        self.compute.answer = 404
        res = self.app.post("/v2.1/servers/%s/action" % uuid,
                            json.dumps({"os-stop": None}),
                            headers={"X-Project-Id": "p2",
                                     "X-Roles": "member", **JSON},
                            status=404, expect_errors=True)
        # Nova's own 404 reached the caller, not the guard's 409 with
        # p1's state.
        self.assertEqual(test_middleware.SERVICE_ANSWER, res.json)
        self.assertEqual(1, len(self.compute.seen))
        res = self.app.post("/v2.1/servers/%s/action" % uuid,
                            json.dumps({"os-stop": None}),
                            headers={"X-Project-Id": "p1",
                                     "X-Roles": "member", **JSON},
                            status=409, expect_errors=True)
        self.assertIn("vm_state stopped",
                      res.json["conflictingRequest"]["message"])
        # An admin reaches every project's server, as in Nova.
        self.app.post("/v2.1/servers/%s/action" % uuid,
                      json.dumps({"os-stop": None}),
                      headers={"X-Project-Id": "p2", "X-Roles": "admin",
                               **JSON},
                      status=409, expect_errors=True)
        self.assertEqual(1, len(self.compute.seen))

    def test_unreachable_database_is_503(self):
        if self.backend == "sqlite":
            gone = "sqlite:////nonexistent/dir/nova.sqlite"
        else:
            # Nothing listens on port 1: the connection is refused.
            gone = self.engine.url.set(host="127.0.0.1", port=1)
            gone = gone.render_as_string(hide_password=False)
        self.flags(group="nova_db", connection=gone)
        guard = ComputeGuard(self.compute, {"state_source": "nova_db"})
        app = webtest.TestApp(guard)
        res = app.post("/v2.1/servers/%s/action" % uuidlib.uuid4(),
                       json.dumps({"os-stop": None}), headers=JSON,
                       status=503,
                       expect_errors=True)
        self.assertIn("Nova database",
                      res.json["serviceUnavailable"]["message"])
        self.assertEqual([], self.compute.seen)


class TestNovaDBSQLite(_NovaDB, base.TestCase):
    FIXTURE = base.SQLiteEmpty


class TestNovaDBPostgreSQL(_NovaDB, base.TestCase):
    FIXTURE = base.PostgreSQLEmpty


class TestNovaDBMySQL(_NovaDB, base.TestCase):
    FIXTURE = base.MySQLEmpty
