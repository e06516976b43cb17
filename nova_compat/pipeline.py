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

"""Nova's ``api-paste.ini`` with the compute guard in it, and the probe.

:func:`guarded` returns Nova's file with ``vmstate_guard`` inserted right
after ``keystonecontext`` in both v2.1 pipelines
(``openstack_compute_api_v21`` and its legacy-v2-compatible twin), as a
deployer would, followed by ``nova_compat_probe``: a transparent filter
that records that a request got past the guard and what it carried (so a
pass is known to be untouched). Nothing else of the file changes.
"""

from collections.abc import Callable
from collections.abc import Iterable
import hashlib
import re
import threading
from typing import Any

#: The two composite sections whose ``keystone`` pipeline is guarded.
V21_PIPELINES = ("openstack_compute_api_v21",
                 "openstack_compute_api_v21_legacy_v2_compatible")
GUARD = "vmstate_guard"
PROBE = "nova_compat_probe"

_SECTION = re.compile(r"^\[(?P<kind>[a-z]+):(?P<name>[^\]]+)\]\s*$")


class PipelineError(ValueError):
    """Nova's file does not have the shape the guard is inserted into."""


def guarded(paste_ini: str, guard_options: dict[str, str],
            probe: bool = True) -> str:
    """Nova's paste file with the guard (and the probe) inserted.

    :param guard_options: the ``[filter:vmstate_guard]`` options besides
        its factory (``config_file``, ``state_source`` ...).
    :raises PipelineError: when a v2.1 pipeline or its
        ``keystonecontext`` is missing (Nova changed the file).
    """
    inserted = GUARD + (" " + PROBE if probe else "")
    out, section, done = [], None, set()
    for line in paste_ini.splitlines():
        match = _SECTION.match(line)
        if match:
            section = match.group("name")
        elif section in V21_PIPELINES and line.startswith("keystone"):
            key, sep, value = line.partition("=")
            words = value.split()
            if "keystonecontext" not in words:
                raise PipelineError("%s has no keystonecontext" % section)
            at = words.index("keystonecontext") + 1
            words[at:at] = inserted.split()
            line = "%s%s %s" % (key, sep, " ".join(words))
            done.add(section)
        out.append(line)
    missing = set(V21_PIPELINES) - done
    if missing:
        raise PipelineError("no keystone pipeline in %s"
                            % ", ".join(sorted(missing)))
    out += ["", "[filter:%s]" % GUARD,
            "paste.filter_factory = vmstate.api.middleware:"
            "ComputeGuard.factory"]
    out += ["%s = %s" % kv for kv in sorted(guard_options.items())]
    if probe:
        out += ["", "[filter:%s]" % PROBE,
                "paste.filter_factory = nova_compat.pipeline:probe_factory"]
    return "\n".join(out) + "\n"


class Probe:
    """What the last request that got past the guard looked like.

    Thread-local: the harness sends one request at a time per thread.
    """

    _local = threading.local()

    @classmethod
    def reset(cls) -> None:
        cls._local.seen = None

    @classmethod
    def seen(cls) -> dict[str, Any] | None:
        """``None`` when no request got past the guard since
        :meth:`reset`, else ``{method, path, query, headers, body_sha}``
        of the request as it reached Nova."""
        return getattr(cls._local, "seen", None)

    @classmethod
    def record(cls, environ: dict[str, Any]) -> None:
        cls._local.seen = fingerprint(environ)


def fingerprint(environ: dict[str, Any]) -> dict[str, Any]:
    """The parts of a request Nova acts on, the body as a digest.

    The body is read through WebOb, as Nova reads it, and left seekable at
    its start, so reading it here changes nothing downstream.
    """
    import webob
    req = webob.Request(environ)
    body = req.body
    headers = sorted((k, v) for k, v in environ.items()
                     if k.startswith("HTTP_") or k == "CONTENT_TYPE")
    return {"method": environ.get("REQUEST_METHOD"),
            "path": environ.get("SCRIPT_NAME", "") +
            environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""),
            "headers": headers,
            "body_sha": hashlib.sha256(body).hexdigest()}


def probe_factory(global_conf: dict[str, Any], **local_conf: Any
                  ) -> Callable[[Any], Any]:
    """Paste filter factory of the probe."""
    def _filter(app: Callable[..., Iterable[bytes]]) -> Any:
        def _probe(environ: dict[str, Any],
                   start_response: Callable[..., Any]) -> Iterable[bytes]:
            Probe.record(environ)
            return app(environ, start_response)
        return _probe
    return _filter
