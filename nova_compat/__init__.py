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

"""The compute guard measured in front of the real Nova API.

``tox -e nova-compat`` installs Nova (34.x, from PyPI, with the functional
test fixtures its wheel ships) and runs its API inside Nova's own
functional environment twice over one deployment: through Nova's
unmodified ``api-paste.ini``, and through the same file with vmstate's
``ComputeGuard`` after ``keystonecontext`` in both v2.1 pipelines
(``state_source = nova_db`` on the cell database). Every cell (a server
state, a request, a microversion, a caller) is sent to both and the two
answers are compared (:mod:`nova_compat.cells`).

:mod:`nova_compat.cells`, :mod:`nova_compat.catalog` and
:mod:`nova_compat.pipeline` import nothing of Nova (the unit tests use
them); :mod:`nova_compat.deployment` and :mod:`nova_compat.runner` need
Nova's functional environment.
"""
