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


"""How fast ``vmstate-api`` answers, by number of concurrent clients.

The real ``vmstate-api`` console script is started as an operator would
start it (a temporary configuration file, port 0, the bound port read
from its "listening on" line) and stopped with SIGTERM at the end. Two
requests are timed, each under 1, 8 and 32 concurrent clients:

show
    ``GET /v1/instances/{uuid}``: one read and the view, with
    ``allowed_actions`` from the matrix. Clients cycle through a pool of
    active instances.
action
    ``POST /v1/instances/{uuid}/actions`` ``{"action": "reboot"}``: the
    matrix check and the start in one compare-and-swap plus its history
    row, answered 202. Every request starts the action on a fresh
    instance (active, no task), created through the API beforehand, so
    that every request is a valid start and a 409 means a bug.

Beside each show cell, the same clients read the same instances from a
minimal Pecan + SQLAlchemy app (``benchmarks/baseline_api.py``: the same
one-statement read, JSON, cheroot with as many threads, nothing else) on
the same database: ``base`` rows. The server CPU per answered show of
both, and their ratio, is the cost of vmstate's request path (target:
at most 1.5 times the baseline's).

Against the embedded SQLite default (a file in a temporary
``state_path``, schema created by ``vmstate-api`` on start) and
PostgreSQL (a scratch database created through a superuser, schema made
by ``vmstate-manage db sync``, dropped afterwards), in one run. The
callers are members of one project (``noauth`` headers). Every client
owns one keep-alive ``http.client`` connection and sends its next
request when the previous answer is read (a closed loop); clients are
threads, spread over as many processes as the machine has cores so that
no client interpreter lock sets the pace. All load comes from this
machine, which also runs the server and the database: figures compare
backends and concurrency levels, they are not a capacity plan.

Per cell: ``requests`` answered inside the measured window (after a
warm-up), ``rps`` those per second, ``p50``/``p99`` the latency of the
successful ones in milliseconds (from sending the request to reading
the whole answer), ``errors`` every answer other than 200 (show) or 202
(action) and every broken connection, warm-up included; ``srv cpu`` the
cores the ``vmstate-api`` process used in the window (near 1.0 or
above: its interpreter lock is the limit; the database driver and I/O
run outside it) and ``cli cpu`` those all client processes used (were
it near the cores left, the clients would be the limit). The run
exits 1 when there was any error, or the server logged one, died or did
not stop cleanly on SIGTERM.

Run by hand: ``python benchmarks/api.py [--seconds S] [--clients
1,8,32] [--backends sqlite,postgresql] [--client-processes N]
[--postgresql URL]``.
"""

import argparse
import collections
import concurrent.futures
import contextlib
import http.client
import json
import math
import multiprocessing
import os
import platform
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import databases
import results

BACKENDS = ("sqlite", "postgresql")
# A member of one project, as a dashboard or a compute API calls.
HEADERS = {"Content-Type": "application/json", "X-Project-Id": "bench",
           "X-User-Id": "bench-user", "X-Roles": "member"}
ACTION = {"action": "reboot"}
EXPECTED = {"show": 200, "action": 202}
START_TIMEOUT = 60
STOP_TIMEOUT = 30
SHOW_POOL = 200
BASELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "baseline_api.py")
# Issue 14: a show costs at most this many times the baseline's server CPU.
SHOW_CPU_RATIO = 1.5
# Instances prepared for an action cell: the show rate at the same
# concurrency, times this, for the whole cell (warm-up included).
ACTION_MARGIN = 1.5


# -- the server ----------------------------------------------------------

class APIServer:
    """``vmstate-api`` on port 0 with its own configuration file."""

    def __init__(self, directory, connection, threads):
        self.directory = directory
        self.conf = os.path.join(directory, "vmstate.conf")
        database = ("[database]\nconnection = %s\n" % connection
                    if connection else "")
        with open(self.conf, "w") as f:
            # No waits here: most threads serve short requests (the
            # service refuses max_waits at or above its threads).
            f.write("[DEFAULT]\nstate_path = %s\n[api]\nhost = 127.0.0.1\n"
                    "port = 0\nthreads = %d\nmax_waits = %d\n"
                    "shutdown_timeout = 5\n%s"
                    % (directory, threads, threads // 4, database))
        self.log_path = os.path.join(directory, "api.log")
        self.process = None
        self.address = None

    def command(self, name):
        path = shutil.which(name)
        if path is None:
            raise RuntimeError("%s is not installed" % name)
        return path

    def db_sync(self):
        done = subprocess.run(
            [self.command("vmstate-manage"), "--config-file", self.conf,
             "db", "sync"], cwd=self.directory, capture_output=True,
            text=True, timeout=120)
        if done.returncode:
            raise RuntimeError("vmstate-manage db sync failed:\n%s%s"
                               % (done.stdout, done.stderr))

    def argv(self):
        return [self.command("vmstate-api"), "--config-file", self.conf]

    def start(self):
        self.log = open(self.log_path, "w+")
        self.process = subprocess.Popen(
            self.argv(), cwd=self.directory, stdout=subprocess.PIPE,
            stderr=self.log, text=True)
        lines = queue.Queue()

        def drain():
            # Keep reading so that the server never blocks on its stdout.
            for line in self.process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                line = lines.get(
                    timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            found = line and re.search(r"listening on http://([^:/]+):(\d+)/",
                                       line)
            if found:
                self.address = (found.group(1), int(found.group(2)))
                return
            if line is None:
                raise RuntimeError("%s did not start:\n%s"
                                   % (self.argv()[0], self.logs()))

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """SIGTERM, then the exit status (None: it had to be killed)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return None
        finally:
            self.log.close()

    def logs(self):
        with open(self.log_path) as f:
            return f.read()


class BaselineServer(APIServer):
    """``benchmarks/baseline_api.py`` (a minimal Pecan + SQLAlchemy app
    doing a show's read) on the same database, with as many threads."""

    def __init__(self, directory, url, threads):
        self.directory = directory
        self.url = url
        self.threads = threads
        self.log_path = os.path.join(directory, "baseline.log")
        self.process = None
        self.address = None

    def argv(self):
        return [sys.executable, BASELINE, self.url, str(self.threads)]


def cpu_per_request(cell):
    """Server CPU milliseconds per answered request of ``cell``."""
    if cell.server_cpu is None or not cell.requests:
        return float("nan")
    return cell.server_cpu * cell.window / cell.requests * 1000


# -- HTTP ----------------------------------------------------------------

class Client:
    """One keep-alive connection; http.client reopens it if closed."""

    def __init__(self, address):
        self.conn = http.client.HTTPConnection(*address, timeout=60)

    def call(self, method, path, body=None):
        """(status, body bytes); status 0 when the connection broke."""
        try:
            self.conn.request(method, path,
                              None if body is None else json.dumps(body),
                              HEADERS)
            res = self.conn.getresponse()
            data = res.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            return 0, b""
        return res.status, data

    def close(self):
        self.conn.close()


def create_instances(address, count, threads=8):
    """``count`` new active instances with no task, through the API."""
    local = threading.local()
    clients = []

    def create(_):
        if not hasattr(local, "client"):
            local.client = Client(address)
            clients.append(local.client)
        status, data = local.client.call(
            "POST", "/v1/instances",
            {"instance": {"vm_state": "active", "task_state": None}})
        if status != 201:
            raise RuntimeError("creating an instance answered %d: %s"
                               % (status, data[:500]))
        return json.loads(data)["instance"]["uuid"]

    try:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            return list(pool.map(create, range(count)))
    finally:
        for client in clients:
            client.close()


# -- the clients ---------------------------------------------------------

def _run_client(client, op, uuids, start, end, out):
    """A closed loop until ``end``: (done at, latency, status) each.

    For show ``uuids`` is this client's list, read round and round; for
    action a deque of fresh instances that the process's clients share,
    so that a client faster than the others does not run out first.
    """
    records = []
    exhausted = None
    i = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if op == "show":
            method, body = "GET", None
            path = "/v1/instances/%s" % uuids[i % len(uuids)]
            i += 1
        else:
            try:
                uuid = uuids.popleft()
            except IndexError:
                exhausted = now
                break
            method, body = "POST", ACTION
            path = "/v1/instances/%s/actions" % uuid
        sent = time.monotonic()
        status, _ = client.call(method, path, body)
        done = time.monotonic()
        records.append((done, done - sent, status))
    out.append((records, exhausted))


def client_process(address, op, jobs, duration, ready, go, start_at,
                   results):
    """One thread per job (a client), from ``start_at`` for ``duration``.

    time.monotonic() is one system-wide clock on Linux, so the window the
    parent sets holds in every process.
    """
    clients = [Client(address) for _ in jobs]
    for client in clients:
        client.call("GET", "/")     # connect before the start
    ready.put(os.getpid())
    go.wait()
    cpu = time.process_time()
    start = start_at.value
    if op == "action":
        fresh = collections.deque(uuid for job in jobs for uuid in job)
        jobs = [fresh] * len(jobs)
    out = []
    threads = [threading.Thread(target=_run_client,
                                args=(client, op, uuids, start,
                                      start + duration, out))
               for client, uuids in zip(clients, jobs, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = time.process_time() - cpu
    for client in clients:
        client.close()
    results.put((out, cpu))


Cell = collections.namedtuple(
    "Cell", "requests rps p50 p99 errors window processes server_cpu "
    "client_cpu")


def cpu_seconds(pid):
    """User and system CPU seconds of process ``pid`` (Linux; else None)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sleep_until(moment):
    time.sleep(max(0.0, moment - time.monotonic()))


def percentile(ordered, fraction):
    """Nearest-rank percentile of a sorted list (NaN when empty)."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1,
                       max(0, math.ceil(fraction * len(ordered)) - 1))]


def run_cell(mp, server, op, jobs, processes, warmup, seconds):
    """Run ``jobs`` (one list of uuids per client) and measure the window.

    The window is ``seconds`` after ``warmup``; it ends early when the
    clients run out of fresh instances (not expected with the margin).
    CPU is in cores: the server's during the window, the clients' over
    the whole run of the cell.
    """
    address, pid = server.address, server.process.pid
    groups = [g for g in (jobs[i::processes] for i in range(processes)) if g]
    ready, results = mp.Queue(), mp.Queue()
    go, start_at = mp.Event(), mp.Value("d", 0.0)
    procs = [mp.Process(target=client_process,
                        args=(address, op, group, warmup + seconds, ready,
                              go, start_at, results), daemon=True)
             for group in groups]
    outs = []
    client_cpu = 0.0
    server_cpu = None
    try:
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.get(timeout=60)
        start_at.value = time.monotonic() + 0.05
        go.set()
        _sleep_until(start_at.value + warmup)
        before = cpu_seconds(pid)
        _sleep_until(start_at.value + warmup + seconds)
        after = cpu_seconds(pid)
        if before is not None and after is not None:
            server_cpu = (after - before) / seconds
        for _ in procs:
            out, cpu = results.get(timeout=warmup + seconds + 120)
            outs.extend(out)
            client_cpu += cpu / (warmup + seconds)
        for proc in procs:
            proc.join(30)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
    begin = start_at.value + warmup
    end = start_at.value + warmup + seconds
    ran_out = [at for _, at in outs if at is not None]
    if ran_out:
        end = min(end, min(ran_out))
    expected = EXPECTED[op]
    errors = collections.Counter()
    latencies = []
    requests = 0
    for records, _ in outs:
        for done, latency, status in records:
            if status != expected:
                errors[status] += 1
            if begin <= done < end:
                requests += 1
                if status == expected:
                    latencies.append(latency)
    latencies.sort()
    window = max(end - begin, 1e-9)
    return Cell(requests, requests / window, percentile(latencies, 0.50),
                percentile(latencies, 0.99), errors, window, len(procs),
                server_cpu, client_cpu)


# -- backends ------------------------------------------------------------

def server_problems(text):
    """Log lines that say the server went wrong."""
    return [line for line in text.splitlines()
            if re.search(r"\b(ERROR|CRITICAL)\b|Traceback|database is locked",
                         line)]


def run_backend(backend, args, mp, emit, compare):
    """Every cell on ``backend``; a list of failures (empty: all well)."""
    failures = []
    with contextlib.ExitStack() as stack:
        directory = tempfile.mkdtemp(prefix="vmstate-api-bench-")
        stack.callback(shutil.rmtree, directory, ignore_errors=True)
        connection = None
        if backend == "postgresql":
            connection = stack.enter_context(
                databases.postgresql_database(args.postgresql))
        threads = max(64, 2 * max(args.clients))
        server = APIServer(directory, connection, threads=threads)
        baseline = BaselineServer(
            directory, connection or "sqlite:///%s" % os.path.join(
                directory, "vmstate.sqlite"), threads)
        if connection:
            server.db_sync()

        def stop():
            status = server.stop()
            if status != 0:
                failures.append("%s: vmstate-api exited with %s after "
                                "SIGTERM" % (backend, status))
            problems = server_problems(server.logs())
            if problems:
                failures.append("%s: %d error lines in the server log, "
                                "first ones:\n    %s" % (
                                    backend, len(problems),
                                    "\n    ".join(problems[:5])))

        server.start()
        stack.callback(stop)
        address = server.address
        baseline.start()
        stack.callback(baseline.stop)

        # Warm up the server (imports, statement caches, pools) unmeasured.
        pool = create_instances(address, SHOW_POOL)
        warm = Client(address)
        try:
            answers = [warm.call("GET", "/v1/instances/%s" % uuid)
                       for uuid in pool[:20]]
            answers += [warm.call("POST", "/v1/instances/%s/actions" % uuid,
                                  ACTION)
                        for uuid in create_instances(address, 20)]
        finally:
            warm.close()
        warm = Client(baseline.address)
        try:
            answers += [warm.call("GET", "/v1/instances/%s" % uuid)
                        for uuid in pool[:20]]
        finally:
            warm.close()
        wrong = [a for a in answers if a[0] not in EXPECTED.values()]
        if wrong:
            raise RuntimeError("warm-up answered %d: %s" % (
                wrong[0][0], wrong[0][1][:500]))

        for clients in args.clients:
            step = max(1, len(pool) // clients)
            jobs = [pool[k * step:] + pool[:k * step] for k in range(clients)]
            processes = min(clients, args.client_processes)
            show = run_cell(mp, server, "show", jobs, processes,
                            args.warmup, args.seconds)
            emit(backend, "show", clients, show)
            base = run_cell(mp, baseline, "show", jobs, processes,
                            args.warmup, args.seconds)
            emit(backend, "base", clients, base)
            compare(backend, clients, show, base)
            needed = (math.ceil(show.rps * (args.warmup + args.seconds)
                                * ACTION_MARGIN) + 4 * clients)
            fresh = create_instances(address, needed)
            jobs = [fresh[k::clients] for k in range(clients)]
            action = run_cell(mp, server, "action", jobs, processes,
                              args.warmup, args.seconds)
            emit(backend, "action", clients, action)
            for op, cell in (("show", show), ("base", base),
                             ("action", action)):
                if cell.errors:
                    failures.append("%s %s x%d: %s" % (
                        backend, op, clients, ", ".join(
                            "%s x%d" % (status or "broken connection", n)
                            for status, n in sorted(cell.errors.items()))))
            if not server.alive():
                failures.append("%s: vmstate-api died" % backend)
                break
    return failures


# -- main ----------------------------------------------------------------

def _list(kind, choices=None):
    def parse(text):
        items = [kind(v) for v in text.split(",") if v.strip()]
        if not items or (choices and set(items) - set(choices)):
            raise argparse.ArgumentTypeError("a comma-separated list%s" % (
                " of " + ", ".join(choices) if choices else ""))
        return items
    return parse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="measured seconds per cell (default 3)")
    parser.add_argument("--warmup", type=float, default=0.5,
                        help="unmeasured seconds before each cell's window "
                             "(default 0.5)")
    parser.add_argument("--clients", type=_list(int), default=[1, 8, 32],
                        help="concurrency levels (default 1,8,32)")
    parser.add_argument("--backends", type=_list(str, BACKENDS),
                        default=list(BACKENDS),
                        help="default sqlite,postgresql")
    parser.add_argument("--client-processes", type=int,
                        default=os.cpu_count() or 1,
                        help="processes the client threads are spread "
                             "over (default: the number of cores)")
    parser.add_argument("--postgresql",
                        default=databases.POSTGRESQL_ADMIN,
                        help="a PostgreSQL account that may create "
                             "databases (default %(default)s)")
    results.add_argument(parser)
    args = parser.parse_args(argv)
    found = results.Results("api")
    if args.client_processes < 1 or min(args.clients) < 1:
        parser.error("clients and processes must be at least 1")
    # Cleanup also on SIGTERM, not only on ^C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    mp = multiprocessing.get_context("spawn")

    print("vmstate-api: show (GET /v1/instances/{uuid}) and action (POST "
          "/v1/instances/{uuid}/actions reboot, a fresh instance each); "
          "%g s per cell after %g s warm-up; clients: threads with one "
          "keep-alive http.client connection each, over up to %d "
          "processes; clients, server and database on this machine: "
          "%d cores, %s %s, Python %s, load average %.2f at the start" % (
              args.seconds, args.warmup, args.client_processes,
              os.cpu_count() or 0, platform.system(), platform.machine(),
              platform.python_version(), os.getloadavg()[0]))
    print()
    header = "%-10s %-6s %7s %5s %8s %7s %7s %7s %6s %7s %7s" % (
        "backend", "op", "clients", "procs", "requests", "rps", "p50 ms",
        "p99 ms", "errors", "srv cpu", "cli cpu")
    print(header)
    print("-" * len(header))

    def emit(backend, op, clients, cell):
        note = ""
        if cell.window < args.seconds - 1e-6:
            note = "  (window %.2f s: ran out of instances)" % cell.window
        server_cpu = ("%7.2f" % cell.server_cpu
                      if cell.server_cpu is not None else "%7s" % "-")
        print("%-10s %-6s %7d %5d %8d %7.1f %7.2f %7.2f %6d %s %7.2f%s" % (
            backend, op, clients, cell.processes, cell.requests, cell.rps,
            cell.p50 * 1000, cell.p99 * 1000, sum(cell.errors.values()),
            server_cpu, cell.client_cpu, note), flush=True)
        for name, value, unit in (("%s rps" % op, cell.rps, "req/s"),
                                  ("%s p50" % op, cell.p50 * 1000, "ms"),
                                  ("%s p99" % op, cell.p99 * 1000, "ms")):
            found.figure(backend, name, value, unit, clients=clients)

    def compare(backend, clients, show, base):
        mine, theirs = cpu_per_request(show), cpu_per_request(base)
        ratio = mine / theirs if theirs else float("nan")
        print("%-10s show server CPU per request: %.3f ms, baseline %.3f ms:"
              " %.2fx (target <= %gx)" % (backend, mine, theirs, ratio,
                                          SHOW_CPU_RATIO), flush=True)
        found.figure(backend, "show server cpu per request", mine, "ms",
                     clients=clients, baseline=theirs)
        found.target("%s show server CPU / minimal Pecan + SQLAlchemy, "
                     "%d clients" % (backend, clients), ratio,
                     "<= %g" % SHOW_CPU_RATIO, ratio <= SHOW_CPU_RATIO)

    failures = []
    for backend in args.backends:
        try:
            failures += run_backend(backend, args, mp, emit, compare)
        except Exception as err:
            failures.append("%s: %s: %s" % (backend, type(err).__name__,
                                            err))
    print()
    found.target("answers other than 200/202, broken connections or "
                 "server errors", float(len(failures)), "0", not failures)
    found.write(args.json)
    if failures:
        print("FAILED:")
        for failure in failures:
            print("  " + failure)
        return 1
    print("requests: answered in the window; rps: those per second; "
          "p50/p99: latency of the successful ones; errors: answers other "
          "than 200 (show) or 202 (action), warm-up included; srv/cli cpu: "
          "cores used by the vmstate-api process in the window and by all "
          "client processes (PostgreSQL's own not counted)")
    print("no errors: every show answered 200, every action 202; "
          "vmstate-api stopped cleanly on SIGTERM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
