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

"""At the end of a run, say how many tests were skipped and why.

A database backend that cannot be reached skips its tests (oslo.db's
opportunistic fixtures), which stestr counts but does not explain; 76
skipped tests in 1,000 lines of output go unnoticed. Every test process
records its skips (:func:`record`, called by ``tests.base.TestCase``)
and, when it exits, adds them to a file shared by the processes of the
run (its process group). The last test process of the run to exit prints
the total, by reason, to stderr, just before stestr's totals::

    vmstate tests: 76 database tests skipped:
      38 Backend 'postgresql' is unavailable: Could not connect
      38 Backend 'mysql' is unavailable: Could not connect
      (tools/test-setup.sh creates the openstack_citest databases; ...)
"""

import atexit
import collections
import fcntl
import json
import os
import sys
import tempfile

_TMP = tempfile.gettempdir()
DATABASE = "database"
OTHER = "other"

_skipped: collections.Counter[tuple[str, str]] = collections.Counter()


def record(kind: str, reason: str) -> None:
    """Count one skipped test of ``kind`` (:data:`DATABASE` or
    :data:`OTHER`) for ``reason``."""
    first = (str(reason).strip().splitlines() or ["no reason given"])[0]
    _skipped[(kind, first[:200])] += 1


def _is_test_process(argv: list[str]) -> bool:
    # The python of a stestr worker (not the /bin/sh -c that starts it,
    # whose one argument holds the whole command line).
    return bool(argv) and "python" in os.path.basename(argv[0]) and any(
        arg in ("stestr.subunit_runner.run", "subunit.run", "testtools.run")
        for arg in argv)


def _siblings(pgid: int) -> set[int]:
    """The test processes of this run still alive, this one excluded."""
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = [a.decode(errors="replace")
                        for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        # fields[0] is the state, fields[2] the process group.
        if fields[0] != "Z" and int(fields[2]) == pgid and \
                _is_test_process(argv):
            found.add(int(name))
    return found


def summary(records: dict[str, list[list]]) -> list[str]:
    """The lines to print for every process's records."""
    total: collections.Counter[tuple[str, str]] = collections.Counter()
    for entries in records.values():
        for kind, reason, count in entries:
            total[(kind, reason)] += count
    lines = []
    for kind, label in ((DATABASE, "database tests"), (OTHER, "other tests")):
        reasons = sorted(((count, reason) for (k, reason), count
                          in total.items() if k == kind), reverse=True)
        count = sum(c for c, _ in reasons)
        if kind == DATABASE or count:
            lines.append("vmstate tests: %d %s skipped%s" % (
                count, label, ":" if count else ""))
        lines += ["  %d %s" % (c, reason) for c, reason in reasons]
        if kind == DATABASE and count:
            lines.append(
                "  (tools/test-setup.sh creates the openstack_citest users "
                "and databases; VMSTATE_TEST_DB_REQUIRED=1 makes these "
                "tests fail instead of skipping)")
    return lines


def _report() -> None:
    pgid = os.getpgrp()
    path = os.path.join(_TMP, "vmstate-test-skips-%d.json" % pgid)
    entries = [[kind, reason, count]
               for (kind, reason), count in sorted(_skipped.items())]
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return
    with os.fdopen(fd, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        text = f.read()
        records = json.loads(text) if text else {}
        records[str(os.getpid())] = entries
        pending = {pid for pid in _siblings(pgid)
                   if str(pid) not in records}
        if pending:
            f.seek(0)
            f.truncate()
            json.dump(records, f)
            return
        os.unlink(path)
    sys.__stderr__.write("\n".join(summary(records)) + "\n")
    sys.__stderr__.flush()


def install() -> None:
    """Report at exit (once per process; Linux only, where /proc is).

    Not in the process that only lists the tests (``--list``): it runs
    none, and exits before the others start.
    """
    if "--list" in sys.argv:
        return
    if os.path.isdir("/proc/self") and not getattr(install, "done", False):
        install.done = True  # type: ignore[attr-defined]
        atexit.register(_report)
