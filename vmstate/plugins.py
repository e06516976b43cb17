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


"""Loading plugins: one way for each of vmstate's stevedore namespaces.

vmstate has three kinds of plugin, each a namespace of entry points:
matrix plugins (``vmstate.matrix``, configure functions), event bus
drivers (``vmstate.event_bus``) and state sources
(``vmstate.state_source``), both classes built with the configuration.
Every kind is loaded here, through stevedore, and fails the same way, at
start rather than on first use: a name that is not installed is a
:attr:`Kind.error` listing the installed names (as stevedore sees them,
read once), and a plugin that cannot be imported, or raises while being
built, is one naming its entry point and the reason.
"""

from collections.abc import Sequence
import dataclasses
import functools
import importlib.metadata
from typing import Any
from typing import Generic
from typing import TypeVar
from typing import cast

from stevedore import extension
from stevedore import named

from vmstate import exception

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Kind(Generic[T]):
    """One kind of plugin: its namespace and how its errors read."""

    #: The entry point namespace (group).
    namespace: str
    #: What one plugin of the kind is called in an error ("matrix plugin").
    what: str
    #: The exception raised when a plugin of the kind cannot be loaded.
    error: type[exception.VMStateError]
    #: The class every built plugin is an instance of (``None``: plugins
    #: are not built, as matrix plugins are functions).
    base: type[T] | None = None
    #: The error's detail that names the plugin, if it has one (a
    #: :class:`~vmstate.exception.MatrixError`'s ``plugin``).
    detail: str | None = None


def installed(namespace: str) -> list[str]:
    """The plugin names installed in ``namespace``, as stevedore finds
    them (nothing is imported)."""
    manager: named.NamedExtensionManager[Any] = named.NamedExtensionManager(
        namespace, (), on_missing_entrypoints_callback=None)
    return sorted(set(manager.entry_points_names()))


def _load_failed(kind: Kind[Any], manager: Any,
                 entrypoint: importlib.metadata.EntryPoint,
                 err: BaseException) -> None:
    # A plugin's own error of the kind (a driver refusing the database)
    # already says what is wrong.
    if isinstance(err, kind.error):
        raise err
    raise kind.error(
        "%s %r (%s) could not be loaded: %s: %s" % (
            kind.what, entrypoint.name, entrypoint.value,
            type(err).__name__, err),
        **_naming(kind, entrypoint.name)) from err


def _naming(kind: Kind[Any], name: str) -> dict[str, str]:
    return {kind.detail: name} if kind.detail else {}


def load(kind: Kind[T], names: Sequence[str],
         invoke_args: tuple[Any, ...] | None = None
         ) -> list[extension.Extension[T]]:
    """The plugins ``names`` of ``kind``, in that order.

    :param invoke_args: build each plugin with these arguments (its
        extension's ``obj``); ``None``: load without building.
    :raises kind.error: a name is not installed (the message lists the
        installed names), or a plugin cannot be imported or built (the
        message names its entry point).
    """
    missing: set[str] = set()
    manager: named.NamedExtensionManager[T] = named.NamedExtensionManager(
        kind.namespace, list(names), name_order=True,
        invoke_on_load=invoke_args is not None, invoke_args=invoke_args,
        on_load_failure_callback=functools.partial(_load_failed, kind),
        on_missing_entrypoints_callback=missing.update)
    if missing:
        raise kind.error(
            "unknown %s(s): %s; installed: %s" % (
                kind.what, ", ".join(sorted(missing)),
                ", ".join(sorted(set(manager.entry_points_names())))
                or "none"))
    return list(manager.extensions)


def build(kind: Kind[T], name: str, *args: Any) -> T:
    """The plugin ``name`` of ``kind``, built with ``args``.

    :raises kind.error: as :func:`load`, and when what the entry point
        built is not a :attr:`Kind.base`.
    """
    [ext] = load(kind, [name], invoke_args=args)
    built = ext.obj
    if kind.base is not None and not isinstance(built, kind.base):
        raise kind.error(
            "%s %r (%s) is not a %s" % (
                kind.what, name, ext.entry_point.value, kind.base.__name__),
            **_naming(kind, name))
    return cast(T, built)
