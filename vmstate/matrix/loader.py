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

"""Loading the matrix from stevedore plugins, strictly.

Plugins are entry points in the ``vmstate.matrix`` namespace, applied in
the configured order. Anything wrong (a missing name, a plugin that fails
to import or raises, a plugin naming an unknown state) is a
:class:`~vmstate.exception.MatrixError` that says which plugin and why:
never a silently half-loaded matrix.
"""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
import threading
from typing import Any

from stevedore import extension

from vmstate import exception
from vmstate import plugins
from vmstate.matrix.builder import Builder
from vmstate.matrix.compiled import Matrix

NAMESPACE = "vmstate.matrix"

Plugin = Callable[[Builder], Any]


#: The matrix plugins: configure functions, loaded but not built.
KIND: plugins.Kind[Plugin] = plugins.Kind(
    NAMESPACE, "matrix plugin", exception.MatrixError, detail="plugin")


def installed_plugins() -> list[str]:
    """The names of every matrix plugin installed in this environment."""
    return plugins.installed(NAMESPACE)


def load(names: Sequence[str] | None = None) -> Matrix:
    """The effective matrix of the ordered plugins ``names``.

    :param names: plugin names in the ``vmstate.matrix`` namespace; by
        default ``[matrix] plugins`` (``nova``).
    :raises MatrixError: naming the plugin and the reason.
    """
    if names is None:
        from vmstate.conf import CONF
        names = CONF.matrix.plugins
    names = list(names)
    if not names:
        raise exception.MatrixError("no matrix plugins configured")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise exception.MatrixError(
            "matrix plugin(s) named more than once: %s" % ", ".join(repeated))
    return compose(plugins.load(KIND, names))


def compose(extensions: Iterable[extension.Extension[Any]]) -> Matrix:
    """Run the plugins of ``extensions`` in order on one builder.

    Accepts any iterable of stevedore extensions, so tests can compose
    plugins with ``NamedExtensionManager.make_test_instance``.

    :raises MatrixError: when a plugin raises or leaves no action declared.
    """
    builder = Builder()
    names = []
    for ext in extensions:
        with builder.plugin(ext.name):
            try:
                ext.plugin(builder)
            except exception.MatrixError:
                raise
            except Exception as err:
                raise exception.MatrixError(
                    "matrix plugin %r raised %s: %s" % (
                        ext.name, type(err).__name__, err),
                    plugin=ext.name) from err
        names.append(ext.name)
    if not builder.actions:
        raise exception.MatrixError(
            "matrix plugins %s declare no action" % (names or "(none)"))
    return builder.compile(names)


def from_plugins(*plugins: tuple[str, Plugin]) -> Matrix:
    """Compose ``(name, callable)`` pairs without installing anything."""
    # stevedore types ``plugin`` as a class and requires an entry point;
    # a matrix plugin is any callable and these have no entry point.
    return compose(
        extension.Extension(name, None, plugin, None)  # type: ignore[arg-type]
        for name, plugin in plugins)


# -- the process-wide matrix -------------------------------------------------

_lock = threading.Lock()
_default: Matrix | None = None
_listeners: list[Callable[[Matrix], None]] = []


def get() -> Matrix:
    """The process's effective matrix, loaded from configuration once."""
    global _default
    current = _default
    if current is not None:
        return current
    with _lock:
        if _default is None:
            _default = load()
        current = _default
    for listener in list(_listeners):
        listener(current)
    return current


def set_default(matrix: Matrix | None) -> None:
    """Replace the process's matrix (``None``: reload from config on use).

    Guards already applied follow the new matrix at once.
    """
    global _default
    with _lock:
        _default = matrix
    if matrix is not None:
        for listener in list(_listeners):
            listener(matrix)


def subscribe(listener: Callable[[Matrix], None]) -> None:
    """Call ``listener(matrix)`` whenever the process matrix is (re)set."""
    _listeners.append(listener)
