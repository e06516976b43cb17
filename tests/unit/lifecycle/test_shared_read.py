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

"""Shared reads: one read per version for all the waits that need it,
never an answer older than a wait may take."""

import threading
import time

import fixtures

from tests import base
from vmstate import context
from vmstate import exception
from vmstate.lifecycle import shared_read

UUID = "6c3d1a8e-0a4f-4a57-9a53-0f5e1b1c2d3e"


def member(project):
    return context.RequestContext(project_id=project, user_id="u",
                                  roles=["member"], is_admin=False,
                                  overwrite=False)


class TestSharedReads(base.TestCase):

    def setUp(self):
        super().setUp()
        self.version = 1
        self.calls = []
        self.gate = None
        self.fail = None
        self.useFixture(fixtures.MockPatch(
            "vmstate.lifecycle.shared_read.action_queue.instance_with_queue",
            side_effect=self._read))
        self.reads = shared_read.SharedReads()
        self.ctx = member("p1")

    def _read(self, ctx, uuid):
        self.calls.append((ctx.project_id, uuid))
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        return {"uuid": uuid, "version": self.version, "queue": []}

    def _waits(self, count, **kw):
        results, errors = [], []

        def get():
            try:
                results.append(self.reads.get(self.ctx, UUID, **kw))
            except Exception as err:  # collected; asserted by the test
                errors.append(err)

        threads = [threading.Thread(target=get) for _ in range(count)]
        for thread in threads:
            thread.start()
        return threads, results, errors

    def _join(self, threads):
        for thread in threads:
            thread.join(10)
        self.assertFalse(any(t.is_alive() for t in threads))

    def test_waits_woken_by_one_version_share_one_read(self):
        for _ in range(50):
            self.reads.register(self.ctx, UUID)
        self.version = 2
        self.gate = threading.Event()
        threads, results, errors = self._waits(50, version=2)
        time.sleep(0.1)
        self.gate.set()
        self._join(threads)
        self.assertEqual([], errors)
        self.assertEqual(1, len(self.calls))
        self.assertEqual([2] * 50, [r["version"] for r in results])
        # Each has its own copy: one answer changed changes no other.
        results[0]["queue"].append("x")
        self.assertEqual([], results[1]["queue"])

    def test_a_newer_version_is_read_again(self):
        self.reads.register(self.ctx, UUID)
        self.assertEqual(1, self.reads.get(self.ctx, UUID,
                                           version=1)["version"])
        self.assertEqual(1, self.reads.get(self.ctx, UUID,
                                           version=1)["version"])
        self.assertEqual(1, len(self.calls))
        self.version = 2
        self.assertEqual(2, self.reads.get(self.ctx, UUID,
                                           version=2)["version"])
        self.assertEqual(2, len(self.calls))

    def test_a_read_from_before_the_moment_asked_is_not_taken(self):
        self.reads.register(self.ctx, UUID)
        self.reads.get(self.ctx, UUID, after=time.monotonic())
        later = time.monotonic() + 0.001
        time.sleep(0.002)
        self.reads.get(self.ctx, UUID, after=later)
        self.assertEqual(2, len(self.calls))

    def test_nothing_is_kept_once_the_last_wait_ends(self):
        self.reads.register(self.ctx, UUID)
        self.reads.register(self.ctx, UUID)
        self.reads.get(self.ctx, UUID, version=1)
        self.reads.unregister(self.ctx, UUID)
        self.reads.get(self.ctx, UUID, version=1)
        self.assertEqual(1, len(self.calls))
        self.reads.unregister(self.ctx, UUID)
        self.reads.get(self.ctx, UUID, version=1)
        self.reads.get(self.ctx, UUID, version=1)
        self.assertEqual(3, len(self.calls))

    def test_projects_do_not_share(self):
        other = member("p2")
        self.reads.register(self.ctx, UUID)
        self.reads.register(other, UUID)
        self.reads.get(self.ctx, UUID, version=1)
        self.reads.get(other, UUID, version=1)
        self.assertEqual([("p1", UUID), ("p2", UUID)], self.calls)

    def test_a_failure_reaches_every_joiner_and_is_not_kept(self):
        for _ in range(5):
            self.reads.register(self.ctx, UUID)
        self.gate = threading.Event()
        self.fail = exception.InstanceNotFound(UUID)
        threads, results, errors = self._waits(5, version=1)
        time.sleep(0.1)
        self.gate.set()
        self._join(threads)
        self.assertEqual([], results)
        self.assertEqual(5, len(errors))
        self.assertTrue(all(isinstance(e, exception.InstanceNotFound)
                            for e in errors))
        self.assertEqual(1, len(self.calls))
        self.fail = None
        self.gate = None
        self.assertEqual(1, self.reads.get(self.ctx, UUID,
                                           version=1)["version"])
        self.assertEqual(2, len(self.calls))
