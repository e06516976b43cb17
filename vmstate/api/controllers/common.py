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

"""What every controller does the same way."""

import re
from typing import Any

from vmstate import exception
from vmstate.api import policy
from vmstate.api import schemas

_UUID = re.compile(schemas.UUID_PATTERN)


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def uuid_or_404(value: str) -> str:
    """The instance id of a path, lower case.

    :raises InstanceNotFound: a malformed id names no instance (404, as
        Nova answers).
    """
    if not is_uuid(value):
        raise exception.InstanceNotFound(value)
    return value.lower()


def scoped(ctx: Any) -> Any:
    """The context to act with: every project's, where policy says so."""
    if policy.check("vmstate:instance:all_projects", ctx):
        return ctx.elevated()
    return ctx
