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

"""Links from ``[api] public_endpoint`` or a trusted proxy, never from a
caller's Host header alone; CORS; ``/healthcheck`` on the store."""

import sqlalchemy as sa
import webtest

from tests.functional.api import base
from vmstate.api import app
from vmstate.conf import CONF
from vmstate.db import connections

EVIL = {"Host": "evil.example:666"}
PUBLIC = "https://vmstate.example.com:8443/state"


class LinksTestCase(base.APITestCase):

    def rebuild(self):
        self.app = base.CheckedApp(app.setup_app(CONF))

    def links(self, headers):
        """Every link the API answers, for requests with ``headers``."""
        found = []
        res = self.post("/v1/instances", {"instance": {}},
                        headers=dict(headers), status=201)
        found.append(res.headers["Location"])
        uuid = res.json["instance"]["uuid"]
        self.post("/v1/instances", {"instance": {}}, headers=dict(headers),
                  status=201)
        found.append(self.get("/v1/instances?limit=1",
                              headers=dict(headers)).json["next"])
        found.append(self.get("/v1/instances/%s/events?limit=1" % uuid,
                              headers=dict(headers)).json["next"])
        for path in ("/", "/v1/"):
            body = self.get(path, headers=dict(headers)).json
            versions = body.get("versions") or [body["version"]]
            found.extend(link["href"] for v in versions
                         for link in v["links"])
        return found

    def test_public_endpoint_for_every_link(self):
        self.flags(group="api", public_endpoint=PUBLIC)
        self.rebuild()
        links = self.links(EVIL)
        self.assertEqual(7, len(links))
        for link in links:
            self.assertTrue(link.startswith(PUBLIC + "/v1/"), link)
            self.assertNotIn("evil", link)

    def test_proxy_headers_only_when_trusted(self):
        forwarded = dict(EVIL, **{"X-Forwarded-Proto": "https",
                                  "X-Forwarded-Host": "api.example.org"})
        for link in self.links(forwarded):
            self.assertTrue(link.startswith("http://evil.example:666/"),
                            link)
        self.flags(group="oslo_middleware",
                   enable_proxy_headers_parsing=True)
        self.rebuild()
        for link in self.links(forwarded):
            self.assertTrue(
                link.startswith("https://api.example.org/v1/"), link)

    def test_cors(self):
        self.flags(group="cors", allowed_origin=["https://dash.example"])
        self.rebuild()
        preflight = {"Origin": "https://dash.example",
                     "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "X-Auth-Token"}
        # Preflights are the CORS filter's, outside the API's description.
        plain = webtest.TestApp(app.setup_app(CONF))
        res = plain.options("/v1/instances", headers=preflight)
        self.assertEqual("https://dash.example",
                         res.headers["Access-Control-Allow-Origin"])
        self.assertIn("POST", res.headers["Access-Control-Allow-Methods"])
        res = self.get("/v1/matrix", headers={"Origin":
                                              "https://dash.example"})
        self.assertIn("X-OpenStack-Request-ID",
                      res.headers["Access-Control-Expose-Headers"])
        res = plain.options("/v1/instances", headers=dict(
            preflight, Origin="https://evil.example"), expect_errors=True)
        self.assertNotIn("Access-Control-Allow-Origin", res.headers)


class TestHealthcheck(base.APITestCase):

    def db_engine(self):
        return connections.get_engine()

    def test_healthy(self):
        res = self.app.get("/healthcheck", status=200)
        self.assertEqual("OK", res.text.strip())

    def test_503_with_the_reason_when_the_store_refuses_writes(self):
        engine = self.db_engine()

        @sa.event.listens_for(engine, "connect")
        def read_only(dbapi_connection, record):
            dbapi_connection.execute("PRAGMA query_only = ON")

        self.addCleanup(sa.event.remove, engine, "connect", read_only)
        engine.dispose()
        # Reads still work...
        self.get("/v1/matrix")
        res = self.app.get("/healthcheck", status=503,
                           headers={"Accept": "application/json"})
        self.assertIn("state store cannot write", " ".join(
            res.json["reasons"]))

    def test_the_probe_writes_nothing(self):
        inst = self.post("/v1/instances", {"instance": {}},
                         status=201).json["instance"]
        with self.db_engine().connect() as conn:
            before = conn.execute(sa.text(
                "SELECT version, updated_at FROM instances")).all()
        for _ in range(3):
            self.app.get("/healthcheck", status=200)
        with self.db_engine().connect() as conn:
            self.assertEqual(before, conn.execute(sa.text(
                "SELECT version, updated_at FROM instances")).all())
        self.assertEqual(1, inst["version"])
