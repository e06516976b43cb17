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

"""``/healthcheck``'s store backend for oslo.middleware's healthcheck.

Installed as the ``vmstate_store`` entry point of
``oslo.middleware.healthcheck`` and on by default in vmstate-api
(``[healthcheck] backends``): ``/healthcheck`` answers 503 with the
reason when the store cannot be read or written
(:mod:`vmstate.db.health`), 200 otherwise. The answer is kept for
``CACHE_SECONDS``, so a storm of probes costs at most one store check
per interval.
"""

import threading
import time
from typing import Any

from oslo_middleware.healthcheck import pluginbase

from vmstate import context
from vmstate.db import health

NAME = "vmstate_store"
#: Seconds one store check answers for.
CACHE_SECONDS = 1.0


class StoreHealthcheck(pluginbase.HealthcheckBaseExtension):
    """Available while the store can be read and written."""

    def __init__(self, oslo_conf: Any, conf: Any) -> None:
        super().__init__(oslo_conf, conf)
        self._lock = threading.Lock()
        self._checked_at = -CACHE_SECONDS
        self._result = pluginbase.HealthcheckResult(True, "OK")

    def healthcheck(self, server_port: int
                    ) -> pluginbase.HealthcheckResult:
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= CACHE_SECONDS:
                self._result = self._check()
                self._checked_at = time.monotonic()
            return self._result

    @staticmethod
    def _check() -> pluginbase.HealthcheckResult:
        try:
            health.check(context.get_admin_context())
        except health.StoreUnusable as err:
            return pluginbase.HealthcheckResult(
                False, "state store %s" % err, details=str(err))
        return pluginbase.HealthcheckResult(True, "OK")
