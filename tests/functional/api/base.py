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

"""The API under webtest, on a fresh database, as three kinds of caller."""

import uuid as uuidlib

from oslo_serialization import jsonutils
import webtest

from tests import base
from tests import db_fixture
from tests.functional.api import openapi_check
from vmstate.api import app
from vmstate.api import policy
from vmstate.conf import CONF

ADMIN: dict[str, str] = {}          # noauth: no identity headers = admin


def member(project: str, user: str = "user", roles: str = "member"
           ) -> dict[str, str]:
    return {"X-Project-Id": project, "X-User-Id": user, "X-Roles": roles}


OWNER = member("p-owner", "alice")
OTHER = member("p-other", "mallory")
SERVICE = member("p-service", "nova", roles="service")


class CheckedApp(webtest.TestApp):
    """A TestApp that holds every response to the OpenAPI description."""

    def do_request(self, req, status=None, expect_errors=None):
        res = super().do_request(req, status=status,
                                 expect_errors=expect_errors)
        openapi_check.check(req.method, req.path_info, res.status_int,
                            res.content_type, res.body)
        return res


class APITestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(db_fixture.Database())
        policy.reset()
        self.addCleanup(policy.reset)
        self.app = CheckedApp(app.setup_app(CONF))

    # -- helpers ---------------------------------------------------------

    def post(self, path, body, headers=ADMIN, status=None, **kw):
        return self.app.post_json(path, body, headers=headers, status=status,
                                  expect_errors=status is not None
                                  and status >= 400, **kw)

    def get(self, path, headers=ADMIN, status=200, **kw):
        return self.app.get(path, headers=headers, status=status,
                            expect_errors=status >= 400, **kw)

    def patch(self, path, body, headers=SERVICE, status=200, **kw):
        return self.app.patch_json(path, body, headers=headers, status=status,
                                   expect_errors=status >= 400, **kw)

    def create(self, headers=None, **values):
        headers = OWNER if headers is None else headers
        res = self.post("/v1/instances", {"instance": values},
                        headers=headers, status=201)
        return res.json["instance"]

    def act(self, uuid, action, headers=None, status=202):
        headers = OWNER if headers is None else headers
        return self.post("/v1/instances/%s/actions" % uuid,
                         {"action": action}, headers=headers, status=status)

    def fault(self, res, name, code):
        """The fault body's detail, after checking its name and code."""
        body = jsonutils.loads(res.body)
        self.assertEqual([name], list(body), body)
        self.assertEqual(code, body[name]["code"])
        self.assertIsInstance(body[name]["message"], str)
        self.assertNotIn("Traceback", body[name]["message"])
        return body[name]

    @staticmethod
    def new_uuid():
        return str(uuidlib.uuid4())
