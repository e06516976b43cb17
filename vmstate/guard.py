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

"""``@check_vm_state(action)``: the guard for compute API methods.

Decorates ``f(self, context, instance, ...)``. Before ``f`` runs, the
instance's ``(vm_state, task_state)`` is looked up in the process matrix;
when the action may not start there, Nova's own 409 is raised.

This sits in front of every compute API call, so the wrapper is generated
with the wrapped method's exact signature: calling it forwards arguments
as they came instead of packing them into ``*args``/``**kwargs``, and the
check itself is a dict lookup of the vm_state and a frozenset lookup of
the task_state, with nothing allocated. The wrapper reads the
allowed cells from its closure; :func:`vmstate.matrix.set_default`
refreshes them in every guard at once.
"""

from collections.abc import Callable
import functools
import inspect
import keyword
from typing import Any
from typing import TypeVar
import weakref

from vmstate.matrix import Matrix
from vmstate.matrix import loader

F = TypeVar("F", bound=Callable[..., Any])

_P = inspect.Parameter
# Every guard's refresher, so a new process matrix reaches all of them.
_refreshers: "weakref.WeakSet[_Refresher]" = weakref.WeakSet()


class _Refresher:
    """Points one guard at the current matrix's cells for its action."""

    __slots__ = ("action", "setter", "__weakref__")

    def __init__(self, action: str,
                 setter: Callable[[dict[Any, Any], Any], None]) -> None:
        self.action = action
        self.setter = setter

    def __call__(self, matrix: Matrix) -> None:
        if self.action not in matrix.actions:
            # A matrix without this action must not leave the other
            # guards half switched: this one refuses every call instead,
            # and the slow path reports the unknown action.
            self.setter({}, matrix)
            return
        # A plain dict: its .get is cheaper than a mapping proxy's.
        self.setter(dict(matrix.action_cells(self.action)), matrix)


def _refresh_all(matrix: Matrix) -> None:
    for refresher in list(_refreshers):
        refresher(matrix)


loader.subscribe(_refresh_all)


def _states(instance: Any) -> tuple[Any, Any, Any]:
    """``(uuid, vm_state, task_state)`` of an object or a mapping."""
    try:
        return instance.uuid, instance.vm_state, instance.task_state
    except AttributeError:
        return (instance.get("uuid"), instance["vm_state"],
                instance["task_state"])


def _refuse(matrix: Matrix, action: str, instance: Any) -> None:
    """The slow path: allow a cell outside the vocabulary, or raise."""
    uuid, vm_state, task_state = _states(instance)
    if matrix.is_allowed(action, vm_state, task_state):
        return
    raise matrix.refusal(action, uuid, vm_state, task_state)


_TEMPLATE = """\
def _make(_vs_f, _vs_refuse, _vs_defaults):
    _vs_cells = None
    _vs_matrix = None
    {unpack}
    def {name}({params}):
        try:
            _vs_ok = {inst}.task_state in _vs_cells[{inst}.vm_state]
        except AttributeError:
            try:
                _vs_ok = ({inst}["task_state"]
                          in _vs_cells[{inst}["vm_state"]])
            except KeyError:
                _vs_ok = False
        except KeyError:
            _vs_ok = False
        if not _vs_ok:
            _vs_refuse(_vs_matrix, _vs_action, {inst})
        {forward}
    def _vs_set(cells, matrix):
        nonlocal _vs_cells, _vs_matrix
        _vs_cells = cells
        _vs_matrix = matrix
    return {name}, _vs_set
"""


def _generate(f: Callable[..., Any], action: str
              ) -> tuple[Callable[..., Any], Callable[[Any, Any], None]]:
    """Build the wrapper of ``f`` with ``f``'s own parameters."""
    sig = inspect.signature(f)
    params = list(sig.parameters.values())
    positional = [p for p in params
                  if p.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 3:
        raise TypeError(
            "check_vm_state(%r) guards methods f(self, context, instance, "
            "...); %s takes %s" % (action, f.__qualname__, sig))
    inst = positional[2].name
    defaults: dict[str, Any] = {}
    decl: list[str] = []
    call: list[str] = []
    stars: list[str] = []
    saw_star = False
    posonly_done = False
    for p in params:
        if p.kind != _P.POSITIONAL_ONLY and not posonly_done:
            if any(q.kind == _P.POSITIONAL_ONLY for q in params):
                decl.append("/")
            posonly_done = True
        text = p.name
        if p.default is not _P.empty:
            key = "_vs_d_%d" % len(defaults)
            defaults[key] = p.default
            text += "=" + key
        if p.kind == _P.VAR_POSITIONAL:
            decl.append("*" + p.name)
            call.append("*" + p.name)
            stars.append(p.name)
            saw_star = True
        elif p.kind == _P.VAR_KEYWORD:
            decl.append("**" + p.name)
            call.append("**" + p.name)
            stars.append(p.name)
        elif p.kind == _P.KEYWORD_ONLY:
            if not saw_star:
                decl.append("*")
                saw_star = True
            decl.append(text)
            call.append("%s=%s" % (p.name, p.name))
        else:
            decl.append(text)
            call.append(p.name)
    if not posonly_done and any(q.kind == _P.POSITIONAL_ONLY for q in params):
        decl.append("/")
    unpack = "; ".join("%s = _vs_defaults[%r]" % (k, k) for k in defaults)
    # A lambda's "<lambda>" is no identifier; update_wrapper restores the
    # real name afterwards anyway.
    name = getattr(f, "__name__", "")
    if not name.isidentifier() or keyword.iskeyword(name):
        name = "_vs_guarded"
    forward = "return _vs_f(%s)" % ", ".join(call)
    if stars:
        # Calling with *args or **kwargs takes CPython's slow call path
        # (a tuple and a dict built for the call), which would cost more
        # than the check itself; most calls bring no extra arguments.
        plain = [c for c in call if not c.startswith("*")]
        forward = "if %s:\n            %s\n        return _vs_f(%s)" % (
            " or ".join(stars), forward, ", ".join(plain))
    source = _TEMPLATE.format(
        unpack=unpack or "pass", name=name, params=", ".join(decl),
        inst=inst, forward=forward)
    namespace: dict[str, Any] = {"_vs_action": action}
    exec(compile(source, "<check_vm_state %s>" % action, "exec"),  # noqa: S102
         namespace)
    made: tuple[Callable[..., Any], Callable[[Any, Any], None]] = (
        namespace["_make"](f, _refuse, defaults))
    return made


def check_vm_state(action: str) -> Callable[[F], F]:
    """Refuse to call the method unless ``action`` may start now.

    The decorated method takes ``(self, context, instance, ...)``;
    ``instance`` has ``uuid``, ``vm_state`` and ``task_state`` as
    attributes or keys.

    :raises UnknownAction: at decoration time, when the configured matrix
        has no such action.
    :raises TypeError: at decoration time, when the method does not take
        ``self, context, instance``.
    :raises InstanceInvalidState: at call time (HTTP 409), with Nova's
        message and the allowed actions.
    """
    matrix = loader.get()
    matrix.cells(action)

    def decorator(f: F) -> F:
        wrapper, setter = _generate(f, action)
        functools.update_wrapper(wrapper, f)
        refresher = _Refresher(action, setter)
        refresher(loader.get())
        _refreshers.add(refresher)
        wrapper.guarded_action = action  # type: ignore[attr-defined]
        # The wrapper owns its refresher; the guard forgets it with the
        # wrapper.
        wrapper._vmstate_refresher = refresher  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def unguarded(f: F) -> F:
    """Mark a public method as deliberately carrying no state guard."""
    f.guarded_action = None  # type: ignore[attr-defined]
    return f


def guarded_action(method: Any) -> str | None:
    """The action a method's guard checks, or ``None``."""
    return getattr(method, "guarded_action", None)


def unguarded_methods(cls: type) -> list[str]:
    """Public methods of ``cls`` with no guard and no :func:`unguarded` mark.

    A compute API's test asserts this is empty, so a new method cannot be
    added without deciding which action guards it.
    """
    found = []
    for name, member in inspect.getmembers(cls, callable):
        if name.startswith("_") or isinstance(member, type):
            continue
        if not hasattr(member, "guarded_action"):
            found.append(name)
    return found
