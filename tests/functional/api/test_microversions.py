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

"""Microversions at their boundaries, through the whole WSGI application:
the header asked for, the version answered, the 406 and 400 faults."""

from importlib import resources
import re

import fixtures
import webob
import webob.dec
import webtest

from tests.functional.api import base
from vmstate.api import microversions

HEADER = "OpenStack-API-Version"


def asking(value, **identity):
    headers = dict(identity)
    headers[HEADER] = value
    return headers


class TestMicroversions(base.APITestCase):

    def assertAnswered(self, res, version):
        self.assertEqual("instance-state %s" % version, res.headers[HEADER])
        vary = [v.strip().lower() for v in res.headers["Vary"].split(",")]
        self.assertIn(HEADER.lower(), vary)

    def test_no_header_is_the_minimum(self):
        res = self.get("/v1/instances")
        self.assertAnswered(res, microversions.MIN_VERSION)

    def test_the_minimum_and_the_maximum(self):
        for version in (microversions.MIN_VERSION,
                        microversions.MAX_VERSION):
            res = self.get("/v1/matrix",
                           headers=asking("instance-state %s" % version))
            self.assertAnswered(res, version)

    def test_latest_is_the_maximum(self):
        for value in ("instance-state latest", "instance-state LATEST",
                      "INSTANCE-STATE  latest "):
            res = self.get("/v1/instances", headers=asking(value))
            self.assertAnswered(res, microversions.MAX_VERSION)

    def test_out_of_range_is_a_406_fault(self):
        major, minor = (int(p) for p in
                        microversions.MAX_VERSION.split("."))
        for version in ("%d.%d" % (major, minor + 1), "%d.0" % (major + 1),
                        "0.9", "0.0", "99.99"):
            res = self.get("/v1/instances", status=406,
                           headers=asking("instance-state %s" % version))
            fault = self.fault(res, "notAcceptable", 406)
            self.assertEqual(
                "Version %s is not supported by the API. Minimum is %s and "
                "maximum is %s." % (version, microversions.MIN_VERSION,
                                    microversions.MAX_VERSION),
                fault["message"])
            self.assertAnswered(res, microversions.MIN_VERSION)

    def test_malformed_is_a_400_fault(self):
        for value in ("1", "1.", ".1", "1.a", "01.0", "1.00", "-1.0",
                      "1.0.0", "00.1", "v1.0", "1 .0", "latest1"):
            res = self.get("/v1/instances", status=400,
                           headers=asking("instance-state " + value))
            fault = self.fault(res, "badRequest", 400)
            self.assertIn("Invalid API version", fault["message"])
            self.assertAnswered(res, microversions.MIN_VERSION)

    def test_other_service_types_are_ignored(self):
        for value in ("compute 2.95", "compute latest",
                      "compute 2.1, placement 1.39", "instance-state",
                      "volume abc"):
            res = self.get("/v1/instances", headers=asking(value))
            self.assertAnswered(res, microversions.MIN_VERSION)

    def test_ours_among_several_services(self):
        for value in ("compute 2.95, instance-state latest",
                      "instance-state latest, compute 2.1"):
            res = self.get("/v1/instances", headers=asking(value))
            self.assertAnswered(res, microversions.MAX_VERSION)
        # Two headers of the same name fold into one list.
        res = self.app.get("/v1/instances", headers=[
            (HEADER, "compute 2.1"), (HEADER, "instance-state latest")])
        self.assertAnswered(res, microversions.MAX_VERSION)

    def test_every_response_says_its_version(self):
        inst = self.create(vm_state="stopped")
        answers = [
            self.get("/"), self.get("/v1/"), self.get("/v1/openapi.json"),
            self.get("/healthcheck"),
            self.get("/v1/nothing", status=404),
            self.app.delete("/v1/matrix", status=405, expect_errors=True),
            self.act(inst["uuid"], "stop", status=409),
            self.post("/v1/instances", {"x": 1}, status=400),
            self.act(inst["uuid"], "start"),
        ]
        for res in answers:
            self.assertAnswered(res, microversions.MIN_VERSION)

    def test_a_vary_already_set_is_kept(self):
        res = self.get("/")
        self.assertEqual(1, res.headers["Vary"].lower().count(
            HEADER.lower()))

    def test_version_documents_give_the_range(self):
        docs = self.get("/").json["versions"] + [
            self.get("/v1/").json["version"]]
        for doc in docs:
            self.assertEqual((microversions.MIN_VERSION,
                              microversions.MAX_VERSION),
                             (doc["min_version"], doc["version"]))


class TestLaterVersions(base.APITestCase):
    """The same machinery once there are versions after 1.0 (the range is
    the tuple's: a later version needs nothing else to be accepted)."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            "vmstate.api.microversions.VERSIONS", ("1.0", "1.1", "1.2")))
        self.useFixture(fixtures.MonkeyPatch(
            "vmstate.api.microversions.MAX_VERSION", "1.2"))

    def test_range(self):
        for asked, answered in (("1.0", "1.0"), ("1.1", "1.1"),
                                ("1.2", "1.2"), ("latest", "1.2")):
            res = self.get("/v1/instances",
                           headers=asking("instance-state " + asked))
            self.assertEqual("instance-state " + answered,
                             res.headers[HEADER])
        res = self.get("/v1/instances", status=406,
                       headers=asking("instance-state 1.3"))
        self.assertIn("Minimum is 1.0 and maximum is 1.2",
                      self.fault(res, "notAcceptable", 406)["message"])
        self.assertEqual("1.2", self.get("/v1/").json["version"]["version"])

    def test_the_application_sees_the_version(self):
        seen = []

        @webob.dec.wsgify
        def app(req):
            seen.append(str(microversions.requested(req.environ)))
            return webob.Response(status=204)

        filtered = webtest.TestApp(microversions.MicroversionFilter(app))
        filtered.get("/", headers=asking("instance-state 1.1"))
        filtered.get("/")
        filtered.get("/", headers=asking("instance-state latest"))
        self.assertEqual(["1.1", "1.0", "1.2"], seen)
        # Outside the filter (a library call): the minimum.
        self.assertEqual("1.0", str(microversions.requested({})))


class TestHistory(base.APITestCase):

    def test_every_version_has_its_history_entry(self):
        text = resources.files("vmstate.api").joinpath(
            "rest_api_version_history.rst").read_text()
        titles = re.findall(r"^(\d+\.\d+)\n-+$", text, re.M)
        self.assertEqual(list(microversions.VERSIONS), titles)
