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

"""``GET /v1/instances/{uuid}/events`` in pages, as instances are listed."""

from urllib import parse

from tests.functional.api import base

OWN = base.OWNER


class TestEventPages(base.APITestCase):

    def setUp(self):
        super().setUp()
        inst = self.create(vm_state="active", task_state=None,
                           power_state=1)
        self.uuid = inst["uuid"]
        # 1 create + 12 power reports = versions 1..13.
        for n in range(12):
            self.patch("/v1/instances/%s" % self.uuid, {
                "instance": {"power_state": 4 if n % 2 == 0 else 1},
                "expected": {"task_state": None}})
        self.path = "/v1/instances/%s/events" % self.uuid

    def pages(self, first):
        """Every page from ``first`` on, following ``next``."""
        pages, url = [], first
        while url is not None and len(pages) < 50:
            parts = parse.urlsplit(url)
            body = self.get(parts.path + "?" + parts.query, headers=OWN).json
            pages.append([e["version"] for e in body["events"]])
            url = body["next"]
        return pages

    def test_pages_follow_next(self):
        self.assertEqual([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13]],
                         self.pages(self.path + "?limit=5"))

    def test_an_exact_last_page_ends_with_an_empty_one(self):
        self.assertEqual([list(range(1, 14)), []],
                         self.pages(self.path + "?limit=13"))

    def test_the_default_and_maximum_page_is_max_limit(self):
        self.flags(group="api", max_limit=4)
        self.assertEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12],
                          [13]], self.pages(self.path))
        # A larger limit is lowered to it.
        body = self.get(self.path + "?limit=100", headers=OWN).json
        self.assertEqual([1, 2, 3, 4], [e["version"] for e in body["events"]])
        self.assertIn("marker=4", body["next"])

    def test_since_and_marker(self):
        self.assertEqual([[11, 12], [13]],
                         self.pages(self.path + "?since=10&limit=2"))
        body = self.get(self.path + "?since=2&marker=11",
                        headers=OWN).json
        self.assertEqual([12, 13], [e["version"] for e in body["events"]])
        self.assertIsNone(body["next"])
        # next keeps the other parameters.
        body = self.get(self.path + "?since=3&limit=1", headers=OWN).json
        query = parse.parse_qs(parse.urlsplit(body["next"]).query)
        self.assertEqual({"since": ["3"], "limit": ["1"], "marker": ["4"]},
                         query)

    def test_limit_zero_is_an_empty_page(self):
        body = self.get(self.path + "?limit=0", headers=OWN).json
        self.assertEqual(([], None), (body["events"], body["next"]))

    def test_bad_parameters(self):
        for query in ("limit=-1", "limit=x", "marker=abc", "marker=-3",
                      "limit=1&limit=2", "marker=" + self.uuid):
            res = self.get(self.path + "?" + query, headers=OWN, status=400)
            self.fault(res, "badRequest", 400)
