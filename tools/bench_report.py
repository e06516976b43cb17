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

"""One benchmark report: every benchmark, one Markdown table, plots.

Runs each benchmark in ``benchmarks/`` with ``--json`` (quick settings
with ``--quick``), keeps what each printed, and writes into the output
directory (default ``benchmarks/report/``):

* ``report.md``: the machine, every target with its figure and verdict
  (the ratios against the reference patterns: the Nova-style guard, the
  Nova read-check-update pattern, a polling client), then every figure;
* ``throughput.png`` and ``latency.png``: requests per second and
  latency against the number of concurrent clients, for every figure a
  benchmark measured by concurrency;
* ``waiters.png``: long-poll wake-up latency and server CPU per woken
  waiter against the number of waiters one commit wakes;
* ``scale.png``: each API and sweeper statement's time against the
  number of instances in the table;
* ``<benchmark>.txt``: each benchmark's own printout.

Usage: ``tools/bench-report [--quick] [--only NAME ...] [--out DIR]``.
"""

import argparse
import collections
import datetime
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(ROOT, "benchmarks")

# name: (script, quick arguments)
RUNS = {
    "guard": ("guard.py", ["--repeat", "3"]),
    "cas": ("cas.py", ["--cycles", "100", "--repeat", "2"]),
    "middleware": ("middleware.py", ["--calls", "500", "--repeat", "2"]),
    "api": ("api.py", ["--seconds", "1.5"]),
    "waits": ("waits.py", ["--rounds", "5", "--http-rounds", "1",
                           "--clients", "20", "--delay", "2",
                           "--show-seconds", "2"]),
    "scale": ("scale.py", ["--sizes", "10000,100000", "--repeat", "5"]),
}


def run(name: str, quick: bool, out: str) -> dict:
    script, quick_args = RUNS[name]
    path = os.path.join(BENCHMARKS, script)
    result = {"benchmark": name, "figures": [], "targets": [],
              "status": "missing"}
    if not os.path.exists(path):
        return result
    json_path = os.path.join(out, "%s.json" % name)
    if os.path.exists(json_path):
        os.unlink(json_path)
    command = [sys.executable, path, *(quick_args if quick else []),
               "--json", json_path]
    started = time.monotonic()
    with open(os.path.join(out, "%s.txt" % name), "w") as printed:
        code = subprocess.call(command, stdout=printed,
                               stderr=subprocess.STDOUT, cwd=ROOT)
    if os.path.exists(json_path):
        with open(json_path) as f:
            result.update(json.load(f))
    result["status"] = ("ok" if code == 0 else
                        "targets missed" if result["targets"] else
                        "failed (%d)" % code)
    result["seconds"] = time.monotonic() - started
    return result


def _markdown(results: list[dict], quick: bool) -> str:
    lines = ["# vmstate benchmark report", "",
             "%s; Python %s on %s, %d cores%s." % (
                 datetime.datetime.now(datetime.timezone.utc)
                 .strftime("%Y-%m-%d %H:%M UTC"),
                 platform.python_version(), platform.machine(),
                 os.cpu_count() or 0,
                 " (quick settings)" if quick else ""), "",
             "## Targets", "",
             "| benchmark | target | figure | goal | met |",
             "|---|---|---|---|---|"]
    for result in results:
        for target in result["targets"]:
            lines.append("| %s | %s | %s | %s | %s |" % (
                result["benchmark"], target["name"],
                _number(target["value"]), target["goal"],
                "yes" if target["met"] else "**no**"))
    lines += ["", "## Runs", "", "| benchmark | status | seconds |",
              "|---|---|---|"]
    for result in results:
        lines.append("| %s | %s | %s |" % (
            result["benchmark"], result["status"],
            "%.0f" % result["seconds"] if "seconds" in result else "-"))
    for result in results:
        if not result["figures"]:
            continue
        lines += ["", "## %s" % result["benchmark"], "",
                  "| group | figure | value | unit |", "|---|---|---|---|"]
        for figure in result["figures"]:
            name = figure["name"]
            if figure["labels"]:
                name += " (%s)" % ", ".join(
                    "%s=%s" % kv for kv in sorted(figure["labels"].items()))
            lines.append("| %s | %s | %s | %s |" % (
                figure["group"], name, _number(figure["value"]),
                figure["unit"]))
    lines += ["", "![throughput](throughput.png)", "",
              "![latency](latency.png)", "", "![waiters](waiters.png)", "",
              "![scale](scale.png)", ""]
    return "\n".join(lines)


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if abs(value) >= 100:
        return "%.0f" % value
    return "%.3g" % value


def _series(results: list[dict], unit: str, by: str = "clients") -> dict:
    """(label -> [(x, value)]) for figures measured against the label
    ``by`` (concurrent clients, waiters woken)."""
    series: dict[str, list] = collections.defaultdict(list)
    for result in results:
        for figure in result["figures"]:
            x = figure["labels"].get(by)
            if x is None or figure["unit"] != unit:
                continue
            label = "%s %s %s" % (result["benchmark"], figure["group"],
                                  figure["name"])
            where = figure["labels"].get("where")
            if where:
                label += " (%s)" % where
            series[label].append((int(x), figure["value"]))
    return {k: sorted(v) for k, v in series.items()}


def plot(results: list[dict], out: str) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    written = []
    for filename, unit, title, ylabel, by, xlabel in (
            ("throughput.png", "req/s", "Throughput", "requests per second",
             "clients", "concurrent clients"),
            ("latency.png", "ms", "Latency", "milliseconds", "clients",
             "concurrent clients"),
            ("waiters.png", "ms", "Long-poll wake-up", "milliseconds",
             "waiters", "waiters woken by one commit"),
            ("scale.png", "ms", "Statement time", "milliseconds",
             "instances", "instances in the table")):
        series = _series(results, unit, by)
        figure, axes = pyplot.subplots(figsize=(8, 5))
        for label, points in sorted(series.items()):
            axes.plot([p[0] for p in points], [p[1] for p in points],
                      marker="o", label=label)
        axes.set_xscale("log", base=10 if by == "instances" else 2)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.set_yscale("log")
        axes.set_title("vmstate: %s against %s" % (title.lower(), xlabel))
        if series:
            axes.legend(fontsize="small")
        else:
            axes.text(0.5, 0.5, "no figure measured against %s" % xlabel,
                      ha="center", transform=axes.transAxes)
        axes.grid(True, alpha=0.3)
        figure.tight_layout()
        figure.savefig(os.path.join(out, filename), dpi=100)
        pyplot.close(figure)
        written.append(filename)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter runs (figures are noisier)")
    parser.add_argument("--only", nargs="+", choices=sorted(RUNS),
                        help="run only these benchmarks")
    parser.add_argument("--out", default=os.path.join(BENCHMARKS,
                                                      "report"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    results = []
    for name in args.only or RUNS:
        print("running %s ..." % name, flush=True)
        results.append(run(name, args.quick, args.out))
        print("  %s" % results[-1]["status"], flush=True)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(_markdown(results, args.quick))
    plot(results, args.out)
    print("wrote %s" % os.path.join(args.out, "report.md"))
    failed = [r for r in results if r["status"].startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
