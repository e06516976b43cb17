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

"""A real Keystone on loopback, with the projects, users and roles of the
tests.

One Keystone server per test process (:func:`server`), started on first
use from the state :mod:`tools.keystone_env` prepared once (its own
virtualenv, SQLite, fernet tokens, ``keystone-manage bootstrap``, and the
identities of :data:`tools.keystone_env.USERS`: a reader and a member of
project ``a``, a member of ``b``, a compute worker and vmstate-api's own
service user with the ``service`` role), and stopped when the process
exits. Every test starts its own ``vmstate-api`` with its own database,
so sharing the identities shares nothing else.

Like the database backends, a Keystone that cannot be had is a skip,
unless ``VMSTATE_TEST_DB_REQUIRED`` is set (CI sets it): then it is a
failure that says which step failed.
"""

import atexit
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import threading

import requests

from tools import keystone_env

REQUIRED = bool(os.environ.get("VMSTATE_TEST_DB_REQUIRED"))
PASSWORD = keystone_env.PASSWORD
SERVICE_TYPE = keystone_env.SERVICE_TYPE


class User:
    """A user of the tests, with one role on one project."""

    def __init__(self, ks: "Server", id: str, name: str, project_id: str,
                 role: str, password: str = PASSWORD) -> None:
        self.ks = ks
        self.password = password
        self.id = id
        self.name = name
        self.project_id = project_id
        self.role = role
        self._token: str | None = None

    def new_token(self) -> str:
        """A new project-scoped token."""
        return self.ks.token(self.id, self.project_id, self.password)

    def token(self) -> str:
        """This process's token of the user (Keystone's tokens last an
        hour)."""
        if self._token is None:
            self._token = self.new_token()
        return self._token


class Server:
    """A Keystone process serving a copy of the prepared state.

    ``url`` is its root (``http://127.0.0.1:PORT``), ``auth_url`` the
    Identity v3 endpoint, ``projects`` the project ids by key (``a``,
    ``b``, ``svc``), and each user of :data:`tools.keystone_env.USERS`
    (and ``admin``, the bootstrap admin) an attribute (:class:`User`).
    """

    def __init__(self) -> None:
        template = keystone_env.template()
        venv = keystone_env.venv()
        self.dir = tempfile.mkdtemp(prefix="vmstate-keystone-")
        atexit.register(shutil.rmtree, self.dir, True)
        state = os.path.join(self.dir, "state")
        shutil.copytree(template, state)
        conf = keystone_env.write_conf(state)
        self.process, self.url = keystone_env.start(venv, state, conf)
        atexit.register(self.stop)
        self.auth_url = self.url + "/v3"
        self._admin_token = keystone_env.admin_token(self.auth_url)
        with open(os.path.join(state, "identities.json")) as f:
            identities = json.load(f)
        self.projects = identities["projects"]
        for key, user in identities["users"].items():
            if key == "admin":
                user["password"] = keystone_env.ADMIN_PASSWORD
            setattr(self, key, User(self, **user))
        self._endpoints = {}
        for endpoint in self.call("GET", "/endpoints")["endpoints"]:
            self._endpoints[endpoint["url"]] = endpoint["id"]
        # The bootstrap could not know the port; keystonemiddleware and
        # the CLI find Keystone through the catalog.
        self._set_url(keystone_env.PLACEHOLDER_URL + "/v3", self.auth_url)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def _set_url(self, old: str, new: str) -> None:
        endpoint_id = self._endpoints.pop(old)
        self.call("PATCH", "/endpoints/" + endpoint_id,
                  {"endpoint": {"url": new}})
        self._endpoints[new] = endpoint_id

    def set_vmstate_endpoint(self, url: str) -> None:
        """Point vmstate's catalog entry (public, RegionOne) at ``url``:
        the ``vmstate-api`` of the test running."""
        [old] = [u for u in self._endpoints if "/v3" not in u]
        if old != url:
            self._set_url(old, url)

    def token(self, user_id: str, project_id: str,
              password: str = PASSWORD) -> str:
        """A project-scoped token of ``user_id``."""
        res = requests.post(self.auth_url + "/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {
                "user": {"id": user_id, "password": password}}},
            "scope": {"project": {"id": project_id}}}}, timeout=120)
        if res.status_code != 201:
            raise AssertionError("no token for %s: %s %s" % (
                user_id, res.status_code, res.text))
        return res.headers["X-Subject-Token"]

    def call(self, method: str, path: str, body: dict | None = None,
             status: int | tuple = (200, 201, 204), **headers: str) -> dict:
        """Keystone's API as the bootstrap admin; the answer's JSON."""
        res = requests.request(
            method, self.auth_url + path, json=body, timeout=120,
            headers=dict({"X-Auth-Token": self._admin_token}, **headers))
        expected = status if isinstance(status, tuple) else (status,)
        if res.status_code not in expected:
            raise AssertionError("Keystone %s %s: %s %s" % (
                method, path, res.status_code, res.text[:500]))
        return res.json() if res.content else {}

    def expiring_token(self, trustor: "User", trustee: "User",
                       seconds: float) -> tuple[str, float]:
        """A token of ``trustee`` with ``trustor``'s role on its project
        that expires in about ``seconds``: scoped to a trust that expires
        then (Keystone caps a trust's tokens at the trust's expiry; the
        token lifetime itself is one setting for all). The token and
        when it expires (``time.time()``)."""
        expires = datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(seconds=seconds)
        res = requests.post(self.auth_url + "/OS-TRUST/trusts", json={
            "trust": {"trustor_user_id": trustor.id,
                      "trustee_user_id": trustee.id,
                      "project_id": trustor.project_id,
                      "roles": [{"name": trustor.role}],
                      "impersonation": False,
                      "expires_at": expires.strftime(
                          "%Y-%m-%dT%H:%M:%S.000000Z")}},
            headers={"X-Auth-Token": trustor.token()}, timeout=120)
        if res.status_code != 201:
            raise AssertionError("no trust: %s %s" % (res.status_code,
                                                      res.text))
        trust_id = res.json()["trust"]["id"]
        res = requests.post(self.auth_url + "/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {
                "user": {"id": trustee.id, "password": trustee.password}}},
            "scope": {"OS-TRUST:trust": {"id": trust_id}}}}, timeout=120)
        if res.status_code != 201:
            raise AssertionError("no trust token: %s %s" % (
                res.status_code, res.text))
        return res.headers["X-Subject-Token"], expires.timestamp()

    def revoke(self, token: str) -> None:
        self.call("DELETE", "/auth/tokens", status=204,
                  **{"X-Subject-Token": token})

    def authtoken_conf(self, token_cache_time: int = 300) -> str:
        """vmstate-api's configuration for this Keystone: ``[api]
        auth_strategy = keystone`` and ``[keystone_authtoken]`` with the
        ``vmstate`` service user, as the deployment guide shows it."""
        return (
            "[api]\nauth_strategy = keystone\n"
            "[keystone_authtoken]\n"
            f"www_authenticate_uri = {self.auth_url}\n"
            f"auth_url = {self.auth_url}\n"
            "auth_type = password\n"
            f"username = {self.vmstate.name}\npassword = {PASSWORD}\n"
            "user_domain_id = default\n"
            f"project_id = {self.vmstate.project_id}\n"
            "interface = public\n"
            "service_token_roles_required = true\n"
            f"token_cache_time = {token_cache_time}\n")


_server: Server | None = None
_server_error: str | None = None
_server_lock = threading.Lock()


def server() -> Server:
    """This process's Keystone, started on first use.

    :raises keystone_env.SetupError: it cannot be installed, set up or
        started (said once; later calls raise the same).
    """
    global _server, _server_error
    with _server_lock:
        if _server is None and _server_error is None:
            try:
                _server = Server()
            except (keystone_env.SetupError, OSError, KeyError,
                    subprocess.TimeoutExpired, requests.RequestException,
                    AssertionError) as err:
                _server_error = "Keystone is unavailable: %s" % err
        if _server is None:
            raise keystone_env.SetupError(_server_error)
        return _server


def keystone(test) -> Server:
    """This process's Keystone for ``test``: a skip without one, or a
    failure when CI requires it."""
    try:
        return server()
    except keystone_env.SetupError as err:
        if REQUIRED:
            test.fail("%s (VMSTATE_TEST_DB_REQUIRED is set)" % err)
        test.skipTest(str(err))
        raise  # skipTest raised; for the type checker.
