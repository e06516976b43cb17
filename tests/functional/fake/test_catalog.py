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

"""The fake compute's flavors, images and server name filter, under
webtest (its driver stopped before the database goes)."""

import webtest

from tests import base
from tests import db_fixture
from vmstate.fake import api
from vmstate.fake import catalog
from vmstate.fake import driver

CIRROS = catalog.IMAGES[0]["id"]


class TestCatalog(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(db_fixture.Database())
        # Builds stay at their first step: these tests look at names.
        fake_driver = driver.FakeDriver(step_seconds=3600)
        self.addCleanup(fake_driver.stop)
        self.app = webtest.TestApp(api.ComputeAPI(fake_driver))

    def test_flavors(self):
        listed = self.app.get("/flavors").json["flavors"]
        self.assertEqual([("1", "m1.tiny"), ("2", "m1.small"),
                          ("3", "m1.medium"), ("4", "m1.large"),
                          ("5", "m1.xlarge")],
                         [(f["id"], f["name"]) for f in listed])
        self.assertNotIn("ram", listed[0])
        detail = self.app.get("/flavors/detail").json["flavors"]
        self.assertEqual((512, 1, 1), (detail[0]["ram"], detail[0]["disk"],
                                       detail[0]["vcpus"]))
        one = self.app.get("/p1/flavors/2").json["flavor"]
        self.assertEqual(("m1.small", 2048), (one["name"], one["ram"]))
        self.assertTrue(one["links"][0]["href"].endswith("/flavors/2"))
        res = self.app.get("/flavors/m1.tiny", status=404)
        self.assertEqual("Flavor m1.tiny could not be found.",
                         res.json["itemNotFound"]["message"])

    def test_images_in_glances_shape(self):
        found = self.app.get("/images?name=cirros").json
        self.assertEqual([CIRROS], [i["id"] for i in found["images"]])
        self.assertEqual("active", found["images"][0]["status"])
        self.assertEqual([], self.app.get(
            "/images?name=nope").json["images"])
        self.assertEqual(["cirros"], [i["name"] for i in self.app.get(
            "/images").json["images"]])
        image = self.app.get("/images/%s" % CIRROS).json
        self.assertEqual(("cirros", "qcow2"), (image["name"],
                                               image["disk_format"]))
        # Glance finds by id only.
        self.app.get("/images/cirros", status=404)

    def create(self, name="vm", flavor="1", image=CIRROS, status=202):
        return self.app.post_json("/servers", {"server": {
            "name": name, "flavorRef": flavor, "imageRef": image}},
            status=status)

    def test_create_checks_flavor_and_image(self):
        res = self.create(flavor="42", status=400)
        self.assertEqual("Flavor 42 could not be found.",
                         res.json["badRequest"]["message"])
        res = self.create(image="no-such-image", status=400)
        self.assertEqual("Image no-such-image could not be found.",
                         res.json["badRequest"]["message"])
        self.assertEqual([], self.app.get("/servers").json["servers"])
        server = self.create().json["server"]
        shown = self.app.get("/servers/%s" % server["id"]).json[
            "server"]
        self.assertEqual((CIRROS, "1"), (shown["image"]["id"],
                                         shown["flavor"]["id"]))

    def test_list_filters_names_as_nova_does(self):
        self.create("web-1")
        self.create("web-2")
        self.create("db")
        names = sorted(s["name"] for s in self.app.get(
            "/servers?name=web").json["servers"])
        self.assertEqual(["web-1", "web-2"], names)
        names = [s["name"] for s in self.app.get(
            "/servers/detail?name=^db$").json["servers"]]
        self.assertEqual(["db"], names)
        res = self.app.get("/servers?name=(", status=400)
        self.assertIn("regular expression", res.json["badRequest"]["message"])
