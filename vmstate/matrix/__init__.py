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

"""The allowed-actions matrix: which actions may start from each state.

Plugins (stevedore entry points in ``vmstate.matrix``) build it through a
:class:`Builder`; everyone else reads the immutable, compiled
:class:`Matrix`. The matrix knows nothing of the database or of HTTP.
"""

from vmstate.matrix.builder import ActionDef
from vmstate.matrix.builder import Builder
from vmstate.matrix.builder import TimeoutDef
from vmstate.matrix.compiled import OTHER
from vmstate.matrix.compiled import Explanation
from vmstate.matrix.compiled import Matrix
from vmstate.matrix.loader import NAMESPACE
from vmstate.matrix.loader import compose
from vmstate.matrix.loader import from_plugins
from vmstate.matrix.loader import get
from vmstate.matrix.loader import installed_plugins
from vmstate.matrix.loader import load
from vmstate.matrix.loader import set_default
from vmstate.matrix.loader import subscribe

__all__ = [
    "NAMESPACE", "OTHER", "ActionDef", "Builder", "Explanation", "Matrix",
    "TimeoutDef",
    "compose", "from_plugins", "get", "installed_plugins", "load",
    "set_default", "subscribe",
]
