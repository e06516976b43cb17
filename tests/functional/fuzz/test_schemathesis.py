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

"""schemathesis against the served OpenAPI description.

Every operation the description lists is called with data generated from
its own schemas (valid and not), in-process through the whole WSGI stack;
schemathesis's checks hold every answer to the description: never a 5xx,
only documented status codes and content types, bodies that match their
schemas. Half the examples aim at an instance that exists, so the
success paths are exercised too.
"""

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import schemathesis
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests import base
from tests import db_fixture
from vmstate import context
from vmstate.api import app
from vmstate.api import policy
from vmstate.conf import CONF
from vmstate.db import api as db_api

EXAMPLES = 25
# What holds the API to its description. Left out: positive data
# acceptance, because some valid-looking requests are rightly refused for
# reasons no schema can state (a pagination marker that names no
# instance is Nova's 400), and the stateful checks, which need links.
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.negative_data_rejection,
]
# Long-polls are fuzzed with short timeouts: the fuzzer must not wait.
MAX_WAIT = 0.05


class TestSchemathesis(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(db_fixture.Database())
        policy.reset()
        self.addCleanup(policy.reset)
        self.schema = schemathesis.openapi.from_wsgi(
            "/v1/openapi.json", app.setup_app(CONF))
        self.ctx = context.get_admin_context()

    def _instance(self):
        return db_api.instance_create(self.ctx, {
            "vm_state": "active", "task_state": None,
            "power_state": 1})["uuid"]

    def test_every_operation_answers_as_described(self):
        operations = [result.ok() for result in
                      self.schema.get_all_operations()]
        self.assertGreater(len(operations), 10)
        tried = []
        for operation in operations:
            self._fuzz(operation)
            tried.append("%s %s" % (operation.method.upper(),
                                    operation.path))
        self.addDetail("operations", self._text("\n".join(tried)))

    def _fuzz(self, operation):
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), existing=st.booleans())
        def check(case, existing):
            if existing and "uuid" in (case.path_parameters or {}):
                case.path_parameters = dict(case.path_parameters,
                                            uuid=self._instance())
            if case.query and "timeout" in case.query:
                case.query = dict(case.query, timeout=MAX_WAIT)
            response = case.call()
            case.validate_response(response, checks=CHECKS)
        check()

    @staticmethod
    def _text(value):
        from testtools import content
        return content.text_content(value)
