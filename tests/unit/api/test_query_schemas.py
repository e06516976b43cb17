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

"""Query strings against the query schemas, without a server: each
refusal in the words its schema gives it (``x-messages``)."""

import webob

from tests import base
from vmstate import exception
from vmstate import matrix
from vmstate.api import query_schemas
from vmstate.api import validation


class TestQuerySchemas(base.TestCase):

    def setUp(self):
        super().setUp()
        self.matrix = matrix.load(["nova"])

    def refusal(self, schema, query):
        request = webob.Request.blank("/?" + query)
        err = self.assertRaises(exception.Invalid, validation.query,
                                request, schema)
        return err.message

    def test_accepted_queries_come_back_as_given(self):
        uuid = "11111111-2222-3333-4444-555555555555"
        for schema, query in (
                (query_schemas.instances(self.matrix),
                 "vm_state=active&vm_state=stopped&task_state=&limit=0&"
                 "marker=" + uuid.replace("-", "").upper()),
                (query_schemas.INSTANCES_PAGE, "limit=1&marker=" + uuid),
                (query_schemas.EVENTS, "since=1&marker=2&limit=" + "9" * 40),
                (query_schemas.wait(self.matrix),
                 "for=stopped&for=active&timeout=0.5")):
            request = webob.Request.blank("/?" + query)
            self.assertIs(request.GET, validation.query(request, schema))

    def test_the_first_refusal_in_its_own_words(self):
        listing = query_schemas.instances(self.matrix)
        page = query_schemas.INSTANCES_PAGE
        wait = query_schemas.wait(self.matrix)
        for schema, query, message in (
                (listing, "sort=x&limit=x", "Unknown query parameter(s): "
                 "sort; allowed: limit, marker, project_id, task_state, "
                 "vm_state"),
                (listing, "limit=x&project_id=a%00", "Invalid input for "
                 "field/attribute project_id: control characters and "
                 "unpaired surrogates are not allowed"),
                (page, "limit=1&limit=x",
                 "Query parameter limit may be given only once"),
                (page, "limit=-x", "limit must be an integer, not '-x'"),
                (page, "limit=-1", "limit must be 0 or more, not -1"),
                (page, "marker=nope",
                 "marker 'nope' is not an instance uuid"),
                (listing, "limit=x&task_state=nap",
                 "task_state 'nap' is not one of: "),
                (query_schemas.EVENTS, "limit=x&marker=y",
                 "marker must be an integer, not 'y'"),
                (wait, "timeout=x", "Name the vm_state to wait for"),
                (wait, "&".join(["for=x"] * 17),
                 "Wait for at most 16 vm_states, not 17"),
                (wait, "for=x", "for 'x' is not a vm_state; valid: active"),
                (wait, "for=active&timeout=1e3",
                 "timeout must be a number of seconds >= 0 (e.g. 30 or "
                 "0.5), not '1e3'")):
            self.assertIn(message, self.refusal(schema, query), query)

    def test_integers_beyond_a_column_mean_as_many_as_there_are(self):
        params = {"limit": "9" * 40, "since": "7"}
        self.assertEqual(50, validation.integer(params, "limit", 50))
        self.assertEqual(validation.BIGINT, validation.integer(
            {"since": "9" * 40}, "since"))
        self.assertEqual(7, validation.integer(params, "since"))
        self.assertIsNone(validation.integer(params, "marker"))
        self.assertEqual(2.5, validation.seconds({"t": "9.5"}, "t", 2.5))
