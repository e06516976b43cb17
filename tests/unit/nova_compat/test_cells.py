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

"""The compatibility suite's own logic: answers, judgements, the table,
the guarded paste file, the catalog. None of it needs Nova."""

import json

import testtools

from nova_compat import catalog
from nova_compat import cells
from nova_compat import pipeline

U = "0c802d14-9b1b-4345-aed6-2cd4c4ddeb83"
STATE_MSG = "Cannot 'unpause' instance %s while it is in vm_state active" % U


def fault(status, key, message, **extra):
    inner = {"code": status, "message": message}
    inner.update(extra)
    return json.dumps({key: inner}).encode()


def result(nova, guard, answered, variant="", canonical_refused=False,
           mv="2.1"):
    return cells.Result(cells.Cell("active", "unpause", mv, "admin",
                                   variant), nova, guard, answered,
                        canonical_refused)


CONFLICT = cells.Answer(409, "conflictingRequest", STATE_MSG)
ACCEPTED = cells.Answer(202)


class AnswerTest(testtools.TestCase):

    def test_fault_body(self):
        got = cells.Answer.from_response(409, fault(
            409, "conflictingRequest", STATE_MSG,
            allowed_actions=["pause"]))
        # allowed_actions is the guard's addition: not compared.
        self.assertEqual(CONFLICT, got)
        self.assertTrue(got.state_conflict)

    def test_success_body_is_not_compared(self):
        self.assertEqual(
            cells.Answer(202),
            cells.Answer.from_response(202, b'{"adminPass": "x"}'))

    def test_not_json(self):
        got = cells.Answer.from_response(404, b"404 Not Found\n\n  The "
                                              b"resource could not be found.")
        self.assertEqual((404, None), (got.status, got.fault))
        self.assertEqual("404 Not Found The resource could not be found.",
                         got.message)
        self.assertFalse(got.state_conflict)

    def test_other_409_is_not_a_state_conflict(self):
        got = cells.Answer.from_response(409, fault(
            409, "conflictingRequest", "Instance %s is locked" % U))
        self.assertFalse(got.state_conflict)

    def test_task_state_conflict(self):
        got = cells.Answer(409, "conflictingRequest",
                           "Cannot 'reboot' instance %s while it is in "
                           "task_state rebooting" % U)
        self.assertTrue(got.state_conflict)


class JudgementTest(testtools.TestCase):

    def test_exact(self):
        r = result(CONFLICT, CONFLICT, True)
        self.assertTrue(r.exact)
        self.assertEqual("", r.kind)

    def test_words(self):
        guard = cells.Answer(409, "conflictingRequest",
                             STATE_MSG.replace("'unpause'", "'un_pause'"))
        r = result(CONFLICT, guard, True)
        self.assertFalse(r.exact)
        self.assertEqual("words", r.kind)

    def test_order_of_checks(self):
        r = result(cells.Answer(403, "forbidden", "Policy doesn't allow"),
                   CONFLICT, True)
        self.assertEqual("order of checks", r.kind)
        self.assertFalse(r.false_refusal)

    def test_false_refusal(self):
        r = result(ACCEPTED, CONFLICT, True)
        self.assertTrue(r.false_refusal)
        self.assertEqual("false refusal", r.kind)

    def test_pass_is_never_a_false_refusal(self):
        self.assertFalse(result(ACCEPTED, ACCEPTED, False).false_refusal)

    def test_bypass(self):
        # The guard refused the canonical request, let the variant
        # through, and Nova routed it to the action.
        r = result(CONFLICT, CONFLICT, False, variant="double slashes",
                   canonical_refused=True)
        self.assertTrue(r.bypass)
        self.assertEqual("bypass", r.kind)
        self.assertTrue(result(ACCEPTED, ACCEPTED, False, "chunked body",
                               True).bypass)

    def test_not_a_bypass(self):
        not_found = cells.Answer(404, "itemNotFound", "not found")
        # Nova did not route the variant to the action.
        self.assertFalse(result(not_found, not_found, False, "x",
                                True).bypass)
        # The guard refused the variant too.
        self.assertFalse(result(CONFLICT, CONFLICT, True, "x", True).bypass)
        # The guard did not refuse the canonical request either.
        self.assertFalse(result(CONFLICT, CONFLICT, False, "x",
                                False).bypass)
        # A canonical cell is never a bypass.
        self.assertFalse(result(CONFLICT, CONFLICT, False, "",
                                True).bypass)


class TableTest(testtools.TestCase):

    def test_rows_per_microversion_in_order(self):
        rows = cells.table([
            result(CONFLICT, CONFLICT, True, mv="latest"),
            result(CONFLICT, CONFLICT, True, mv="2.17"),
            result(ACCEPTED, CONFLICT, True, mv="2.17"),
            result(CONFLICT, CONFLICT, True, mv="2.1"),
        ])
        self.assertEqual(["2.1", "2.17", "latest", "all"], list(rows))
        self.assertEqual((2, 1, 1, 0), (
            rows["2.17"].cells, rows["2.17"].exact,
            rows["2.17"].false_refusals, rows["2.17"].bypasses))
        self.assertEqual(4, rows["all"].cells)
        self.assertEqual(50.0, rows["2.17"].percent)

    def test_bar(self):
        good = [result(CONFLICT, CONFLICT, True)] * 200
        self.assertTrue(cells.passed(cells.table(good)))
        # 199 of 200 is 99.5 %: still passes ...
        words = cells.Answer(409, "conflictingRequest", "x")
        edge = good[:199] + [result(CONFLICT, words, True)]
        self.assertTrue(cells.passed(cells.table(edge)))
        # ... 198 of 200 does not.
        worse = good[:198] + [result(CONFLICT, words, True)] * 2
        self.assertFalse(cells.passed(cells.table(worse)))
        # One false refusal fails whatever the percentage.
        refusal = good[:199] + [result(ACCEPTED, CONFLICT, True)]
        self.assertFalse(cells.passed(cells.table(refusal)))
        # One bypass fails, even when the answers agree.
        bypass = good[:199] + [result(CONFLICT, CONFLICT, False, "v", True)]
        self.assertFalse(cells.passed(cells.table(bypass)))
        # Each microversion on its own: a good one does not carry a bad.
        other = [result(CONFLICT, CONFLICT, True, mv="latest")] * 1000
        self.assertFalse(cells.passed(cells.table(worse + other)))
        self.assertFalse(cells.passed(cells.table([])))

    def test_report_lists_every_difference(self):
        results = [result(CONFLICT, CONFLICT, True),
                   result(ACCEPTED, CONFLICT, True),
                   result(cells.Answer(404, "itemNotFound", "gone"),
                          CONFLICT, True, mv="latest")]
        text = cells.report(results, "header")
        self.assertIn("verdict: FAIL", text)
        self.assertIn("false refusal 1, order of checks 1", text)
        self.assertEqual(2, text.count("\n    nova:  "))
        self.assertIn("[false refusal] active | unpause | 2.1 | admin",
                      text)
        self.assertIn("404 itemNotFound 'gone'", text)


PASTE = """\
[composite:openstack_compute_api_v21]
use = call:nova.api.auth:pipeline_factory_v21
keystone = cors faultwrap authtoken keystonecontext osapi_compute_app_v21

[composite:openstack_compute_api_v21_legacy_v2_compatible]
use = call:nova.api.auth:pipeline_factory_v21
keystone = cors authtoken keystonecontext legacy_v2_compatible osapi

[pipeline:oscomputeversions]
pipeline = cors faultwrap oscomputeversionapp
"""


class PipelineTest(testtools.TestCase):

    def test_guard_after_keystonecontext_in_both(self):
        text = pipeline.guarded(PASTE, {"state_source": "nova_db"})
        self.assertIn("keystone = cors faultwrap authtoken keystonecontext "
                      "vmstate_guard nova_compat_probe "
                      "osapi_compute_app_v21", text)
        self.assertIn("keystone = cors authtoken keystonecontext "
                      "vmstate_guard nova_compat_probe legacy_v2_compatible "
                      "osapi", text)
        self.assertIn("pipeline = cors faultwrap oscomputeversionapp", text)
        self.assertIn("[filter:vmstate_guard]\npaste.filter_factory = "
                      "vmstate.api.middleware:ComputeGuard.factory\n"
                      "state_source = nova_db", text)

    def test_without_probe(self):
        text = pipeline.guarded(PASTE, {}, probe=False)
        self.assertIn("keystonecontext vmstate_guard osapi_compute_app_v21",
                      text)
        self.assertNotIn("nova_compat_probe", text)

    def test_nova_changed_its_file(self):
        self.assertRaises(pipeline.PipelineError, pipeline.guarded,
                          PASTE.replace(" keystonecontext", ""), {})
        self.assertRaises(pipeline.PipelineError, pipeline.guarded,
                          PASTE.split("[composite:openstack_compute_api_v21_"
                                      "legacy")[0], {})

    def test_probe_records_what_reached_it(self):
        import io
        seen = []

        def app(environ, start_response):
            seen.append(environ["wsgi.input"].read())
            start_response("204 No Content", [])
            return [b""]

        probe = pipeline.probe_factory({})(app)
        pipeline.Probe.reset()
        self.assertIsNone(pipeline.Probe.seen())
        body = b'{"pause": null}'
        environ = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/v2.1",
                   "PATH_INFO": "/servers/x/action", "QUERY_STRING": "",
                   "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": "application/json",
                   "HTTP_X_ROLES": "member", "wsgi.input": io.BytesIO(body)}
        list(probe(environ, lambda *a: None))
        got = pipeline.Probe.seen()
        self.assertEqual("/v2.1/servers/x/action", got["path"])
        self.assertIn(("HTTP_X_ROLES", "member"), got["headers"])
        # The body still reaches the application whole.
        self.assertEqual([body], seen)


class CatalogTest(testtools.TestCase):

    def test_every_state_has_a_base_recipe(self):
        for state in catalog.STATES:
            self.assertIn(state.base, catalog.BASES)
        self.assertEqual(len(catalog.STATES), len(catalog.STATES_BY_NAME))

    def test_slices_name_known_cells(self):
        for chosen in catalog.SLICES.values():
            for name in chosen.states:
                self.assertIn(name, catalog.STATES_BY_NAME)
            for name in chosen.requests:
                self.assertIn(name, catalog.REQUESTS_BY_NAME)
            for mv in chosen.microversions:
                self.assertIn(mv, catalog.MICROVERSIONS)
        for state, request in catalog.VARIANT_TARGETS:
            self.assertIn(state, catalog.STATES_BY_NAME)
            self.assertIn(request, catalog.REQUESTS_BY_NAME)

    def test_body_by_microversion(self):
        live = catalog.REQUESTS_BY_NAME["os-migrateLive"]
        self.assertIs(False,
                      live.body("2.1")["os-migrateLive"]["block_migration"])
        self.assertEqual("auto",
                         live.body("2.25")["os-migrateLive"][
                             "block_migration"])
        self.assertEqual("auto", live.body("latest")["os-migrateLive"][
            "block_migration"])
        # A request whose body starts later still sends it below.
        update = catalog.REQUESTS_BY_NAME["update volume attachment"]
        self.assertEqual({"volumeAttachment": {
            "volumeId": "{volume}", "delete_on_termination": True}},
            update.body("2.1"))

    def test_fill(self):
        self.assertEqual(
            {"volumeAttachment": {"volumeId": "V"}, "x": ["V-y"]},
            catalog.fill({"volumeAttachment": {"volumeId": "{volume}"},
                          "x": ["{volume}-y"]}, {"volume": "V"}))

    def test_microversion_order(self):
        ordered = sorted(["latest", "2.100", "2.17", "2.1", "2.9"],
                         key=cells.microversion_key)
        self.assertEqual(["2.1", "2.9", "2.17", "2.100", "latest"], ordered)

    def test_microversions_between_measure_their_requests_only(self):
        every = tuple(catalog.REQUESTS_BY_NAME)
        self.assertEqual(every, catalog.requests_at("2.1", every))
        self.assertEqual(every, catalog.requests_at("latest", every))
        self.assertEqual(("trigger_crash_dump",),
                         catalog.requests_at("2.17", every))
        for mv, names in catalog.MICROVERSION_REQUESTS.items():
            self.assertIn(mv, catalog.MICROVERSIONS)
            for name in names:
                self.assertIn(name, catalog.REQUESTS_BY_NAME)


class CommandTest(testtools.TestCase):

    def test_narrowing_keeps_the_slice(self):
        from nova_compat import __main__ as command
        chosen = command.narrowed(command.parse(
            ["--slice", "ci", "--state", "stopped", "--no-variants"]))
        self.assertEqual(("stopped",), chosen.states)
        self.assertEqual(catalog.SLICES["ci"].microversions,
                         chosen.microversions)
        self.assertEqual(catalog.CI_VARIANT_TARGETS, chosen.variant_targets)
        self.assertFalse(chosen.variants)
        self.assertRaises(SystemExit, command.narrowed, command.parse(
            ["--state", "no-such-state"]))

    def test_shares_keep_a_base_together(self):
        from nova_compat import __main__ as command
        states = catalog.SLICES["ci"].states
        got = command.shares(states, 2)
        self.assertEqual(2, len(got))
        self.assertEqual(sorted(states), sorted(sum(got, ())))
        for share in got:
            bases = {catalog.STATES_BY_NAME[s].base for s in share}
            for other in got:
                if other is not share:
                    self.assertFalse(bases & {
                        catalog.STATES_BY_NAME[s].base for s in other})
        self.assertEqual([states], [tuple(sorted(
            command.shares(states, 1)[0], key=states.index))])

    def test_json_round_trip(self):
        results = [result(CONFLICT, CONFLICT, False, "chunked body", True),
                   result(ACCEPTED, CONFLICT, True, mv="latest")]
        again = cells.from_json(json.loads(json.dumps(
            cells.as_json(results))))
        self.assertEqual(results, again)
        self.assertTrue(again[0].bypass)
