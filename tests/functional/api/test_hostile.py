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

"""Hostile input gets a 400 and changes nothing; never a 500."""

import json

from tests.functional.api import base


class TestHostileInput(base.APITestCase):

    def raw_post(self, path, text, status, headers=None):
        all_headers = {"Content-Type": "application/json"}
        all_headers.update(headers or base.OWNER)
        return self.app.post(path, text.encode("utf-8", "surrogatepass"),
                             headers=all_headers, status=status,
                             expect_errors=status >= 400)

    def test_control_characters_and_lone_surrogates(self):
        inst = self.create(vm_state="active", task_state=None)
        path = "/v1/instances/%s/actions" % inst["uuid"]
        for text in ('{"action": "stop", "reason": "a\\u0000b"}',
                     '{"action": "stop", "reason": "\\ud800"}',
                     '{"action": "stop", "reason": "line\\nbreak"}',
                     '{"action": "stop\\u007f"}'):
            res = self.raw_post(path, text, 400)
            self.fault(res, "badRequest", 400)
        for body in ('{"instance": {"project_id": "\\ud800"}}',
                     '{"instance": {"uuid": "abcdef00-0000-0000-0000-'
                     '00000000000c\\n"}}',
                     '{"instance": {"project_id": "p1 "}}',
                     '{"instance": {"\\u0000": 1}}'):
            res = self.raw_post("/v1/instances", body, 400,
                                headers=base.ADMIN)
            self.fault(res, "badRequest", 400)
        shown = self.get("/v1/instances/%s" % inst["uuid"]).json
        self.assertEqual(inst["version"], shown["instance"]["version"])
        self.assertEqual(1, len(self.get("/v1/instances").json[
            "instances"]))

    def test_bad_characters_in_queries(self):
        for query in ("project_id=a%00b", "vm_state=act%0Aive",
                      "marker=%ED%A0%80"):
            res = self.get("/v1/instances?" + query, status=400)
            self.fault(res, "badRequest", 400)

    def test_identity_headers(self):
        for headers in (base.member("p-owner "), base.member(" p-owner"),
                        base.member("p\x01")):
            res = self.get("/v1/instances", headers=headers, status=400)
            self.fault(res, "badRequest", 400)

    def test_deep_nesting(self):
        res = self.raw_post("/v1/instances", "[" * 100000, 400)
        self.assertIn("deeply", self.fault(res, "badRequest",
                                           400)["message"])

    def test_huge_integers(self):
        inst = self.create()
        res = self.patch("/v1/instances/%s" % inst["uuid"], {
            "instance": {"power_state": 1},
            "expected": {"version": 10 ** 30}}, status=400)
        self.fault(res, "badRequest", 400)
        big = "9" * 40
        res = self.get("/v1/instances?limit=%s" % big)
        self.assertEqual(1, len(res.json["instances"]))
        res = self.get("/v1/instances/%s/events?since=%s" % (
            inst["uuid"], big))
        self.assertEqual([], res.json["events"])

    def test_four_byte_characters_are_fine(self):
        inst = self.create(vm_state="active", task_state=None)
        self.raw_post("/v1/instances/%s/actions" % inst["uuid"],
                      json.dumps({"action": "stop",
                                  "reason": "sleepy \U0001F634"}), 202)
