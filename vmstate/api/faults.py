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

"""One formatter turns any failure into a Nova-style fault body.

``{"<fault>": {"code": N, "message": "...", <details>}}``: vmstate's own
exceptions carry their code, fault name and details; webob's HTTP errors
(an unknown route, a wrong method, a body over the size limit, an
authentication failure from keystonemiddleware) are named by their status.
Anything else is a bug: it is logged with its traceback and answered with a
500 that shows none of it.
"""

from collections.abc import Callable
from collections.abc import Iterable
import json
from typing import Any

from oslo_db import exception as db_exc
from oslo_log import log as logging
import webob
import webob.dec
import webob.exc

from vmstate import exception

LOG = logging.getLogger(__name__)

# Nova's fault names by status; DESIGN.md fixes 413 as requestEntityTooLarge.
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflictingRequest",
    413: "requestEntityTooLarge",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}
KNOWN_FAULTS = frozenset(FAULT_NAMES.values()) | {"computeFault"}
INTERNAL = ("The server has either erred or is incapable of performing the "
            "requested operation.")


def fault_name(code: int) -> str:
    return FAULT_NAMES.get(code, "computeFault" if code >= 500
                           else "badRequest")


def fault_response(code: int, body: dict[str, Any],
                   headers: Iterable[tuple[str, str]] = ()) -> webob.Response:
    response = webob.Response(status=code, content_type="application/json",
                              charset="utf-8")
    response.text = json.dumps(body)
    for name, value in headers:
        response.headers[name] = value
    return response


def from_exception(err: BaseException) -> webob.Response:
    """The fault response for any exception (500 without details if ours
    doesn't know it)."""
    if isinstance(err, exception.OverLimit):
        return fault_response(err.code, err.fault_body(),
                              [("Retry-After", str(err.retry_after))])
    if isinstance(err, exception.VMStateError) and err.code < 500:
        return fault_response(err.code, err.fault_body())
    if isinstance(err, exception.VMStateError):
        LOG.error("Request failed: %s", err)
        return fault_response(err.code, err.fault_body())
    if isinstance(err, webob.exc.WSGIHTTPException):
        return from_http_error(err)
    if isinstance(err, RecursionError) and "decoding a JSON" in str(err):
        # Pecan reads JSON bodies while routing, before vmstate's own
        # validation could refuse one nested too deeply.
        return fault_response(400, {"badRequest": {
            "code": 400,
            "message": "Malformed request body: nested too deeply"}})
    if isinstance(err, db_exc.DBConnectionError):
        # Still unreachable after the store's retries: a state the client
        # can wait out, not a bug.
        LOG.warning("Database unavailable: %s", err)
        return fault_response(503, {"serviceUnavailable": {
            "code": 503, "message": "The state store is unavailable; try "
                                    "again shortly."}},
                              [("Retry-After", "5")])
    if isinstance(err, db_exc.DBDeadlock):
        # Still deadlocked after the retries: a lost race, nothing applied.
        return fault_response(409, {"conflictingRequest": {
            "code": 409, "message": "The change lost a race with another "
                                    "one; nothing was applied. Try again."}})
    LOG.exception("Unexpected error while serving the request")
    return fault_response(500, {"computeFault": {"code": 500,
                                                 "message": INTERNAL}})


# Our own words where webob's would mislead (its 405 explanation is the
# 400 one; oslo.middleware's 413 detail carries a literal "%s").
MESSAGES = {
    405: "The method is not allowed for this resource; see Allow.",
    413: "The request body is larger than this service accepts.",
}


def from_http_error(err: webob.exc.WSGIHTTPException) -> webob.Response:
    code = err.code
    message = MESSAGES.get(code) or err.detail or err.explanation or err.title
    headers = []
    allow = err.headers.get("Allow") if err.headers else None
    if allow:
        headers.append(("Allow", allow))
    if code == 401 and err.headers.get("WWW-Authenticate"):
        headers.append(("WWW-Authenticate", err.headers["WWW-Authenticate"]))
    return fault_response(code, {fault_name(code): {"code": code,
                                                    "message": message}},
                          headers)


def _is_fault_body(response: webob.Response) -> bool:
    if response.content_type != "application/json":
        return False
    try:
        body = json.loads(response.body)
    except ValueError:
        return False
    # Ours name the fault as Nova does; keystonemiddleware's "error" and
    # other shapes are rewritten.
    return (isinstance(body, dict) and len(body) == 1
            and next(iter(body)) in KNOWN_FAULTS
            and isinstance(next(iter(body.values())), dict))


class FaultWrapper:
    """Outermost filter: every error leaves as a fault body.

    Catches what escapes the application and rewrites error responses that
    inner middleware produced in their own format (webob's HTML or text,
    keystonemiddleware's JSON).
    """

    def __init__(self, application: Callable[..., Any]) -> None:
        self.application = application

    @classmethod
    def factory(cls, global_conf: dict[str, Any] | None, **local_conf: Any
                ) -> Callable[[Callable[..., Any]], "FaultWrapper"]:
        """For paste.deploy: ``paste.filter_factory``."""
        return cls

    @webob.dec.wsgify
    def __call__(self, request: webob.Request) -> webob.Response:
        try:
            response = request.get_response(self.application)
        except Exception as err:
            return from_exception(err)
        if response.status_int < 400 or _is_fault_body(response):
            return response
        code = response.status_int
        message = MESSAGES.get(code) or response.status.split(" ", 1)[-1]
        try:
            text = response.text
        except (UnicodeDecodeError, AttributeError):
            text = ""
        detail = _detail_of(response.content_type, text)
        headers = [(h, response.headers[h])
                   for h in ("Allow", "WWW-Authenticate")
                   if h in response.headers]
        if code in MESSAGES:
            detail = MESSAGES[code]
        return fault_response(code, {fault_name(code): {
            "code": code, "message": detail or message}}, headers)


def _detail_of(content_type: str | None, text: str) -> str:
    """The human message inside another middleware's error body."""
    if content_type == "application/json":
        try:
            body = json.loads(text)
        except ValueError:
            return ""
        if isinstance(body, dict):
            inner = body.get("error", body)
            if isinstance(inner, dict):
                return str(inner.get("message") or inner.get("title") or "")
        return ""
    if content_type == "text/plain":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # webob's text bodies: status line, blank, explanation, detail.
        return " ".join(lines[1:]) if len(lines) > 1 else ""
    return ""
