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

"""``auth_strategy = keystone``: auth_token guards all but discovery."""

from keystonemiddleware import auth_token

from tests.functional.api import base
from vmstate.api import app
from vmstate.conf import CONF


class TestKeystone(base.APITestCase):

    def setUp(self):
        super().setUp()
        for group, opts in auth_token.list_opts():
            CONF.register_opts(opts, group=group)
        self.flags(group="api", auth_strategy="keystone")
        self.config_fixture.config(group="keystone_authtoken",
                                   www_authenticate_uri="http://127.0.0.1:1/",
                                   delay_auth_decision=False)
        self.app = base.CheckedApp(app.setup_app(CONF))

    def test_no_token_is_a_401_fault(self):
        for path in ("/v1/instances", "/v1/matrix"):
            res = self.get(path, status=401)
            self.fault(res, "unauthorized", 401)
            self.assertIn("127.0.0.1:1", res.headers["WWW-Authenticate"])

    def test_spoofed_identity_headers_do_not_authenticate(self):
        res = self.get("/v1/instances", headers=base.member(
            "p-owner", roles="admin"), status=401)
        self.fault(res, "unauthorized", 401)

    def test_discovery_and_health_need_no_token(self):
        self.get("/")
        self.get("/v1/")
        self.app.get("/healthcheck", status=200)
