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

"""The CLI plugin's client: its one-line errors, endpoints, microversions
and pages, against the real API application under webtest (through a
keystoneauth session whose HTTP goes to webtest)."""

import json

from keystoneauth1 import session as ks_session
import requests
import webtest

from tests.functional.api import base
from vmstate.api import app as api_app
from vmstate.conf import CONF
from vmstate.osc import client
from vmstate.osc import plugin


class WebTestAdapter(requests.adapters.BaseAdapter):
    """requests' transport into a WSGI application."""

    def __init__(self, app):
        super().__init__()
        self.app = webtest.TestApp(app)
        self.seen = []

    def send(self, request, **kwargs):
        self.seen.append(request)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        res = self.app.request(
            request.path_url, method=request.method,
            headers=dict(request.headers), body=body, expect_errors=True)
        response = requests.Response()
        response.status_code = res.status_int
        response.headers.update(res.headers)
        response._content = res.body
        response.url = request.url
        response.reason = res.status.split(" ", 1)[-1]
        response.request = request
        return response

    def close(self):
        pass


class TestClient(base.APITestCase):

    def setUp(self):
        super().setUp()
        http = requests.Session()
        self.transport = WebTestAdapter(api_app.setup_app(CONF))
        http.mount("http://", self.transport)
        self.session = ks_session.Session(session=http)
        self.client = client.Client(self.session, "http://vmstate:9797/v1/")

    def test_the_endpoint_root_and_the_microversion(self):
        self.assertEqual([], self.client.instances())
        sent = self.transport.seen[-1]
        self.assertEqual("http://vmstate:9797/v1/instances", sent.url)
        self.assertEqual("instance-state 1.0",
                         sent.headers["OpenStack-API-Version"])

    def test_an_unknown_microversion_is_one_line(self):
        later = client.Client(self.session, "http://vmstate:9797", "1.99")
        err = self.assertRaises(client.APIError, later.matrix)
        self.assertEqual(406, err.code)
        self.assertEqual("Version 1.99 is not supported by the API. Minimum "
                         "is 1.0 and maximum is 1.0. (HTTP 406)", str(err))

    def test_a_conflict_names_the_allowed_actions(self):
        uuid = self.create(vm_state="stopped")["uuid"]
        err = self.assertRaises(client.APIError, self.client.action, uuid,
                                "stop")
        self.assertEqual(409, err.code)
        self.assertEqual(1, len(str(err).splitlines()))
        self.assertIn("Cannot 'stop' instance %s while it is in vm_state "
                      "stopped (allowed actions: " % uuid, str(err))
        self.assertIn("start", str(err))

    def test_pages_are_followed_unless_limited(self):
        self.flags(group="api", max_limit=2)
        made = sorted(self.create()["uuid"] for _ in range(5))
        self.assertEqual(made, sorted(i["uuid"]
                                      for i in self.client.instances()))
        self.assertEqual(3, len(self.client.instances(limit=3)))
        self.assertEqual(0, len(self.client.instances(limit=0)))

    def test_event_pages(self):
        self.flags(group="api", max_limit=1)
        uuid = self.create(vm_state="active")["uuid"]
        self.act(uuid, "stop")
        self.assertEqual([(1, "create"), (2, "stop")],
                         [(e["version"], e["action"])
                          for e in self.client.events(uuid)])
        self.assertEqual([1], [e["version"]
                               for e in self.client.events(uuid, limit=1)])

    def test_no_endpoint(self):
        self.assertRaises(client.osc_exc.CommandError, client.Client,
                          self.session, None)

    def test_unreachable(self):
        unreachable = client.Client(ks_session.Session(),
                                    "http://127.0.0.1:1")
        err = self.assertRaises(client.APIError, unreachable.matrix)
        self.assertIn("Cannot reach http://127.0.0.1:1", str(err))


class TestFaultMessage(base.base.TestCase):

    def response(self, code, body, reason="Conflict"):
        response = requests.Response()
        response.status_code = code
        response.reason = reason
        response._content = (json.dumps(body).encode()
                             if not isinstance(body, bytes) else body)
        return response

    def test_expected_and_actual(self):
        text = client._fault_message(self.response(409, {
            "conflictingRequest": {"code": 409, "message": "Changed",
                                   "expected": {"version": 1},
                                   "actual": {"version": 2}}}))
        self.assertEqual("Changed (expected {'version': 1}, found "
                         "{'version': 2}) (HTTP 409)", text)

    def test_not_json_and_nothing_allowed(self):
        self.assertEqual("Bad Gateway (HTTP 502)", client._fault_message(
            self.response(502, b"<html>", reason="Bad Gateway")))
        self.assertEqual(
            "Cannot 'x'\nacross lines (allowed actions: none) (HTTP 409)"
            .replace("\n", " "),
            client._fault_message(self.response(409, {"conflictingRequest": {
                "message": "Cannot 'x'\n  across lines",
                "allowed_actions": []}})))

    def test_versions(self):
        self.assertEqual("1.0", client.microversion_of("1"))
        self.assertEqual("1.3", client.microversion_of("1.3"))
        self.assertTrue(plugin.check_api_version("1"))
        self.assertTrue(plugin.check_api_version("1.2"))
        self.assertFalse(plugin.check_api_version("2"))
        self.assertFalse(plugin.check_api_version("latest"))
