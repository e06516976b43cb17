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

"""The summary of skipped tests printed at the end of a run."""

import os
import subprocess
import sys
import textwrap

import fixtures

from tests import base
from tests import skips


class TestSummary(base.TestCase):

    def test_totals_by_reason_across_processes(self):
        records = {
            "11": [[skips.DATABASE, "Backend 'postgresql' is unavailable",
                    3],
                   [skips.OTHER, "RabbitMQ unreachable", 1]],
            "12": [[skips.DATABASE, "Backend 'postgresql' is unavailable",
                    2],
                   [skips.DATABASE, "Backend 'mysql' is unavailable", 4]],
        }
        lines = skips.summary(records)
        self.assertEqual("vmstate tests: 9 database tests skipped:",
                         lines[0])
        self.assertEqual(["  5 Backend 'postgresql' is unavailable",
                          "  4 Backend 'mysql' is unavailable"],
                         lines[1:3])
        self.assertIn("tools/test-setup.sh", lines[3])
        self.assertEqual(["vmstate tests: 1 other tests skipped:",
                          "  1 RabbitMQ unreachable"], lines[4:])

    def test_nothing_skipped(self):
        self.assertEqual(["vmstate tests: 0 database tests skipped"],
                         skips.summary({"1": []}))

    def test_database_skips_are_recorded(self):
        from tests.functional.db import base as db_base

        class Unreachable(db_base.TestCase):
            # A backend oslo.db cannot provision here.
            FIXTURE = type("NoSuch", (db_base.MigratedDatabase,),
                           {"DRIVER": "nosuchdb"})
            SKIP_ON_UNAVAILABLE_DB = True

            def test_it(self):
                raise AssertionError("must not run")

        # A counter of its own, so the summary of this run does not count
        # this test's skip.
        counted = self.useFixture(fixtures.MonkeyPatch(
            "tests.skips._skipped", type(skips._skipped)())).new_value
        result = Unreachable("test_it").run()
        self.assertTrue(result.wasSuccessful())
        self.assertEqual([(skips.DATABASE, 1)],
                         [(kind, n) for (kind, _), n in counted.items()])

    def test_last_process_prints(self):
        # Two test processes of one run (one process group): only the
        # last to exit prints, with both processes' skips.
        script = textwrap.dedent("""
            import sys, time
            sys.argv = ["python", "-m", "stestr.subunit_runner.run"]
            from tests import skips
            skips.install()
            skips.record(skips.DATABASE, "reason " + sys.argv_tag)
            time.sleep(float(sys.argv_delay))
        """)
        env = dict(os.environ, TMPDIR=self.useFixture(
            fixtures.TempDir()).path)
        procs = []
        group = 0   # the first starts a process group, the second joins it
        for tag, delay in (("a", "0.2"), ("b", "1.5")):
            code = script.replace("sys.argv_tag", repr(tag)).replace(
                "sys.argv_delay", repr(delay))
            procs.append(subprocess.Popen(
                [sys.executable, "-c", code, "-m",
                 "stestr.subunit_runner.run"],
                stderr=subprocess.PIPE, text=True, env=env,
                process_group=group,
                cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                    os.path.abspath(__file__))))))
            group = procs[0].pid
        errs = [p.communicate(timeout=60)[1] for p in procs]
        self.assertEqual("", errs[0])
        self.assertIn("vmstate tests: 2 database tests skipped:", errs[1])
        self.assertIn("  1 reason a", errs[1])
        self.assertIn("  1 reason b", errs[1])
