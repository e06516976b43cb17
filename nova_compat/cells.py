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

"""A cell, the two answers it gets, and how they are judged.

A *cell* is one request (a request kind of :mod:`nova_compat.catalog`, or
a path/body/header variant of one) sent in one server state, at one
microversion, by one caller. It gets two answers: Nova's (the request
through Nova's unmodified pipeline) and the guard's (the same request
through the pipeline with ``ComputeGuard``; when the guard lets it
through, that answer is Nova's own). The cell is *exact* when the status,
the fault key and the fault message agree; the guard may add
``allowed_actions`` to its fault, and nothing else of a body is compared
(success bodies carry new ids and passwords).

A *false refusal* is a cell the guard refused that Nova accepts (a status
below 400). A *bypass* is a variant cell the guard let through although
it refused the canonical request in the same state, while Nova routed the
variant to the state-checked action (Nova accepted it, or refused it with
its own state conflict).

Nothing here imports Nova: the unit tests exercise it directly.
"""

import collections
from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import json
import re
from typing import Any

#: Nova's state-conflict message (``InstanceInvalidState``) and the
#: guard's: ``Cannot 'X' instance U while it is in vm_state S``.
STATE_CONFLICT = re.compile(
    r"^Cannot '[^']+' instance \S+ while it is in (vm_state|task_state) ")
#: The exit criterion of issue 12: exact answers at every microversion.
REQUIRED_EXACT = 99.5


@dataclasses.dataclass(frozen=True)
class Answer:
    """What a client sees of one answer: status, fault key, message.

    ``fault`` and ``message`` are ``None`` for a body that is not a
    ``{"<fault>": {"message": ...}}`` object (a success, an empty body).
    """

    status: int
    fault: str | None = None
    message: str | None = None

    @classmethod
    def from_response(cls, status: int, body: bytes | str) -> "Answer":
        """The answer of a response; only a fault body is looked into."""
        if status < 400:
            return cls(status)
        try:
            decoded = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            return cls(status, None, _short(body))
        if isinstance(decoded, dict) and len(decoded) == 1:
            fault, inner = next(iter(decoded.items()))
            if isinstance(inner, dict):
                message = inner.get("message")
                return cls(status, fault,
                           message if isinstance(message, str) else None)
        return cls(status, None, _short(body))

    @property
    def state_conflict(self) -> bool:
        """A 409 refusing for the server's vm_state or task_state."""
        return (self.status == 409 and self.message is not None
                and STATE_CONFLICT.match(self.message) is not None)

    def __str__(self) -> str:
        if self.fault is None and self.message is None:
            return str(self.status)
        return "%d %s %r" % (self.status, self.fault, self.message)


def _short(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) \
        else body
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


@dataclasses.dataclass(frozen=True)
class Cell:
    """Where a cell sits in the table.

    ``state`` names a server state of the catalog, ``request`` a request
    kind (with ``variant`` the path/body/header variant, ``""`` for the
    canonical request), ``microversion`` the requested compute
    microversion (``"2.1"`` ... ``"latest"``), ``caller`` ``admin`` or
    ``member``.
    """

    state: str
    request: str
    microversion: str
    caller: str
    variant: str = ""

    @property
    def label(self) -> str:
        request = self.request + ("[%s]" % self.variant if self.variant
                                  else "")
        return "%s | %s | %s | %s" % (self.state, request,
                                      self.microversion, self.caller)


@dataclasses.dataclass(frozen=True)
class Result:
    """A measured cell: both answers and whether the guard answered.

    ``guard_answered`` is true when the guard produced the answer itself
    (the request never reached Nova behind it); ``canonical_refused``,
    for a variant, whether the guard refused the canonical request in the
    same state, microversion and caller.
    """

    cell: Cell
    nova: Answer
    guard: Answer
    guard_answered: bool
    canonical_refused: bool = False

    @property
    def exact(self) -> bool:
        """Status, fault key and message agree."""
        return self.nova == self.guard

    @property
    def false_refusal(self) -> bool:
        """The guard refused what Nova accepts."""
        return self.guard_answered and self.nova.status < 400

    @property
    def bypass(self) -> bool:
        """A variant the guard let through while refusing the canonical
        request, and that Nova routed to the state-checked action."""
        return (bool(self.cell.variant) and self.canonical_refused
                and not self.guard_answered
                and (self.nova.status < 400 or self.nova.state_conflict))

    @property
    def kind(self) -> str:
        """A short name of how the cell differs ("" when exact)."""
        if self.bypass:
            return "bypass"
        if self.false_refusal:
            return "false refusal"
        if self.exact:
            return ""
        if self.guard_answered:
            if self.nova.state_conflict and self.guard.state_conflict:
                return "words"
            return "order of checks"
        return "passed, answer differs"


@dataclasses.dataclass
class Tally:
    """One row of the agreement table."""

    cells: int = 0
    exact: int = 0
    false_refusals: int = 0
    bypasses: int = 0

    def add(self, result: Result) -> None:
        self.cells += 1
        self.exact += result.exact
        self.false_refusals += result.false_refusal
        self.bypasses += result.bypass

    @property
    def percent(self) -> float:
        return 100.0 * self.exact / self.cells if self.cells else 100.0

    @property
    def passed(self) -> bool:
        return (self.percent >= REQUIRED_EXACT and not self.false_refusals
                and not self.bypasses)


def microversion_key(microversion: str) -> tuple[int, int]:
    """Sorts ``2.1 < 2.17 < 2.100 < latest``."""
    if microversion == "latest":
        return (1 << 30, 0)
    major, _, minor = microversion.partition(".")
    return (int(major), int(minor or 0))


def table(results: Iterable[Result]) -> dict[str, Tally]:
    """The agreement table: one tally per microversion, in order, and
    ``"all"`` over every cell."""
    rows: dict[str, Tally] = collections.defaultdict(Tally)
    total = Tally()
    for result in results:
        rows[result.cell.microversion].add(result)
        total.add(result)
    ordered = {mv: rows[mv] for mv in sorted(rows, key=microversion_key)}
    ordered["all"] = total
    return ordered


def passed(rows: Mapping[str, Tally]) -> bool:
    """Issue 12's bar: at least 99.5 % exact at every microversion, no
    false refusal, no bypass (an empty table does not pass)."""
    measured = [t for mv, t in rows.items() if mv != "all"]
    return bool(measured) and all(t.passed for t in measured)


def format_table(rows: Mapping[str, Tally]) -> str:
    """The agreement table as text, one line per microversion."""
    lines = ["%-12s %8s %8s %8s %15s %9s" % (
        "microversion", "cells", "exact", "%", "false refusals",
        "bypasses")]
    for mv, t in rows.items():
        lines.append("%-12s %8d %8d %8.2f %15d %9d" % (
            mv, t.cells, t.exact, t.percent, t.false_refusals, t.bypasses))
    return "\n".join(lines)


def differences(results: Iterable[Result]) -> list[Result]:
    """Every cell that is not exact or is a bypass, grouped by kind,
    then by request and state."""
    found = [r for r in results if not r.exact or r.bypass]
    order = {"bypass": 0, "false refusal": 1, "order of checks": 2,
             "words": 3, "passed, answer differs": 4}
    return sorted(found, key=lambda r: (
        order.get(r.kind, 9), r.cell.request, r.cell.variant, r.cell.state,
        microversion_key(r.cell.microversion), r.cell.caller))


def format_differences(results: Iterable[Result]) -> str:
    """One block per differing cell: where it is, both answers."""
    blocks = []
    for r in differences(results):
        blocks.append("[%s] %s\n    nova:  %s\n    guard: %s%s" % (
            r.kind or "differs", r.cell.label, r.nova, r.guard,
            " (guard answered)" if r.guard_answered else ""))
    return "\n".join(blocks)


def summary_by_kind(results: Iterable[Result]) -> dict[str, int]:
    """How many differing cells of each kind."""
    counts: dict[str, int] = collections.Counter(
        r.kind for r in differences(results))
    return dict(sorted(counts.items()))


def report(results: list[Result], header: str = "") -> str:
    """The whole text the command prints and writes to the diff file."""
    rows = table(results)
    parts = []
    if header:
        parts.append(header)
    parts.append(format_table(rows))
    kinds = summary_by_kind(results)
    parts.append("differences by kind: %s" % (
        ", ".join("%s %d" % kv for kv in kinds.items()) or "none"))
    parts.append("verdict: %s (bar: >= %.1f %% exact at every "
                 "microversion, 0 false refusals, 0 bypasses)" % (
                     "PASS" if passed(rows) else "FAIL", REQUIRED_EXACT))
    diff = format_differences(results)
    if diff:
        parts.append("differing cells (state | request | microversion | "
                     "caller):\n" + diff)
    return "\n\n".join(parts) + "\n"


def as_json(results: Iterable[Result]) -> list[dict[str, Any]]:
    """The results as plain data (``--json``; :func:`from_json` reads it
    back)."""
    out = []
    for r in results:
        out.append({
            "cell": dataclasses.asdict(r.cell),
            "nova": dataclasses.asdict(r.nova),
            "guard": dataclasses.asdict(r.guard),
            "guard_answered": r.guard_answered,
            "canonical_refused": r.canonical_refused,
            "exact": r.exact, "kind": r.kind,
        })
    return out


def from_json(data: Iterable[Mapping[str, Any]]) -> list[Result]:
    """Results written by :func:`as_json`."""
    return [Result(Cell(**d["cell"]), Answer(**d["nova"]),
                   Answer(**d["guard"]), d["guard_answered"],
                   d.get("canonical_refused", False)) for d in data]
