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

"""``python -m nova_compat [--slice ci|full]``: measure and report.

Prints the agreement table and every differing cell, writes the same
report to the difference file (``--diff-file``, default
``$NOVA_COMPAT_DIFF`` or ``nova-compat-diff.txt``), and exits 1 when any
microversion is below 99.5 % exact or there is a false refusal or a
bypass (2 when the deployment itself failed).
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time

from nova_compat import catalog
from nova_compat import cells


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m nova_compat",
        description="The compute guard in front of the real Nova API, "
                    "cell by cell.")
    parser.add_argument("--slice", choices=sorted(catalog.SLICES),
                        default="full",
                        help="ci: the representative slice CI runs; "
                             "full: every cell (default).")
    parser.add_argument("--state", action="append", default=[],
                        help="Measure only these states (repeatable).")
    parser.add_argument("--request", action="append", default=[],
                        help="Measure only these requests (repeatable).")
    parser.add_argument("--microversion", action="append", default=[],
                        help="Measure only these microversions.")
    parser.add_argument("--no-variants", action="store_true",
                        help="Leave the bypass variants out.")
    parser.add_argument("--diff-file",
                        default=os.environ.get("NOVA_COMPAT_DIFF") or
                        "nova-compat-diff.txt",
                        help="Where the report with every differing cell "
                             "is written (default $NOVA_COMPAT_DIFF or "
                             "./nova-compat-diff.txt).")
    parser.add_argument("--json", help="Also write every cell as JSON.")
    parser.add_argument("--quiet", action="store_true",
                        help="No progress lines on stderr.")
    parser.add_argument("--jobs", type=int, default=2,
                        help="Deployments measuring in parallel, each in "
                             "its own process with a share of the states "
                             "(default 2: one per core here).")
    parser.add_argument("--worker-json", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def narrowed(args: argparse.Namespace) -> catalog.Slice:
    """The slice named, narrowed by ``--state`` etc."""
    chosen = catalog.SLICES[args.slice]
    for name in args.state:
        if name not in catalog.STATES_BY_NAME:
            raise SystemExit("unknown state %r; known: %s" % (
                name, ", ".join(catalog.STATES_BY_NAME)))
    for name in args.request:
        if name not in catalog.REQUESTS_BY_NAME:
            raise SystemExit("unknown request %r; known: %s" % (
                name, ", ".join(catalog.REQUESTS_BY_NAME)))
    return dataclasses.replace(
        chosen,
        states=tuple(args.state) or chosen.states,
        microversions=tuple(args.microversion) or chosen.microversions,
        requests=tuple(args.request) or chosen.requests,
        variants=chosen.variants and not args.no_variants)


def shares(states: tuple[str, ...], jobs: int) -> list[tuple[str, ...]]:
    """``states`` split into at most ``jobs`` shares of about equal size,
    the states of one base kept together (they share servers)."""
    by_base: dict[str, list[str]] = {}
    for name in states:
        by_base.setdefault(catalog.STATES_BY_NAME[name].base,
                           []).append(name)
    groups: list[list[str]] = [[] for _ in range(max(1, jobs))]
    for names in sorted(by_base.values(), key=len, reverse=True):
        min(groups, key=len).extend(names)
    return [tuple(g) for g in groups if g]


def measure_here(chosen: catalog.Slice, quiet: bool
                 ) -> list[cells.Result]:
    """Measure ``chosen`` in a deployment in this process.

    :raises RuntimeError: when the deployment failed.
    """
    # Nova's threading mode (file SQLite cell databases the guard reads).
    os.environ.setdefault("OS_NOVA_DISABLE_EVENTLET_PATCHING", "1")
    os.environ.setdefault("OS_TEST_TIMEOUT", "0")
    # Before anything imports eventlet (the threading mode forbids it
    # once imported), as Nova's own functional package does first.
    from nova import monkey_patch
    monkey_patch.patch()
    from nova_compat import runner

    def log(message: str) -> None:
        if not quiet:
            print("nova-compat: " + message, file=sys.stderr, flush=True)

    return runner.run(chosen, log)


def measure_in_workers(args: argparse.Namespace, chosen: catalog.Slice
                       ) -> list[cells.Result]:
    """Measure ``chosen`` in ``--jobs`` processes, one deployment each.

    :raises RuntimeError: when a worker's deployment failed.
    """
    workers = []
    with tempfile.TemporaryDirectory(prefix="nova-compat-") as tmp:
        for i, share in enumerate(shares(chosen.states, args.jobs)):
            out = os.path.join(tmp, "share-%d.json" % i)
            argv = [sys.executable, "-m", "nova_compat", "--slice",
                    chosen.name, "--worker-json", out]
            for name in share:
                argv += ["--state", name]
            for mv in args.microversion:
                argv += ["--microversion", mv]
            for name in args.request:
                argv += ["--request", name]
            if not chosen.variants:
                argv.append("--no-variants")
            if args.quiet:
                argv.append("--quiet")
            # Our own interpreter and module, names from the catalog.
            workers.append((subprocess.Popen(argv), out))  # noqa: S603
        results: list[cells.Result] = []
        failed = []
        for proc, out in workers:
            if proc.wait() != 0:
                failed.append(proc.returncode)
                continue
            with open(out) as f:
                results.extend(cells.from_json(json.load(f)))
        if failed:
            raise RuntimeError("a worker failed (exit %s)" % failed)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    chosen = narrowed(args)
    started = time.monotonic()
    try:
        if args.worker_json or args.jobs <= 1:
            results = measure_here(chosen, args.quiet)
        else:
            results = measure_in_workers(args, chosen)
    except RuntimeError as err:
        print("nova-compat: the deployment failed:\n%s" % err,
              file=sys.stderr)
        return 2
    if args.worker_json:
        with open(args.worker_json, "w") as f:
            json.dump(cells.as_json(results), f)
        return 0
    elapsed = time.monotonic() - started
    vmstate_src = os.environ.get("NOVA_COMPAT_VMSTATE") or "this tree"
    header = ("nova-compat: slice %s, vmstate from %s, %d cells in %.0f s "
              "(%s)" % (chosen.name, vmstate_src, len(results), elapsed,
                        time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                      time.gmtime())))
    text = cells.report(results, header)
    print(text)
    with open(args.diff_file, "w") as f:
        f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(cells.as_json(results), f, indent=1)
    return 0 if cells.passed(cells.table(results)) else 1


if __name__ == "__main__":
    sys.exit(main())
