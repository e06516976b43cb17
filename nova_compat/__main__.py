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
import sys
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


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    chosen = narrowed(args)
    # Nova's threading mode (file SQLite cell databases the guard reads).
    os.environ.setdefault("OS_NOVA_DISABLE_EVENTLET_PATCHING", "1")
    os.environ.setdefault("OS_TEST_TIMEOUT", "0")
    # Before anything imports eventlet (the threading mode forbids it
    # once imported), as Nova's own functional package does first.
    from nova import monkey_patch
    monkey_patch.patch()
    from nova_compat import runner

    def log(message: str) -> None:
        if not args.quiet:
            print("nova-compat: " + message, file=sys.stderr, flush=True)

    started = time.monotonic()
    try:
        results = runner.run(chosen, log)
    except RuntimeError as err:
        print("nova-compat: the deployment failed:\n%s" % err,
              file=sys.stderr)
        return 2
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
