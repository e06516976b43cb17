# The part of pecan's interface vmstate's types depend on (see
# tools/mypy-stubs/README.rst); everything else is Any.
from collections.abc import Callable
from typing import Any
from typing import Generic
from typing import Literal
from typing import ParamSpec
from typing import TypeVar
from typing import overload

_P = ParamSpec("_P")
_Q = ParamSpec("_Q")
_R = TypeVar("_R")
_S = TypeVar("_S")
_F = TypeVar("_F", bound=Callable[..., Any])

class _Generic(Generic[_P, _R]):
    # pecan.expose(generic=True) returns the function itself, which then
    # carries ``when`` to register a handler for one HTTP method.
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...
    def when(
        self, method: str | None = ..., **kw: Any
    ) -> Callable[[Callable[_Q, _S]], Callable[_Q, _S]]: ...

@overload
def expose(
    template: str | None = ...,
    *,
    generic: Literal[True],
    route: str | None = ...,
    **kw: Any,
) -> Callable[[Callable[_P, _R]], _Generic[_P, _R]]: ...
@overload
def expose(
    template: str | None = ...,
    generic: Literal[False] = ...,
    route: str | None = ...,
    **kw: Any,
) -> Callable[[_F], _F]: ...
def __getattr__(name: str) -> Any: ...
