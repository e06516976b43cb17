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

"""A small REST client of ``vmstate-api`` on a keystoneauth session.

keystoneauth does the authentication (a token from Keystone, or none),
the microversion header (``OpenStack-API-Version: instance-state X.Y``)
and the request ids; this module knows the paths and turns fault bodies
into one-line errors (:class:`APIError`), such as a 409 with the actions
that are allowed instead.
"""

from collections.abc import Sequence
from typing import Any
from urllib import parse

from keystoneauth1 import adapter
from keystoneauth1 import exceptions as ks_exc
from osc_lib import exceptions as osc_exc

#: The service type in the Keystone catalog and the microversion header.
SERVICE_TYPE = "instance-state"
USER_AGENT = "python-vmstate-osc"


class APIError(osc_exc.CommandError):
    """A request the service refused, as one line: the fault's message,
    and for a conflict the actions allowed instead.

    ``code`` is the HTTP status (0 when the service could not be reached).
    """

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


def _fault_message(response: Any) -> str:
    """The one line that says why ``response`` failed."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail: dict[str, Any] = {}
    if isinstance(body, dict) and len(body) == 1:
        inner = next(iter(body.values()))
        if isinstance(inner, dict):
            detail = inner
    message = str(detail.get("message") or response.reason or
                  "HTTP %d" % response.status_code)
    message = " ".join(message.split())
    if response.status_code == 409 and "allowed_actions" in detail:
        allowed = detail["allowed_actions"]
        message += " (allowed actions: %s)" % (
            ", ".join(allowed) if allowed else "none")
    elif response.status_code == 409 and "actual" in detail:
        message += " (expected %s, found %s)" % (detail.get("expected"),
                                                 detail["actual"])
    return "%s (HTTP %d)" % (message, response.status_code)


def microversion_of(api_version: str) -> str:
    """The microversion to ask for: ``1`` means 1.0."""
    return "1.0" if api_version in ("", "1") else api_version


class Client:
    """The instance-state API v1, one method per request.

    :param session: a keystoneauth1 session (authenticated or not).
    :param endpoint: the service's root URL (the catalog's endpoint, or
        ``--os-endpoint``); a trailing ``/v1`` is ignored.
    :param api_version: ``1`` or a microversion ``1.X``.
    """

    def __init__(self, session: Any, endpoint: str | None,
                 api_version: str = "1") -> None:
        if not endpoint:
            raise osc_exc.CommandError(
                "No endpoint for the service type %s: give --os-endpoint, "
                "or register it in the Keystone catalog" % SERVICE_TYPE)
        root = endpoint.rstrip("/")
        if root.endswith("/v1"):
            root = root[:-3]
        self.microversion = microversion_of(api_version)
        self.http = adapter.Adapter(
            session, service_type=SERVICE_TYPE, endpoint_override=root,
            default_microversion=self.microversion, user_agent=USER_AGENT,
            raise_exc=False)

    def _request(self, method: str, url: str, body: Any = None,
                 **kwargs: Any) -> Any:
        if body is not None:
            kwargs["json"] = body
        try:
            response = self.http.request(url, method, **kwargs)
        except ks_exc.ConnectFailure as err:
            raise APIError("Cannot reach %s: %s" % (
                self.http.endpoint_override, err)) from None
        except ks_exc.ClientException as err:
            raise APIError(str(err)) from None
        if response.status_code >= 400:
            raise APIError(_fault_message(response), response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _pages(self, url: str, key: str, params: list[tuple[str, Any]],
               limit: int | None) -> list[dict[str, Any]]:
        """Every item of a paginated list (following ``next``), or the
        first ``limit`` of them."""
        query = list(params)
        if limit is not None:
            query.append(("limit", limit))
        body = self._request("GET", url, params=query)
        items = list(body[key])
        while body.get("next") and (limit is None or len(items) < limit):
            marker = parse.parse_qs(parse.urlsplit(body["next"]).query).get(
                "marker")
            if not marker:
                break
            page = [(k, v) for k, v in query if k != "marker"]
            page.append(("marker", marker[-1]))
            body = self._request("GET", url, params=page)
            items.extend(body[key])
        return items if limit is None else items[:limit]

    # -- instances -------------------------------------------------------

    def instances(self, vm_states: Sequence[str] = (),
                  task_states: Sequence[str | None] = (),
                  limit: int | None = None) -> list[dict[str, Any]]:
        """``GET /v1/instances``; a task_state ``None`` is "no task"."""
        params: list[tuple[str, Any]] = [("vm_state", v) for v in vm_states]
        params += [("task_state", t or "") for t in task_states]
        return self._pages("/v1/instances", "instances", params, limit)

    def instance(self, uuid: str) -> dict[str, Any]:
        """``GET /v1/instances/{uuid}``: the instance view."""
        found: dict[str, Any] = self._request(
            "GET", "/v1/instances/%s" % _quote(uuid))["instance"]
        return found

    def action(self, uuid: str, action: str, queue: bool | None = None,
               reason: str | None = None) -> dict[str, Any]:
        """``POST /v1/instances/{uuid}/actions``: the 202 body
        (``instance``, and ``queued`` when it was queued)."""
        body: dict[str, Any] = {"action": action}
        if queue is not None:
            body["queue"] = queue
        if reason is not None:
            body["reason"] = reason
        accepted: dict[str, Any] = self._request(
            "POST", "/v1/instances/%s/actions" % _quote(uuid), body)
        return accepted

    def reset(self, uuid: str, vm_state: str, reason: str
              ) -> dict[str, Any]:
        """``POST /v1/instances/{uuid}/reset`` (admin): the instance."""
        reset: dict[str, Any] = self._request(
            "POST", "/v1/instances/%s/reset" % _quote(uuid),
            {"vm_state": vm_state, "reason": reason})["instance"]
        return reset

    def wait(self, uuid: str, targets: list[str], timeout: float | None
             ) -> dict[str, Any]:
        """``GET /v1/instances/{uuid}/wait``: the long-poll's answer
        (``status``, ``seen``, ``instance``)."""
        params: list[tuple[str, Any]] = [("for", t) for t in targets]
        if timeout is not None:
            params.append(("timeout", timeout))
        answer: dict[str, Any] = self._request(
            "GET", "/v1/instances/%s/wait" % _quote(uuid), params=params)
        return answer

    def events(self, uuid: str, limit: int | None = None
               ) -> list[dict[str, Any]]:
        """``GET /v1/instances/{uuid}/events``, oldest first."""
        return self._pages("/v1/instances/%s/events" % _quote(uuid),
                           "events", [], limit)

    # -- the matrix ------------------------------------------------------

    def matrix(self) -> dict[str, Any]:
        """``GET /v1/matrix``: the effective allowed-actions matrix."""
        matrix: dict[str, Any] = self._request("GET", "/v1/matrix")["matrix"]
        return matrix


def _quote(value: str) -> str:
    return parse.quote(value, safe="")
