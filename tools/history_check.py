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

"""History checker: hammer a running vmstate-api, then audit every history.

M concurrent clients issue random actions, progress reports (PATCH with
expected values, as a compute worker would) and deletes against the
instances of one vmstate-api. Afterwards every instance's history must be
a chain:

* versions are consecutive from 1, and each step's ``from`` equals the
  previous step's ``to``;
* each action that started was allowed by the matrix in the state it
  started from, and set the action's task_state;
* the last step agrees with the instance's row (state and version);
* every change a client was told succeeded (202/200, with the version it
  produced) is in the history exactly once, and the history holds no
  change no client was told about: nothing lost, nothing applied twice
  (but for the timeouts a sweeper fires, which must each end a running
  task);
* nothing leaves ``deleted``: no step starts from it;
* only a task's owner changes or ends it: a step that changes a running
  task is a matrix action that preempts it (a new task), its own steps
  (same task id: a checkpoint, the sweeper's timeout), an admin's
  ``reset_state`` or ``clear_error``, or a report (``update``) that named
  the task's id or the version before it;
* one resize is confirmed or reverted at most once: between two starts of
  ``resize``/``migrate``, at most one confirmation or revert completes,
  and a second one begins only after the first was undone (a timeout, an
  admin reset).
* no read is stale: a ``GET`` started after a change was acknowledged
  shows that version or a later one, whichever API it reached.

Reports are fenced two ways at random (the task's id, or the version
read), admins reset now and then, and the API under test may run its
sweeper with task timeouts, so timeouts fire during the run.

Given several ``--url``, each client sends each request to one of them at
random, as a load balancer would; an API that refuses the connection is
skipped for the request (nothing was sent), and one that answered 503 or
could not be reached is left out for a moment, as a health check would.

With ``--compute-url`` more clients send Nova-style server actions and
deletes through ``vmstate-fake-compute`` (same database, ``[guard]
reserve = true``) at the same instances. Each such request's changes carry
its request id (``x-openstack-request-id``); the audit then also checks
that each accepted request began its action exactly once, from a state
the matrix allows (the guard's reservation, continued by the service),
and that a refused one began it at most once (a reservation the service
could not continue, and its release).

Usage::

    python -m tools.history_check --url http://127.0.0.1:9797 \\
        [--url http://127.0.0.1:9798 ...] --clients 8 --operations 400 \\
        --instances 6 \\
        [--compute-url http://127.0.0.1:8774 --guard-operations 200]

It prints the operations done and the violations found, and exits 1 when
there is any violation (or any 5xx answer).
"""

import argparse
import collections
from collections.abc import Callable
from concurrent import futures
import functools
import http.client
import json
import random
import sys
import threading
import time
from typing import Any
from urllib import parse

from vmstate.matrix import Matrix
from vmstate.matrix import loader

PROGRESS = "progress"
DELETE = "delete"
RESET = "reset"

#: Admin overrides: they may end any task (audited with who and why).
ADMIN_ACTIONS = frozenset(("reset_state", "clear_error"))
#: The sweeper's step that ends a task: fenced on that task's id.
TIMEOUT = "timeout"
RESIZES = ("resize", "migrate")
RESIZE_ENDS = ("confirm_resize", "revert_resize")


class Client:
    """One keep-alive HTTP connection to the API."""

    def __init__(self, url: str, headers: dict[str, str] | None = None):
        parsed = parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.headers = {"Content-Type": "application/json"}
        self.headers.update(headers or {})
        self.conn: http.client.HTTPConnection | None = None
        #: ``x-openstack-request-id`` of the last answer.
        self.request_id: str | None = None

    def request(self, method: str, path: str, body: Any = None
                ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body)
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=60)
            try:
                self.conn.request(method, path, data, self.headers)
                res = self.conn.getresponse()
                raw = res.read()
                self.request_id = res.getheader("x-openstack-request-id")
            except (ConnectionError, http.client.HTTPException):
                # A dropped keep-alive connection; an unsafe request is
                # never sent twice.
                self.conn.close()
                self.conn = None
                if attempt == 2 or method not in ("GET",):
                    raise
                continue
            return res.status, json.loads(raw) if raw else None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class Balanced:
    """A client that spreads its requests over several APIs.

    Each request goes to one of ``urls`` at random. A refused connection
    sent nothing, so the request goes to another; an API that refused,
    answered 503 or dropped the connection is left out for ``hold``
    seconds (as a load balancer's health check would), unless every API
    is left out.
    """

    def __init__(self, urls: list[str], headers: dict[str, str] | None = None,
                 rng: random.Random | None = None, hold: float = 2.0):
        self.clients = [Client(url, headers) for url in urls]
        self.rng = rng or random.Random()
        self.hold = hold
        self.down_until = [0.0] * len(urls)
        #: The index of the API the last request went to.
        self.last = 0

    def _choose(self, exclude: set[int]) -> int | None:
        now = time.monotonic()
        up = [i for i in range(len(self.clients))
              if i not in exclude and self.down_until[i] <= now]
        if not up:
            up = [i for i in range(len(self.clients)) if i not in exclude]
        return self.rng.choice(up) if up else None

    def request(self, method: str, path: str, body: Any = None
                ) -> tuple[int, Any]:
        tried: set[int] = set()
        while True:
            index = self._choose(tried)
            if index is None:
                raise ConnectionRefusedError("no API accepts connections")
            self.last = index
            tried.add(index)
            try:
                status, answer = self.clients[index].request(method, path,
                                                             body)
            except ConnectionRefusedError:
                self.down_until[index] = time.monotonic() + self.hold
                continue
            except (OSError, http.client.HTTPException):
                self.down_until[index] = time.monotonic() + self.hold
                raise
            if status == 503:
                self.down_until[index] = time.monotonic() + self.hold
            return status, answer

    def close(self) -> None:
        for client in self.clients:
            client.close()


# Pseudo-statuses for requests that got no answer.
NOT_SENT = 0        # the connection was refused: nothing reached the API
NO_ANSWER = -1      # the connection died after sending: outcome unknown


class Ledger:
    """What the clients did and what the API told them.

    :param faults: a fault is being injected, so 503 (the store is gone)
        and lost connections are expected; the changes they may or may
        not have made are counted as in doubt instead of as violations.
        A 500 is a violation always.
    """

    def __init__(self, faults: bool = False) -> None:
        self.faults = faults
        self.lock = threading.Lock()
        self.counts: collections.Counter[tuple[str, int]] = (
            collections.Counter())
        # (uuid, version) -> the operation that was told it made it.
        self.acknowledged: dict[tuple[str, int], str] = {}
        # (uuid, version) -> the ``expected`` of the report that made it.
        self.fences: dict[tuple[str, int], dict[str, Any]] = {}
        # uuid -> requests whose outcome nobody knows.
        self.in_doubt: collections.Counter[str] = collections.Counter()
        # uuid -> the highest version any client was told of so far.
        self.high: dict[str, int] = {}
        self.violations: list[str] = []
        # request id -> (uuid, action, status) of requests through the
        # guard.
        self.guard_requests: dict[str, tuple[str, str, int]] = {}
        #: Reads checked for staleness.
        self.reads = 0

    def record_guard(self, action: str, status: int, uuid: str,
                     body: Any, request_id: str | None) -> None:
        """A request through the guard; its changes carry its request id."""
        with self.lock:
            self.counts[("guard " + action, status)] += 1
            if status >= 500 or status in (NOT_SENT, NO_ANSWER):
                self.violations.append("guard %s on %s answered %d: %s" % (
                    action, uuid, status, body))
            if request_id is None:
                if status > 0:
                    self.violations.append(
                        "guard %s on %s answered %d without a request id"
                        % (action, uuid, status))
            else:
                self.guard_requests[request_id] = (uuid, action, status)

    def floor(self, uuid: str) -> int:
        """The version a read of ``uuid`` starting now must reach."""
        with self.lock:
            return self.high.get(uuid, 0)

    def read(self, uuid: str, floor: int, version: int, where: str) -> None:
        """Check a read that started when ``floor`` was acknowledged."""
        with self.lock:
            self.reads += 1
            if version < floor:
                self.violations.append(
                    "stale read: %s answered version %d of %s after "
                    "version %d was acknowledged" % (where, version, uuid,
                                                     floor))

    def record(self, kind: str, status: int, uuid: str,
               body: Any, expected: dict[str, Any] | None = None) -> None:
        with self.lock:
            self.counts[(kind, status)] += 1
            if status == NO_ANSWER or (status == 503 and self.faults):
                self.in_doubt[uuid] += 1
                if not self.faults:
                    self.violations.append("%s on %s got no answer" % (
                        kind, uuid))
            elif status >= 500:
                self.violations.append("%s on %s answered %d: %s" % (
                    kind, uuid, status, body))
            if status in (200, 202) and isinstance(body, dict):
                version = body["instance"]["version"]
                key = (uuid, version)
                if key in self.acknowledged:
                    self.violations.append(
                        "version %d of %s acknowledged twice (%s, %s)" % (
                            version, uuid, self.acknowledged[key], kind))
                self.acknowledged[key] = kind
                self.high[uuid] = max(self.high.get(uuid, 0), version)
                if expected is not None:
                    self.fences[key] = dict(expected)


def _client(url: str | list[str], headers: dict[str, str] | None = None,
            rng: random.Random | None = None) -> Client | Balanced:
    """A client of one API, or of several through :class:`Balanced`."""
    if isinstance(url, str):
        return Client(url, headers)
    return Balanced(list(url), headers, rng)


def _operate(url: str | list[str], headers: dict[str, str],
             uuids: list[str], operations: int, seed: int,
             actions: list[str], completes: dict[str, str],
             ledger: Ledger) -> None:
    rng = random.Random(seed)
    client = _client(url, headers, random.Random(seed + 1))
    try:
        for _ in range(operations):
            uuid = rng.choice(uuids)
            try:
                _one(client, rng, uuid, actions, completes, ledger)
            except ConnectionRefusedError:
                ledger.record("unreachable", NOT_SENT, uuid, None)
            except (OSError, http.client.HTTPException):
                ledger.record("no answer", NO_ANSWER, uuid, None)
    finally:
        client.close()


def _one(client: Client | Balanced, rng: random.Random, uuid: str,
         actions: list[str], completes: dict[str, str],
         ledger: Ledger) -> None:
    """One random operation on ``uuid``."""
    kind = rng.choices([PROGRESS, "action", DELETE, RESET],
                       weights=[5, 5, 0.3, 0.2])[0]
    if kind == RESET:
        status, body = client.request(
            "POST", "/v1/instances/%s/reset" % uuid,
            {"vm_state": rng.choice(["active", "error"]),
             "reason": "history_check"})
        ledger.record("reset_state", status, uuid, body)
        return
    if kind == PROGRESS:
        floor = ledger.floor(uuid)
        status, body = client.request(
            "GET", "/v1/instances/%s" % uuid)
        if status != 200:
            ledger.record("show", status, uuid, None)
            return
        seen = body["instance"]
        ledger.read(uuid, floor, seen["version"], "API %d" % getattr(
            client, "last", 0))
        if seen["task_state"] is None:
            values: dict[str, Any] = {"power_state": rng.choice(
                [0, 1, 3, 4])}
        else:
            # The worker ends its task where the action completes
            # (or, one time in five, fails it into error).
            values = {"task_state": None, "vm_state": (
                "error" if rng.random() < 0.2 else
                completes.get(seen["task_state"])
                or seen["vm_state"])}
        # Fenced on the version read, or on the task's id.
        expected = ({"version": seen["version"],
                     "task_state": seen["task_state"]}
                    if seen["task_id"] is None or rng.random() < 0.5
                    else {"task_id": seen["task_id"]})
        status, body = client.request(
            "PATCH", "/v1/instances/%s" % uuid,
            {"instance": values, "expected": expected})
        ledger.record("update", status, uuid, body, expected)
    else:
        action = DELETE if kind == DELETE else rng.choice(actions)
        status, body = client.request(
            "POST", "/v1/instances/%s/actions" % uuid,
            {"action": action})
        ledger.record(action, status, uuid, body)


def audit(url: str | list[str], headers: dict[str, str], uuids: list[str],
          matrix: Matrix, ledger: Ledger,
          swept: tuple[str, ...] = (TIMEOUT,)) -> int:
    """Check every history; returns the number of events read.

    :param swept: the actions of changes a sweeper makes on its own
        (``timeout``): no client is told of them, but each must end a
        running task (so none fires twice for one task).
    """
    client = _client(url, headers)
    events_read = 0
    try:
        for uuid in uuids:
            _, shown = client.request("GET", "/v1/instances/%s" % uuid)
            _, body = client.request("GET",
                                     "/v1/instances/%s/events" % uuid)
            events = body["events"]
            events_read += len(events)
            _audit_one(uuid, shown["instance"], events, matrix, ledger,
                       swept)
    finally:
        client.close()
    return events_read


def _audit_one(uuid: str, instance: dict[str, Any],
               events: list[dict[str, Any]], matrix: Matrix,
               ledger: Ledger, swept: tuple[str, ...] = (TIMEOUT,)) -> None:
    bad = ledger.violations.append
    for event in events:
        if event["action"] in swept and event["from"]["task_state"] is None:
            bad("%s: version %d (%s) ended no running task" % (
                uuid, event["version"], event["action"]))
    events_swept = {(uuid, e["version"]) for e in events
                    if e["action"] in swept}
    versions = [e["version"] for e in events]
    if versions != list(range(1, len(events) + 1)):
        bad("%s: versions are not consecutive: %s" % (uuid, versions))
    for before, after in zip(events, events[1:], strict=False):
        if before["to"] != after["from"]:
            bad("%s: version %d starts from %s, but version %d ended in "
                "%s" % (uuid, after["version"], after["from"],
                        before["version"], before["to"]))
    for event in events[1:]:
        action = event["action"]
        if action not in matrix.actions:
            continue
        if event.get("request_id") in ledger.guard_requests:
            continue        # a task's steps too: _audit_guard
        start = event["from"]
        if not matrix.is_allowed(action, start["vm_state"],
                                 start["task_state"]):
            bad("%s: version %d started %s in (%s, %s), which the matrix "
                "does not allow" % (uuid, event["version"], action,
                                    start["vm_state"], start["task_state"]))
        begins = matrix.definition(action).begins
        if begins is not None and event["to"]["task_state"] != begins:
            bad("%s: version %d (%s) set task_state %s, not %s" % (
                uuid, event["version"], action,
                event["to"]["task_state"], begins))
    _audit_promises(uuid, events, matrix, ledger)
    last = events[-1] if events else None
    if last is None or last["version"] != instance["version"]:
        bad("%s: the row is at version %s, its history ends at %s" % (
            uuid, instance["version"], last and last["version"]))
    elif {k: instance[k] for k in last["to"]} != last["to"]:
        bad("%s: the row %s disagrees with its last change %s" % (
            uuid, {k: instance[k] for k in last["to"]}, last["to"]))
    _audit_guard(uuid, events, matrix, ledger)
    # Changes made by guard requests are audited above; the sweeper's own
    # were told to nobody: a timeout, and the retry it begins at once.
    told = {key for key in ledger.acknowledged if key[0] == uuid}
    # A begin right after a sweep may be the sweeper's retry (told to
    # nobody) or a client's action (told): only the untold ones are the
    # sweeper's.
    retries = {(uuid, e["version"]) for before, e in zip(
        events, events[1:], strict=False)
        if before["action"] in swept and e["action"] in matrix.actions
        and e["from"]["task_state"] is None}
    history = {(uuid, e["version"]) for e in events[1:]
               if e.get("request_id") not in ledger.guard_requests
               } - events_swept - (retries - told)
    for key in sorted(told - history):
        bad("%s: version %d was acknowledged (%s) but is not in the "
            "history" % (uuid, key[1], ledger.acknowledged[key]))
    untold = sorted(history - told)
    # A request that got no answer may have made its change (once).
    if len(untold) > ledger.in_doubt[uuid]:
        for key in untold:
            bad("%s: version %d is in the history, but no client was told "
                "of it (%d requests in doubt)" % (
                    uuid, key[1], ledger.in_doubt[uuid]))


def _audit_promises(uuid: str, events: list[dict[str, Any]],
                    matrix: Matrix, ledger: Ledger) -> None:
    """Issue 11's invariants: nothing leaves deleted, only a task's owner
    changes it, one resize is confirmed or reverted at most once."""
    bad = ledger.violations.append
    for before, event in zip(events, events[1:], strict=False):
        start, end = event["from"], event["to"]
        if start["vm_state"] == "deleted":
            bad("%s: version %d (%s) left deleted for %s" % (
                uuid, event["version"], event["action"], end))
        running = (before.get("task_id")
                   if before["to"]["task_state"] is not None else None)
        if start["task_state"] is None:
            continue
        changed = (end["task_state"] != start["task_state"]
                   or event.get("task_id") != running)
        if changed and not _owner_or_admin(uuid, event, running, matrix,
                                           ledger):
            bad("%s: version %d (%s) changed the task %s (%s) without "
                "owning it" % (uuid, event["version"], event["action"],
                               running, start["task_state"]))
    _audit_resizes(uuid, events, matrix, ledger)


def _owner_or_admin(uuid: str, event: dict[str, Any], running: str | None,
                    matrix: Matrix, ledger: Ledger) -> bool:
    action = event["action"]
    if action in ADMIN_ACTIONS:
        return True
    if action == TIMEOUT:
        return running is None or event.get("task_id") == running
    if action == "update":
        fence = ledger.fences.get((uuid, event["version"]))
        if fence is None:
            # A report nobody was told of (in doubt) cannot be judged.
            return (uuid, event["version"]) not in ledger.acknowledged
        return ("version" in fence and fence["version"] ==
                event["version"] - 1) or (
            running is not None and fence.get("task_id") == running)
    if running is not None and event.get("task_id") == running:
        # The task's own step (a checkpoint, its finish, failure or
        # release: the Python API fences them on the task's id).
        return True
    # A new task the matrix let preempt it (checked against the matrix
    # above).
    return action in matrix.actions


def _audit_resizes(uuid: str, events: list[dict[str, Any]],
                   matrix: Matrix, ledger: Ledger) -> None:
    bad = ledger.violations.append
    ends = {matrix.definition(a).begins: a for a in RESIZE_ENDS
            if a in matrix.actions}
    completed = begun = 0
    for event in events[1:]:
        start, end, action = event["from"], event["to"], event["action"]
        if action in RESIZES and start["task_state"] is None:
            completed = begun = 0      # a new resize
        elif action in RESIZE_ENDS and end["task_state"] is not None \
                and start["task_state"] is None:
            begun += 1
            if begun > 1:
                bad("%s: version %d began %s, but this resize was "
                    "confirmed or reverted already" % (
                        uuid, event["version"], action))
        elif action in (TIMEOUT, *ADMIN_ACTIONS):
            begun = completed     # undone: another may begin
        if (start["task_state"] in ends and end["task_state"] is None
                and start["vm_state"] == "resized"
                and end["vm_state"] not in ("resized", "error")):
            completed += 1
            if completed > 1:
                bad("%s: version %d completed %s, a second end of one "
                    "resize" % (uuid, event["version"],
                                ends[start["task_state"]]))


def _audit_guard(uuid: str, events: list[dict[str, Any]],
                 matrix: Matrix, ledger: Ledger) -> None:
    """One begin per request through the guard (see the module's text)."""
    bad = ledger.violations.append
    by_request: dict[str, list[dict[str, Any]]] = collections.defaultdict(
        list)
    for event in events[1:]:
        if event.get("request_id") in ledger.guard_requests:
            by_request[event["request_id"]].append(event)
    for request_id, (target, action, status) in sorted(
            ledger.guard_requests.items()):
        if target != uuid:
            continue
        own = by_request.get(request_id, [])
        begins = matrix.definition(action).begins
        begun = [e for e in own if e["action"] == action
                 and e["to"]["task_state"] == begins]
        accepted = 200 <= status < 300
        if accepted and len(begun) != 1:
            bad("%s: guard %s (%s, answered %d) began %d times: %s" % (
                uuid, action, request_id, status, len(begun),
                [e["version"] for e in begun]))
        elif not accepted and len(begun) > 1 and not (
                len(begun) == 2 and begun[1]["to"] == begun[0]["from"]):
            # A refused request may leave its reservation and its release.
            bad("%s: guard %s (%s, answered %d) began %d times: %s" % (
                uuid, action, request_id, status, len(begun),
                [e["version"] for e in begun]))
        if begun and own[0] is not begun[0]:
            bad("%s: guard %s (%s) changed version %d before it began" % (
                uuid, action, request_id, own[0]["version"]))
        if begun:
            start = begun[0]["from"]
            if not matrix.is_allowed(action, start["vm_state"],
                                     start["task_state"]):
                bad("%s: version %d: guard %s began in (%s, %s), which "
                    "the matrix does not allow" % (
                        uuid, begun[0]["version"], action,
                        start["vm_state"], start["task_state"]))


# Nova-style requests through the guard: (method, path below the server,
# body, the action it begins, weight).
GUARD_REQUESTS: tuple[tuple[str, str, Any, str, float], ...] = (
    ("POST", "/action", {"reboot": {"type": "SOFT"}}, "reboot", 3),
    ("POST", "/action", {"reboot": {"type": "HARD"}}, "reboot_hard", 2),
    ("POST", "/action", {"os-stop": None}, "stop", 3),
    ("POST", "/action", {"os-start": None}, "start", 3),
    ("POST", "/action", {"pause": None}, "pause", 2),
    ("POST", "/action", {"unpause": None}, "unpause", 2),
    ("POST", "/action", {"suspend": None}, "suspend", 1),
    ("POST", "/action", {"resume": None}, "resume", 1),
    ("POST", "/action", {"evacuate": {}}, "evacuate", 1),
    ("DELETE", "", None, "delete", 0.2),
)


def _operate_guard(url: str, headers: dict[str, str], uuids: list[str],
                   operations: int, seed: int, ledger: Ledger) -> None:
    rng = random.Random(seed)
    client = Client(url, headers)
    weights = [r[4] for r in GUARD_REQUESTS]
    try:
        for _ in range(operations):
            uuid = rng.choice(uuids)
            method, tail, body, action, _w = rng.choices(
                GUARD_REQUESTS, weights=weights)[0]
            client.request_id = None
            try:
                status, answer = client.request(
                    method, "/v2.1/servers/%s%s" % (uuid, tail), body)
            except ConnectionRefusedError:
                status, answer = NOT_SENT, None
            except (OSError, http.client.HTTPException):
                status, answer = NO_ANSWER, None
            ledger.record_guard(action, status, uuid, answer,
                                client.request_id)
    finally:
        client.close()


def guard_workload(compute_url: str, uuids: list[str], ledger: Ledger,
                   clients: int = 4, operations: int = 200, seed: int = 1,
                   headers: dict[str, str] | None = None) -> None:
    """``operations`` random Nova-style requests through the guard of
    ``vmstate-fake-compute`` (``[guard] reserve = true``, the same
    database as the vmstate-api audited), from ``clients`` threads."""
    per_client = max(1, operations // clients)
    _clients([functools.partial(
        _operate_guard, compute_url, headers or {}, uuids, per_client,
        seed * 7919 + n, ledger) for n in range(clients)])


def create_instances(url: str | list[str], count: int,
                     headers: dict[str, str] | None = None) -> list[str]:
    """``count`` active instances to work on."""
    client = _client(url, headers)
    uuids = []
    try:
        for _ in range(count):
            status, body = client.request("POST", "/v1/instances", {
                "instance": {"vm_state": "active", "task_state": None,
                             "power_state": 1}})
            if status != 201:
                raise RuntimeError("cannot create an instance: %d %s" % (
                    status, body))
            uuids.append(body["instance"]["uuid"])
    finally:
        client.close()
    return uuids


def workload(url: str | list[str], uuids: list[str], ledger: Ledger,
             clients: int = 8,
             operations: int = 400, seed: int = 1,
             headers: dict[str, str] | None = None,
             matrix: Matrix | None = None) -> None:
    """``operations`` random operations from ``clients`` threads.

    ``url``: one API, or several that each client picks from at random
    for each request (see :class:`Balanced`).
    """
    matrix = matrix or loader.load(["nova"])
    actions = sorted(a for a in matrix.actions if a != DELETE)
    # task_state -> the vm_state its action completes in.
    completes = {d.begins: d.completes for d in matrix.actions.values()
                 if d.begins is not None and d.completes is not None}
    per_client = max(1, operations // clients)
    _clients([functools.partial(
        _operate, url, headers or {}, uuids, per_client, seed * 1000 + n,
        actions, completes, ledger) for n in range(clients)])


def _clients(operate: list[Callable[[], None]]) -> None:
    """Run each client in a thread of its own until all have ended; a
    client that failed (not an answer the ledger records: a bug, a
    malformed answer) fails the run, as the first such error."""
    with futures.ThreadPoolExecutor(len(operate)) as pool:
        running = [pool.submit(client) for client in operate]
    for done in running:
        done.result()


def run(url: str | list[str], clients: int = 8, operations: int = 400,
        instances: int = 6, seed: int = 1,
        headers: dict[str, str] | None = None,
        matrix: Matrix | None = None,
        compute_url: str | None = None, guard_clients: int = 4,
        guard_operations: int = 0) -> tuple[Ledger, int]:
    """Create, work, audit; returns the ledger and the events read.

    With ``compute_url`` and ``guard_operations``, the guard workload
    runs at the same time as the API's.
    """
    matrix = matrix or loader.load(["nova"])
    uuids = create_instances(url, instances, headers)
    ledger = Ledger()
    with futures.ThreadPoolExecutor(1) as pool:
        guard = None
        if compute_url and guard_operations:
            guard = pool.submit(guard_workload, compute_url, uuids, ledger,
                                guard_clients, guard_operations, seed,
                                headers)
        workload(url, uuids, ledger, clients, operations, seed, headers,
                 matrix)
    if guard is not None:
        guard.result()
    return ledger, audit(url, headers or {}, uuids, matrix, ledger)


def report(ledger: Ledger, events: int, out: Any = sys.stdout) -> None:
    done = sum(ledger.counts.values())
    print("operations: %d; history events audited: %d" % (done, events),
          file=out)
    by_kind: dict[str, list[str]] = collections.defaultdict(list)
    for (kind, status), n in sorted(ledger.counts.items()):
        by_kind[kind].append("%d x %d" % (n, status))
    for kind, answers in sorted(by_kind.items()):
        print("  %-28s %s" % (kind, ", ".join(answers)), file=out)
    print("reads checked for staleness: %d" % ledger.reads, file=out)
    print("violations: %d" % len(ledger.violations), file=out)
    for violation in ledger.violations[:50]:
        print("  " + violation, file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append",
                        help="an API's URL; repeat it for several behind "
                             "a load balancer (default "
                             "http://127.0.0.1:9797)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--operations", type=int, default=400,
                        help="operations in all (split among the clients)")
    parser.add_argument("--instances", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compute-url",
                        help="vmstate-fake-compute with [guard] reserve = "
                             "true on the same database: also send server "
                             "actions through its guard")
    parser.add_argument("--guard-clients", type=int, default=4)
    parser.add_argument("--guard-operations", type=int, default=200)
    args = parser.parse_args(argv)
    urls = args.url or ["http://127.0.0.1:9797"]
    ledger, events = run(urls[0] if len(urls) == 1 else urls,
                         args.clients, args.operations, args.instances,
                         args.seed, compute_url=args.compute_url,
                         guard_clients=args.guard_clients,
                         guard_operations=args.guard_operations)
    report(ledger, events)
    return 1 if ledger.violations else 0


if __name__ == "__main__":
    sys.exit(main())
