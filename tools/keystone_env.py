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

"""A real Keystone for the functional tests, kept out of vmstate's own
requirements.

Keystone (from PyPI) pins libraries differently from vmstate's test
requirements, so it lives in a virtualenv of its own, built once and
reused:

- :func:`venv` — ``<cache>/venv``: ``python3 -m venv`` plus ``pip install
  KEYSTONE_REQUIREMENT`` (about two minutes the first time);
- :func:`template` — ``<cache>/template-N``: a Keystone state made by
  ``keystone-manage db_sync``, ``fernet_setup``, ``credential_setup`` and
  ``bootstrap`` (SQLite, fernet tokens; the bootstrap's ``admin`` user,
  project and roles: admin → manager → member → reader, and ``service``),
  then, through Keystone's API, the identities the tests use
  (:data:`PROJECTS`, :data:`USERS`) and vmstate's service
  (``instance-state``) with an endpoint in ``RegionOne``; their ids are in
  ``identities.json``. Each test process copies it instead of doing all
  that again (a Keystone request costs a second or more on a loaded
  two-core machine).

``<cache>`` is ``$VMSTATE_TEST_KEYSTONE_CACHE``, else
``$XDG_CACHE_HOME/vmstate/keystone`` (``~/.cache/vmstate/keystone``).
Both steps are idempotent, hold a file lock (test processes started
together build once), and cost nothing once done. ``.ci/run`` runs this
module before the tests (``python tools/keystone_env.py``) so that the
tests only copy; it prints the cache directory. Standard library only: it
runs before vmstate's requirements are installed.
"""

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

#: What is installed in the virtualenv (the 2025.2 "Flamingo" series).
KEYSTONE_REQUIREMENT = "keystone>=30.0.0,<31"
#: The bootstrap admin's password (of a throw-away Keystone on loopback).
ADMIN_PASSWORD = "vmstate-test-admin"
#: The password of every user :data:`USERS` names.
PASSWORD = "vmstate-test-password"
#: Bumped whenever the template's content changes: a new template is made.
TEMPLATE_FORMAT = 2
#: Seconds one keystone-manage or pip step may take.
STEP_TIMEOUT = 900
#: Seconds Keystone may take to import and answer (two loaded cores).
START_TIMEOUT = 300
#: Where the bootstrap says Keystone is; the real port is the test
#: process's own, written into the catalog when it starts.
PLACEHOLDER_URL = "http://127.0.0.1:5000"
#: vmstate's service type in the catalog.
SERVICE_TYPE = "instance-state"
#: The projects of the tests (named ``vmstate-<key>``).
PROJECTS = ("a", "b", "svc")
#: The users of the tests: key -> (project key, role). ``compute`` is a
#: compute worker; ``vmstate`` is vmstate-api's own service user, which
#: validates tokens.
USERS = {
    "reader_a": ("a", "reader"),
    "member_a": ("a", "member"),
    "member_b": ("b", "member"),
    "compute": ("svc", "service"),
    "vmstate": ("svc", "service"),
}
RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "keystone_server.py")


def cache_dir() -> str:
    """Where the virtualenv and the template live."""
    explicit = os.environ.get("VMSTATE_TEST_KEYSTONE_CACHE")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "vmstate", "keystone")


class SetupError(Exception):
    """Keystone cannot be installed or set up here; the message says
    which step failed and its last lines of output."""


def _run(argv: list[str], what: str, **kw) -> None:
    done = subprocess.run(argv, capture_output=True, text=True,
                          timeout=STEP_TIMEOUT, **kw)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise SetupError("%s failed (exit %d): %s" % (
            what, done.returncode, " | ".join(tail)))


class _Lock:
    """An exclusive lock on ``<cache>/lock`` (between processes)."""

    def __init__(self, root: str) -> None:
        os.makedirs(root, exist_ok=True)
        self.path = os.path.join(root, "lock")

    def __enter__(self) -> "_Lock":
        self.file = open(self.path, "w")
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def _python(venv_dir: str) -> str:
    return os.path.join(venv_dir, "bin", "python")


def venv(root: str | None = None) -> str:
    """The virtualenv with Keystone installed (built when missing).

    :raises SetupError: the virtualenv or the install failed.
    """
    root = root or cache_dir()
    path = os.path.join(root, "venv")
    ready = os.path.join(path, ".vmstate-ready")
    if os.path.exists(ready):
        return path
    with _Lock(root):
        if os.path.exists(ready):
            return path
        shutil.rmtree(path, ignore_errors=True)
        _run([sys.executable, "-m", "venv", path], "python3 -m venv")
        _run([_python(path), "-m", "pip", "install", "-q",
              KEYSTONE_REQUIREMENT], "pip install %s" % KEYSTONE_REQUIREMENT)
        with open(ready, "w") as f:
            f.write(KEYSTONE_REQUIREMENT + "\n")
    return path


def conf_text(state: str, debug: bool = False) -> str:
    """keystone.conf for the Keystone state in directory ``state``."""
    return (
        "[DEFAULT]\ndebug = %s\n"
        "[database]\nconnection = sqlite:///%s\n"
        "[fernet_tokens]\nkey_repository = %s\nmax_active_keys = 3\n"
        "[fernet_receipts]\nkey_repository = %s\n"
        "[credential]\nkey_repository = %s\n"
        # bcrypt's fewest rounds: users are made per test.
        "[identity]\npassword_hash_rounds = 4\n"
        "[token]\nexpiration = 3600\n"
        "[cache]\nenabled = false\n" % (
            debug, os.path.join(state, "keystone.db"),
            os.path.join(state, "fernet-keys"),
            os.path.join(state, "fernet-keys"),
            os.path.join(state, "credential-keys")))


def write_conf(state: str, debug: bool = False) -> str:
    """Write ``state``/keystone.conf; its path."""
    path = os.path.join(state, "keystone.conf")
    with open(path, "w") as f:
        f.write(conf_text(state, debug))
    return path


def template(root: str | None = None) -> str:
    """The directory of a set-up Keystone state (made when missing):
    ``keystone.db`` and the fernet and credential key repositories.

    :raises SetupError: a keystone-manage step failed.
    """
    root = root or cache_dir()
    path = os.path.join(root, "template-%d" % TEMPLATE_FORMAT)
    if os.path.isdir(path):
        return path
    venv_dir = venv(root)
    with _Lock(root):
        if os.path.isdir(path):
            return path
        work = tempfile.mkdtemp(prefix="template-", dir=root)
        try:
            conf = write_conf(work)
            manage = [os.path.join(venv_dir, "bin", "keystone-manage"),
                      "--config-file", conf]
            owner = ["--keystone-user", str(os.getuid()),
                     "--keystone-group", str(os.getgid())]
            # The key repositories do not need the database: made while
            # the schema is.
            keys = [subprocess.Popen(manage + [step] + owner,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
                    for step in ("fernet_setup", "credential_setup")]
            _run(manage + ["db_sync"], "keystone-manage db_sync")
            _run(manage + [
                "bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                "--bootstrap-region-id", "RegionOne",
                "--bootstrap-public-url", PLACEHOLDER_URL + "/v3"],
                "keystone-manage bootstrap")
            for step in keys:
                _, err = step.communicate(timeout=STEP_TIMEOUT)
                if step.returncode != 0:
                    raise SetupError("keystone-manage %s failed: %s" % (
                        step.args[3], err.strip()[-500:]))
            process, url = start(venv_dir, work, conf)
            try:
                identities = _make_identities(url + "/v3")
            finally:
                process.terminate()
                process.wait(30)
            with open(os.path.join(work, "identities.json"), "w") as f:
                json.dump(identities, f, indent=1, sort_keys=True)
            os.unlink(conf)
            os.rename(work, path)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return path


def start(venv_dir: str, state: str, conf: str
          ) -> tuple[subprocess.Popen, str]:
    """Start Keystone on ``state`` (``tools/keystone_server.py``, its log
    in ``<state>/keystone.log``); the process and its root URL.

    :raises SetupError: it exited or did not answer in time.
    """
    log_path = os.path.join(state, "keystone.log")
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [_python(venv_dir), RUNNER, conf], stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, cwd=state)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with open(log_path) as f:
            text = f.read()
        found = re.search(r"keystone listening on (http://[^/]+)/", text)
        if found:
            return process, found.group(1)
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(30)
            raise SetupError("Keystone did not start: %s" % " | ".join(
                text.strip().splitlines()[-5:]))
        time.sleep(0.1)


def api(auth_url: str, method: str, path: str, body: dict | None = None,
        token: str | None = None, **headers: str) -> tuple[dict, dict]:
    """One call to Keystone's API; the answer's JSON and headers.

    :raises SetupError: Keystone answered with an error.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        auth_url + path, data=data, method=method,
        headers=dict(headers, **{"Content-Type": "application/json"}))
    if token:
        request.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=120) as res:
            text = res.read()
            return (json.loads(text) if text else {}), dict(res.headers)
    except urllib.error.HTTPError as err:
        raise SetupError("Keystone %s %s: %s %s" % (
            method, path, err.code, err.read()[:300])) from None


def admin_token(auth_url: str) -> str:
    """A token of the bootstrap admin, scoped to the ``admin`` project."""
    _, headers = api(auth_url, "POST", "/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"},
            "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin",
                              "domain": {"id": "default"}}}}})
    return headers["X-Subject-Token"]


def _make_identities(auth_url: str) -> dict:
    token = admin_token(auth_url)

    def call(method: str, path: str, body: dict | None = None) -> dict:
        return api(auth_url, method, path, body, token)[0]

    roles = {r["name"]: r["id"] for r in call("GET", "/roles")["roles"]}
    projects = {key: call("POST", "/projects", {"project": {
        "name": "vmstate-" + key, "domain_id": "default"}})["project"]["id"]
        for key in PROJECTS}
    users = {}
    for key, (project, role) in USERS.items():
        user_id = call("POST", "/users", {"user": {
            "name": key, "password": PASSWORD,
            "domain_id": "default"}})["user"]["id"]
        call("PUT", "/projects/%s/users/%s/roles/%s" % (
            projects[project], user_id, roles[role]))
        users[key] = {"id": user_id, "name": key,
                      "project_id": projects[project], "role": role}
    admin = call("GET", "/users?name=admin")["users"][0]["id"]
    admin_project = call("GET", "/projects?name=admin")["projects"][0]["id"]
    users["admin"] = {"id": admin, "name": "admin",
                      "project_id": admin_project, "role": "admin"}
    service = call("POST", "/services", {"service": {
        "type": SERVICE_TYPE, "name": "vmstate",
        "description": "Instance state authority"}})["service"]["id"]
    call("POST", "/endpoints", {"endpoint": {
        "service_id": service, "interface": "public",
        "url": PLACEHOLDER_URL + "/vmstate", "region_id": "RegionOne"}})
    return {"projects": projects, "users": users}


def main() -> int:
    try:
        template()
    except (SetupError, OSError, subprocess.TimeoutExpired) as err:
        print("keystone_env: %s" % err, file=sys.stderr)
        return 1
    print(cache_dir())
    return 0


if __name__ == "__main__":
    sys.exit(main())
