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

"""vmstate's tests.

Log records, stdout and stderr of the tests are captured (oslotest's
fixtures) and shown only with a failing test, however the suite is
started: ``stestr run`` as the README says, or tox.
"""

import os

for _name in ("OS_LOG_CAPTURE", "OS_STDOUT_CAPTURE", "OS_STDERR_CAPTURE"):
    os.environ.setdefault(_name, "1")

# Say at the end of the run how many tests were skipped and why.
from tests import skips  # noqa: E402

skips.install()
