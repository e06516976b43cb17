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

"""API microversions: ``OpenStack-API-Version: instance-state X.Y``.

As in Nova and Placement (the API-SIG's microversion guideline): a client
names the version it speaks in the standard header, for this service type;
no header, or a header for another service only, means the minimum;
``latest`` means the maximum. A version that is not one of
:data:`VERSIONS` answers 406 ``notAcceptable``; a malformed one 400
``badRequest``. Every response, errors included, says which version
answered (``OpenStack-API-Version: instance-state X.Y``) and that it
varies with the request's header (``Vary: OpenStack-API-Version``).

Parsing and the range check are microversion-parse's; this filter only
adds the fault bodies and the headers on every response, which its own
middleware leaves to the application.

Each change to a request or an answer after 1.0 is a new version appended
to :data:`VERSIONS`, with its entry in ``rest_api_version_history.rst``
beside this module (a test keeps the two in step); controllers ask
:func:`requested` whether the caller speaks it.
"""

from collections.abc import Callable
import re
from typing import Any

import microversion_parse
import webob
import webob.dec

from vmstate.api import faults

#: The service type, in the Keystone catalog and in the header.
SERVICE_TYPE = "instance-state"
#: Every microversion, oldest first. 1.0 is the API of DESIGN.md.
VERSIONS = ("1.0",)
MIN_VERSION = VERSIONS[0]
MAX_VERSION = VERSIONS[-1]
HEADER = "OpenStack-API-Version"
#: Where the request's version is kept for the controllers.
ENVIRON_KEY = "%s.microversion" % SERVICE_TYPE

# Nova's grammar (no leading zeros, no sign, no spaces inside), but a
# major version 0 is below the range (406) rather than malformed.
_WELL_FORMED = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)$")


class NotAcceptable(ValueError):
    """A well-formed version this service does not speak (406)."""


class Malformed(TypeError):
    """A version that is not ``X.Y`` nor ``latest`` (400)."""


def parse(headers: Any) -> microversion_parse.Version:
    """The version a request asks for.

    :param headers: the request's headers (a mapping, or a WSGI environ).
    :returns: a :class:`microversion_parse.Version` within
        ``MIN_VERSION``..``MAX_VERSION``.
    :raises Malformed: the header's value for ``instance-state`` is not
        ``X.Y`` or ``latest``.
    :raises NotAcceptable: the version is out of range.
    """
    found = microversion_parse.get_version(headers, SERVICE_TYPE)
    if found is not None:
        found = found.strip()
        if found.lower() == "latest":
            found = "latest"
        elif not _WELL_FORMED.match(found):
            raise Malformed(
                "Invalid API version %r: give %s as X.Y or latest"
                % (found, SERVICE_TYPE))
        headers = {HEADER: "%s %s" % (SERVICE_TYPE, found)}
    try:
        return microversion_parse.extract_version(headers, SERVICE_TYPE,
                                                  VERSIONS)
    except ValueError:
        raise NotAcceptable(
            "Version %s is not supported by the API. Minimum is %s and "
            "maximum is %s." % (found, MIN_VERSION, MAX_VERSION)) from None


def requested(environ: dict[str, Any]) -> microversion_parse.Version:
    """The version of the request being served (the minimum outside the
    filter, as for a request without the header)."""
    version: microversion_parse.Version | None = environ.get(ENVIRON_KEY)
    if version is None:
        return parse({})
    return version


def _stamp(response: webob.Response, version: str) -> webob.Response:
    response.headers[HEADER] = "%s %s" % (SERVICE_TYPE, version)
    vary = [v.strip() for v in response.headers.get("Vary", "").split(",")
            if v.strip()]
    if HEADER.lower() not in (v.lower() for v in vary):
        vary.append(HEADER)
    response.headers["Vary"] = ", ".join(vary)
    return response


class MicroversionFilter:
    """WSGI filter: parses the header, refuses what is out of range, and
    stamps every response with the version that answered.

    It sits outside the fault wrapper, so even an error the wrapper
    formats carries the headers.
    """

    def __init__(self, application: Callable[..., Any]) -> None:
        self.application = application

    @classmethod
    def factory(cls, global_conf: dict[str, Any] | None, **local_conf: Any
                ) -> Callable[[Callable[..., Any]], "MicroversionFilter"]:
        """For paste.deploy: ``paste.filter_factory``."""
        return cls

    @webob.dec.wsgify
    def __call__(self, request: webob.Request) -> webob.Response:
        try:
            version = parse(request.headers)
        except Malformed as err:
            return _stamp(faults.fault_response(400, {"badRequest": {
                "code": 400, "message": str(err)}}), MIN_VERSION)
        except NotAcceptable as err:
            return _stamp(faults.fault_response(406, {"notAcceptable": {
                "code": 406, "message": str(err)}}), MIN_VERSION)
        request.environ[ENVIRON_KEY] = version
        return _stamp(request.get_response(self.application), str(version))
