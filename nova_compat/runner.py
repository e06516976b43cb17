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

"""Nova's functional environment, two API pipelines, and the measurement.

:class:`Deployment` is one of Nova's own functional test cases
(``nova.tests.functional.integrated_helpers._IntegratedTestBase``):
conductor, scheduler, one compute on the fake virt driver, the
placement, cinder, neutron and glance fixtures, the API and cell
databases in file SQLite (Nova's threading mode). Its one test loads
Nova's API twice from paste files, both over that same deployment:
Nova's ``api-paste.ini`` as shipped, and the same file with the guard
inserted (:func:`nova_compat.pipeline.guarded`); then it drives servers
into each state through the API, writes task_states on the records, and
sends every cell's request to both (:meth:`Deployment.measure`).

A request the guard let through reached Nova: the probe behind the guard
shows whether it arrived untouched (method, path, headers, body), and then
that answer is Nova's (Nova may have acted on it, so it is not sent again).
A request the guard answered itself, or altered and Nova refused, is sent
to Nova alone on the unchanged state. After any success the
server is built again through the API, so each cell starts from its
state.
"""

from collections.abc import Callable
import io
import json
import logging as std_logging
import os
import sqlite3
import sys
import tempfile
import time
from typing import Any
import urllib.parse
import uuid as uuid_mod

import fixtures
from nova import context as nova_context
from nova.db.main import api as main_db_api
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import integrated_helpers
from oslo_utils.fixture import uuidsentinel as uuids
import paste.deploy
import webob

from nova_compat import catalog
from nova_compat import cells
from nova_compat import pipeline

PROJECT_ID = nova_fixtures.PROJECT_ID
CALLER_HEADERS = {
    "admin": {"X-Auth-User": "admin", "X-User-Id": "admin",
              "X-Roles": "reader,member,admin"},
    "member": {"X-Auth-User": "fake", "X-User-Id": "fake",
               "X-Roles": "reader,member"},
}
#: How a server that an accepted request moved is brought back to its
#: base through the API: from a vm_state to ``active`` ...
TO_ACTIVE: dict[str, Any] = {
    "stopped": {"os-start": None}, "paused": {"unpause": None},
    "suspended": {"resume": None}, "rescued": {"unrescue": None},
    "resized": {"revertResize": None}, "shelved": {"unshelve": None},
    "shelved_offloaded": {"unshelve": None},
    "error": {"os-resetState": {"state": "active"}},
}
#: ... and from ``active`` (or ``shelved``) towards the base's vm_state.
FROM_ACTIVE: dict[tuple[str, str], Any] = {
    ("active", "stopped"): {"os-stop": None},
    ("active", "paused"): {"pause": None},
    ("active", "suspended"): {"suspend": None},
    ("active", "rescued"): {"rescue": None},
    ("active", "shelved"): {"shelve": None},
    ("active", "shelved_offloaded"): {"shelve": None},
    ("shelved", "shelved_offloaded"): {"shelveOffload": None},
    ("active", "error"): {"os-resetState": {"state": "error"}},
}
#: What a run does, set by :func:`run` before the test case runs.
PLAN: dict[str, Any] = {}


def nova_paste_ini() -> str:
    """Nova's own ``api-paste.ini``, as its wheel installs it."""
    for base in (sys.prefix, sys.base_prefix, "/usr/local", "/usr"):
        path = os.path.join(base, "etc", "nova", "api-paste.ini")
        if os.path.exists(path):
            return path
    raise RuntimeError("Nova's etc/nova/api-paste.ini is not installed")


class Wire:
    """One request as a server hands it to the WSGI application."""

    def __init__(self, method: str, path: str, headers: dict[str, Any],
                 body: bytes | None, chunked: bool = False) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.chunked = chunked

    def environ(self) -> dict[str, Any]:
        raw_path, _, query = self.path.partition("?")
        body = self.body or b""
        env: dict[str, Any] = {
            "REQUEST_METHOD": self.method, "SCRIPT_NAME": "",
            # Servers hand PATH_INFO over %-decoded (latin-1), as PEP 3333.
            "PATH_INFO": urllib.parse.unquote(raw_path, "latin-1"),
            "RAW_URI": self.path, "QUERY_STRING": query,
            "SERVER_NAME": "nova-compat", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": False, "wsgi.run_once": False,
            "HTTP_HOST": "nova-compat",
        }
        if self.chunked:
            # A server de-chunks the body and says the input ends.
            env["HTTP_TRANSFER_ENCODING"] = "chunked"
            env["wsgi.input_terminated"] = True
        elif self.body is not None:
            env["CONTENT_LENGTH"] = str(len(body))
        for name, value in self.headers.items():
            if value is None:
                continue
            if name.lower() == "content-type":
                env["CONTENT_TYPE"] = value
            else:
                env["HTTP_" + name.upper().replace("-", "_")] = value
        return env

    def send(self, app: Callable[..., Any]) -> tuple[int, bytes]:
        resp = webob.Request(self.environ()).get_response(app)
        return resp.status_int, resp.body


def untouched(wire: Wire, seen: dict[str, Any]) -> str | None:
    """How the request that reached Nova differs from the one sent
    (``None``: it does not)."""
    sent = pipeline.fingerprint(wire.environ())
    for key in ("method", "path", "query", "body_sha"):
        if sent[key] != seen[key]:
            return "%s %r became %r" % (key, sent[key], seen[key])
    theirs = dict(seen["headers"])
    for name, value in sent["headers"]:
        if theirs.get(name) != value:
            return "header %s %r became %r" % (name, value, theirs.get(name))
    return None


class Server:
    """A server of the measurement and its resources."""

    def __init__(self, uuid: str, base: str, volume: str | None,
                 port: str | None) -> None:
        self.uuid = uuid
        self.base = base
        self.volume = volume
        self.port = port
        #: The volume the next attach or swap names (never attached).
        self.spare_volume = str(uuid_mod.uuid4())
        self.record: tuple[Any, ...] | None = None
        self.base_record: tuple[Any, ...] | None = None

    def values(self, deployment: "Deployment") -> dict[str, str]:
        return {"server": self.uuid, "image": deployment.image,
                "flavor": deployment.other_flavor,
                "network": nova_fixtures.NeutronFixture.network_1["id"],
                "port": self.port or uuids.no_such_port,
                "volume": self.volume or uuids.no_such_volume,
                "new_volume": self.spare_volume}


class Deployment(integrated_helpers._IntegratedTestBase):
    """Nova's functional environment running one measurement."""

    ADMIN_API = False
    microversion = "latest"
    #: Seconds spent reaching states through the API (the report's).
    reach_seconds = 0.0

    def _setup_services(self) -> None:
        self.flags(api_paste_config=nova_paste_ini(), group="wsgi")
        self.flags(allow_resize_to_same_host=True)
        self.flags(shelved_offload_time=-1)
        # As deployed (Nova's tests make a response off its schema a 400).
        self.flags(response_validation="ignore", group="api")
        # Servers the measurement is done with are left alone, not deleted:
        # a compute that holds them all (Nova's tests default to one that
        # holds a single small server), and no quota.
        self.flags(compute_driver="fake.FakeDriver")
        for quota in ("instances", "cores", "ram"):
            self.flags(**{quota: -1, "group": "quota"})
        super()._setup_services()

    # -- the two pipelines -------------------------------------------------

    def _load_apps(self) -> None:
        tmp = self.useFixture(fixtures.TempDir()).path
        nova_ini = nova_paste_ini()
        cell_url = self._cell_db_url()
        self.cell_db = cell_url[len("sqlite:///"):]
        conf = os.path.join(tmp, "vmstate.conf")
        with open(conf, "w") as f:
            f.write("[guard]\nstate_source = nova_db\n"
                    "[nova_db]\nconnection = %s\n" % cell_url)
        with open(nova_ini) as f:
            text = f.read()
        guarded_ini = os.path.join(tmp, "api-paste-guarded.ini")
        with open(guarded_ini, "w") as f:
            f.write(pipeline.guarded(text, {"config_file": conf,
                                            "state_source": "nova_db"}))
        self.nova_app = paste.deploy.loadapp("config:" + nova_ini,
                                             name="osapi_compute")
        self.guard_app = paste.deploy.loadapp("config:" + guarded_ini,
                                              name="osapi_compute")

    def _cell_db_url(self) -> str:
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(
                ctxt, self.cell_mappings["cell1"]) as cctxt:
            url = main_db_api.get_engine(context=cctxt).url
        text = url.render_as_string(hide_password=False)
        if not text.startswith("sqlite:///") or text == "sqlite://":
            raise RuntimeError("cell1 is not a file SQLite database: %s "
                               "(is OS_NOVA_DISABLE_EVENTLET_PATCHING=1?)"
                               % text)
        return text

    # -- talking to Nova -----------------------------------------------------

    def wire(self, method: str, path: str, body: Any = None,
             caller: str = "admin", microversion: str = "latest",
             headers: dict[str, Any] | None = None) -> Wire:
        hdrs: dict[str, Any] = {"X-Auth-Project-Id": PROJECT_ID,
                                "OpenStack-API-Version":
                                    "compute %s" % microversion,
                                "X-OpenStack-Nova-API-Version":
                                    microversion}
        hdrs.update(CALLER_HEADERS[caller])
        raw = None
        if body is not None:
            raw = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        return Wire(method, path, hdrs, raw)

    def nova(self, method: str, path: str, body: Any = None,
             caller: str = "admin", microversion: str = "latest",
             ok: tuple[int, ...] = (200, 201, 202, 204)) -> Any:
        """A request to Nova alone (setting states up); its JSON body."""
        status, out = self.wire(method, "/v2.1" + path, body, caller,
                                microversion).send(self.nova_app)
        if status not in ok:
            raise RuntimeError("%s %s: %d %s" % (method, path, status,
                                                 out[:300]))
        return json.loads(out) if out else None

    def status(self, server: str) -> tuple[str, str | None]:
        got = self.nova("GET", "/servers/%s" % server, ok=(200,))["server"]
        return got["status"], got.get("OS-EXT-STS:task_state")

    def wait(self, server: str, status: str) -> None:
        for _ in range(200):
            now, task = self.status(server)
            if now == status and task is None:
                return
            time.sleep(0.02)
        raise RuntimeError("server %s stayed %s/%s, not %s"
                           % (server, now, task, status))

    def action(self, server: str, body: Any, status: str,
               caller: str = "admin") -> None:
        self.nova("POST", "/servers/%s/action" % server, body, caller)
        self.wait(server, status)

    def sql(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.cell_db, timeout=30)
        try:
            rows = conn.execute(statement, params).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()

    def record(self, server: str) -> tuple[Any, ...]:
        rows = self.sql("SELECT vm_state, task_state, locked, deleted, "
                        "launched_at IS NULL, host FROM instances "
                        "WHERE uuid = ?", server)
        return rows[0] if rows else ()

    # -- reaching states through the API -----------------------------------

    def boot(self, fail: bool = False) -> Server:
        flavor = self.huge_flavor if fail else self.flavor
        body = {"server": {
            "name": "nc-%s" % uuid_mod.uuid4().hex[:8],
            "imageRef": self.image, "flavorRef": flavor,
            "networks": [{"uuid":
                          nova_fixtures.NeutronFixture.network_1["id"]}],
            "metadata": {"owner": "nova-compat"}}}
        uuid = self.nova("POST", "/servers", body, caller="member")[
            "server"]["id"]
        self.wait(uuid, "ERROR" if fail else "ACTIVE")
        port = volume = None
        if not fail:
            ifaces = self.nova("GET", "/servers/%s/os-interface" % uuid,
                               ok=(200,))["interfaceAttachments"]
            port = ifaces[0]["port_id"] if ifaces else None
            volume = str(uuid_mod.uuid4())
            self.nova("POST", "/servers/%s/os-volume_attachments" % uuid,
                      {"volumeAttachment": {"volumeId": volume}},
                      caller="member")
        return Server(uuid, "", volume, port)

    def reach(self, base: str) -> Server:
        """A new server in ``base``, through the API."""
        started = time.monotonic()
        try:
            return self._reach(base)
        finally:
            self.reach_seconds += time.monotonic() - started

    def _reach(self, base: str) -> Server:
        unlaunched = base in ("error_unlaunched", "active_unlaunched",
                              "building_unlaunched")
        server = self.boot(fail=unlaunched)
        server.base = base
        u = server.uuid
        if base == "stopped":
            self.action(u, {"os-stop": None}, "SHUTOFF")
        elif base == "paused":
            self.action(u, {"pause": None}, "PAUSED")
        elif base == "suspended":
            self.action(u, {"suspend": None}, "SUSPENDED")
        elif base == "shelved":
            self.action(u, {"shelve": None}, "SHELVED")
        elif base == "shelved_offloaded":
            self.action(u, {"shelve": None}, "SHELVED")
            self.action(u, {"shelveOffload": None}, "SHELVED_OFFLOADED")
        elif base == "rescued":
            self.action(u, {"rescue": None}, "RESCUE")
        elif base == "resized":
            self.action(u, {"resize": {"flavorRef": self.other_flavor}},
                        "VERIFY_RESIZE")
        elif base == "error":
            self.action(u, {"os-resetState": {"state": "error"}}, "ERROR")
        elif base == "soft_deleted":
            self.flags(reclaim_instance_interval=3600)
            try:
                self.nova("DELETE", "/servers/%s" % u)
                self.wait(u, "SOFT_DELETED")
            finally:
                self.flags(reclaim_instance_interval=0)
        elif base == "active_unlaunched":
            self.action(u, {"os-resetState": {"state": "active"}}, "ACTIVE")
        elif base == "building_unlaunched":
            self.sql("UPDATE instances SET vm_state = 'building' "
                     "WHERE uuid = ?", u)
        elif base not in ("active", "error_unlaunched"):
            raise ValueError("no recipe for %r" % base)
        server.base_record = self.record(u)
        return server

    def prepare(self, server: Server, state: catalog.State,
                lock: bool = True) -> None:
        """Write the state's task_state (and lock) on top of its base."""
        if state.locked and lock:
            self.nova("POST", "/servers/%s/action" % server.uuid,
                      {"lock": None})
        self.sql("UPDATE instances SET task_state = ? WHERE uuid = ?",
                 state.task_state, server.uuid)
        server.record = self.record(server.uuid)

    def settle(self, server: str) -> None:
        """Wait until an accepted request's task is over (a task_state
        the request did not write stays as it is)."""
        before = self.record(server)
        for _ in range(30):
            time.sleep(0.01)
            now = self.record(server)
            if now == before and (not now or now[1] is None):
                return
            before = now

    def wait_record(self, server: str, vm_state: str) -> None:
        for _ in range(200):
            now = self.record(server)
            if not now or (now[0] == vm_state and now[1] is None):
                return
            time.sleep(0.02)

    def restore(self, server: Server, state: catalog.State, request: str,
                accepted: bool) -> Server | None:
        """Bring ``server`` back to ``state`` after a cell, through the API
        where an accepted request moved it.

        :returns: the server ready for the next cell, or ``None`` when it
            cannot be brought back (a new one must be reached).
        """
        if not accepted and self.record(server.uuid) == server.record:
            return server
        u = server.uuid
        if accepted:
            self.settle(u)
        try:
            if accepted and not self._undo_resources(server, request):
                return None
            self.sql("UPDATE instances SET task_state = NULL WHERE uuid = ?",
                     u)
            want = server.base_record
            for _ in range(4):
                now = self.record(u)
                if not now or now[3] or want is None:
                    return None     # deleted
                if now[0] == want[0]:
                    break
                body = FROM_ACTIVE.get((now[0], want[0])) or \
                    TO_ACTIVE.get(now[0])
                if body is None:
                    return None
                self.nova("POST", "/servers/%s/action" % u, body)
                self.wait_record(u, next(
                    (to for (frm, to), b in FROM_ACTIVE.items()
                     if frm == now[0] and b == body), "active"))
            now = self.record(u)
            if now[2] != want[2]:
                self.nova("POST", "/servers/%s/action" % u,
                          {"unlock" if now[2] else "lock": None})
            if _sans_task(self.record(u)) != _sans_task(want):
                return None
            self.prepare(server, state, lock=False)
        except RuntimeError:
            return None
        return server if self.record(u) == server.record else None

    def _undo_resources(self, server: Server, request: str) -> bool:
        """Give back what an accepted request took (a volume, a port, the
        ``owner`` metadata item); ``False`` when it cannot."""
        u = server.uuid
        if request in ("attach volume", "swap volume"):
            if request == "swap volume":
                server.volume = server.spare_volume
            server.spare_volume = str(uuid_mod.uuid4())
        elif request == "detach volume":
            self.nova("POST", "/servers/%s/os-volume_attachments" % u,
                      {"volumeAttachment": {"volumeId": server.volume}})
        elif request == "detach interface":
            got = self.nova("POST", "/servers/%s/os-interface" % u, {
                "interfaceAttachment": {"net_id":
                    nova_fixtures.NeutronFixture.network_1["id"]}})
            server.port = got["interfaceAttachment"]["port_id"]
        elif request == "delete metadata item":
            self.nova("PUT", "/servers/%s/metadata/owner" % u,
                      {"meta": {"owner": "nova-compat"}})
        elif request in ("DELETE", "forceDelete"):
            return False
        return True

    # -- measuring -----------------------------------------------------------

    def cell_wire(self, cell: cells.Cell, server: Server) -> Wire:
        request = catalog.REQUESTS_BY_NAME[cell.request]
        values = server.values(self)
        tail = catalog.fill("/" + request.tail if request.tail else "",
                            values)
        body = catalog.fill(request.body(cell.microversion), values)
        if body is None and request.method == "POST":
            body = {}
        wire = self.wire(request.method, "/v2.1/servers/%s%s"
                         % (server.uuid, tail), body, cell.caller,
                         cell.microversion)
        if cell.variant:
            variant = VARIANTS[cell.variant]
            apply_variant(wire, variant, server.uuid, tail, body)
        return wire

    def measure(self, cell: cells.Cell, server: Server,
                canonical_refused: bool = False
                ) -> tuple[cells.Result, bool]:
        """Both answers of one cell; and whether Nova accepted it."""
        wire = self.cell_wire(cell, server)
        pipeline.Probe.reset()
        status, body = wire.send(self.guard_app)
        seen = pipeline.Probe.seen()
        guard = cells.Answer.from_response(status, body)
        answered = seen is None
        altered = None if answered else untouched(wire, seen)
        if answered or (altered is not None and status >= 400):
            nstatus, nbody = wire.send(self.nova_app)
            nova = cells.Answer.from_response(nstatus, nbody)
        elif altered is None:
            # Nova behind the guard got exactly this request in this
            # state: its answer is Nova's.
            nova = guard
        else:
            nova = cells.Answer(0, "nova-compat",
                                "the guard altered the request: " + altered)
        accepted = nova.status < 400 or (not answered and status < 400)
        return cells.Result(cell, nova, guard, answered,
                            canonical_refused), accepted


VARIANTS = {v.name: v for v in catalog.VARIANTS}


def apply_variant(wire: Wire, variant: catalog.Variant, server: str,
                  tail: str, body: Any) -> None:
    """Rewrite a canonical request into ``variant`` (in place)."""
    quoted_tail = "".join("%%%02X" % ord(c) if c.isalpha() else c
                          for c in tail)
    wire.path = variant.path.format(
        version="v2.1", project=PROJECT_ID, server=server,
        SERVER=server.upper(), tail=tail.lstrip("/") if
        variant.path.endswith("/{tail}") else tail,
        server_pct="%%%02X%s" % (ord(server[0]), server[1:]),
        tail_pct=quoted_tail)
    if variant.body is not None and body is not None:
        key, value = next(iter(body.items())) if body else ("", None)
        wire.body = variant.body.format(
            key=key, value=json.dumps(value),
            json=json.dumps(body)).encode("utf-8")
    if variant.chunked:
        wire.chunked = True
    for name, value in variant.headers.items():
        wire.headers = {k: v for k, v in wire.headers.items()
                        if k.lower() != name.lower()}
        wire.headers[name] = value
    if variant.method:
        wire.method = variant.method


def _measure_all(case: Deployment) -> list[cells.Result]:
    plan = PLAN
    chosen: catalog.Slice = plan["slice"]
    log: Callable[[str], None] = plan.get("log", lambda _m: None)
    results: list[cells.Result] = []
    requests = [catalog.REQUESTS_BY_NAME[n] for n in chosen.requests]
    by_base: dict[str, list[catalog.State]] = {}
    for name in chosen.states:
        state = catalog.STATES_BY_NAME[name]
        by_base.setdefault(state.base, []).append(state)
    targets: dict[str, list[str]] = {}
    if chosen.variants:
        for state_name, request_name in chosen.variant_targets:
            targets.setdefault(state_name, []).append(request_name)
    for base, states in by_base.items():
        server = case.reach(base)
        for state in states:
            started = time.monotonic()
            case.prepare(server, state)
            rebuilt = 0
            for mv in chosen.microversions:
                at = catalog.requests_at(mv, chosen.requests)
                for caller in chosen.callers:
                    for request in (r for r in requests if r.name in at):
                        cell = cells.Cell(state.name, request.name, mv,
                                          caller)
                        result, accepted = case.measure(cell, server)
                        results.append(result)
                        server, again = _next(case, server, state,
                                              request.name, accepted)
                        rebuilt += again
                    if mv in catalog.MICROVERSION_REQUESTS:
                        continue    # variants at 2.1 and latest
                    for request_name in targets.get(state.name, ()):
                        server, found = _variants(case, server, state,
                                                  request_name, mv, caller)
                        results.extend(found)
            log("%-40s %5d cells so far, %3d rebuilds, %5.1f s (%.1f s "
                "reaching states so far)"
                % (state.name, len(results), rebuilt,
                   time.monotonic() - started, case.reach_seconds))
            if state.locked:
                case.nova("POST", "/servers/%s/action" % server.uuid,
                          {"unlock": None})
    return results


def _next(case: Deployment, server: Server, state: catalog.State,
          request: str, accepted: bool) -> tuple[Server, bool]:
    """The server for the next cell: this one brought back, or a new one
    reached through the API (then ``True``)."""
    back = case.restore(server, state, request, accepted)
    if back is not None:
        return back, False
    server = case.reach(state.base)
    case.prepare(server, state)
    return server, True


def _sans_task(record: tuple[Any, ...]) -> tuple[Any, ...]:
    return record[:1] + record[2:]


def _variants(case: Deployment, server: Server, state: catalog.State,
              request_name: str, mv: str, caller: str
              ) -> tuple[Server, list[cells.Result]]:
    found = []
    for variant in catalog.VARIANTS:
        canonical = cells.Cell(state.name, request_name, mv, caller)
        wire = case.cell_wire(canonical, server)
        pipeline.Probe.reset()
        status, _ = wire.send(case.guard_app)
        refused = pipeline.Probe.seen() is None
        server, _ = _next(case, server, state, request_name,
                          not refused and status < 400)
        cell = cells.Cell(state.name, request_name, mv, caller,
                          variant.name)
        result, accepted = case.measure(cell, server, refused)
        found.append(result)
        server, _ = _next(case, server, state, request_name, accepted)
    return server, found


class Measurement(Deployment):
    """The test case the runner runs: one test, the whole measurement."""

    def test_measure(self) -> None:
        # Nova's fixture keeps every debug record of every request: the
        # measurement needs warnings only (and is several times faster).
        std_logging.getLogger().setLevel(std_logging.WARNING)
        self._load_apps()
        flavors = self.nova("GET", "/flavors", ok=(200,))["flavors"]
        self.flavor, self.other_flavor = flavors[0]["id"], flavors[1]["id"]
        self.huge_flavor = self.nova("POST", "/flavors", {"flavor": {
            "name": "nova-compat-huge", "ram": 1 << 30, "vcpus": 1 << 12,
            "disk": 1 << 20}})["flavor"]["id"]
        self.image = self.nova("GET", "/images", microversion="2.35",
                               ok=(200,))["images"][0]["id"]
        PLAN["results"] = _measure_all(self)


def run(chosen: catalog.Slice,
        log: Callable[[str], None]) -> list[cells.Result]:
    """Measure ``chosen`` in a fresh Nova deployment.

    :raises RuntimeError: with Nova's test output when the deployment or
        the measurement failed.
    """
    import unittest
    PLAN.clear()
    PLAN.update(slice=chosen, log=log)
    tempfile.tempdir = None
    case = Measurement("test_measure")
    result = unittest.TestResult()
    case.run(result)
    problems = result.errors + result.failures
    if problems:
        raise RuntimeError("\n".join(text for _case, text in problems))
    return list(PLAN["results"])
