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

"""Base test case and fixtures shared by unit and functional tests."""

import os

import fixtures
from oslo_config import fixture as config_fixture
from oslo_db.sqlalchemy import test_fixtures
from oslotest import base

from tests import skips
from vmstate import matrix
from vmstate.conf import CONF
from vmstate.matrix import loader


class MatrixFixture(fixtures.Fixture):
    """Give the test its own process matrix; restore the previous one after.

    :param value: a :class:`~vmstate.matrix.Matrix` to install, or ``None``
        to have the configured one loaded on first use.
    """

    def __init__(self, value: "matrix.Matrix | None" = None) -> None:
        super().__init__()
        self.value = value

    def _setUp(self) -> None:
        previous = loader._default
        matrix.set_default(self.value)
        self.addCleanup(matrix.set_default, previous)


#: Seconds a test may run when ``OS_TEST_TIMEOUT`` is not set (oslotest
#: applies that variable itself): a hung test fails with a traceback
#: instead of holding the run until CI's limit. The longest tests (a
#: Galera cluster started and killed) take about 200 s on a loaded machine.
DEFAULT_TEST_TIMEOUT = 900


class TestCase(base.BaseTestCase):
    """oslotest's base with a private config, a private process matrix,
    and a per-test timeout (:data:`DEFAULT_TEST_TIMEOUT`)."""

    def setUp(self) -> None:
        super().setUp()
        if "OS_TEST_TIMEOUT" not in os.environ:
            self.useFixture(fixtures.Timeout(DEFAULT_TEST_TIMEOUT,
                                             gentle=True))
        # A parsed, empty configuration: libraries that look for files
        # (oslo.policy) need the parser to have run, and no test may read
        # the machine's /etc/vmstate.
        CONF([], project="vmstate", default_config_files=[])
        self.config_fixture = self.useFixture(config_fixture.Config(CONF))
        self.useFixture(MatrixFixture())

    def skipTest(self, reason: str) -> None:  # noqa: N802 (unittest's name)
        """Skip, and count the skip for the summary at the end of the run
        (:mod:`tests.skips`)."""
        kind = (skips.DATABASE if isinstance(
            self, test_fixtures.OpportunisticDBTestMixin) else skips.OTHER)
        skips.record(kind, reason)
        super().skipTest(reason)

    def flags(self, group: str | None = None, **kw: object) -> None:
        """Override config options for this test only."""
        self.config_fixture.config(group=group, **kw)
