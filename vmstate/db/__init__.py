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


"""The state store: the only code that touches the database.

:mod:`vmstate.db.api` is the interface (create, get, list, history, and the
compare-and-swap operations ``transition``, ``begin`` and ``checkpoint``);
:mod:`vmstate.db.models` the tables; :mod:`vmstate.db.migration` the
alembic schema migrations. Nothing here knows the matrix or HTTP: the
lifecycle layer turns matrix facts into
:class:`~vmstate.db.conditions.AllowedCells` before calling in.

The lifecycle engine's SQL lives beside it, one module each: expired
tasks and their compare-and-swap (:mod:`vmstate.db.heartbeats`), failure
counters (:mod:`vmstate.db.failures`), queued actions
(:mod:`vmstate.db.action_queue`), observed power states
(:mod:`vmstate.db.power_states`) and admin resets
(:mod:`vmstate.db.overrides`).
Every write that records a transition hands it to
:mod:`vmstate.db.listeners` after its commit.
"""
