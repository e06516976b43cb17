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

"""The mutable side of the matrix: what plugins talk to.

Plugins declare vocabulary and add ``allow``/``deny`` rules in order, and
may give task_states a timeout (:meth:`Builder.timeout`); the builder
checks every name the moment it is used, so that a mistake is reported
against the plugin and the entry that made it. :meth:`compile`
freezes the result into a :class:`~vmstate.matrix.compiled.Matrix`; after
that the builder refuses further changes, like automaton's frozen machines.
"""

from collections.abc import Iterable
from collections.abc import Iterator
import contextlib
import dataclasses
from typing import TYPE_CHECKING
from typing import cast

from vmstate import exception
from vmstate import states

if TYPE_CHECKING:
    from vmstate.matrix.compiled import Matrix

# What a rule may name: the wildcard, one state, or several (``None`` among
# task states means "no task running").
StateSpec = str | None | Iterable[str | None]

ALLOW = "allow"
DENY = "deny"


@dataclasses.dataclass(frozen=True)
class ActionDef:
    """What an action does to the state, beyond whether it may start.

    ``begins``: the task_state set when the action starts (``None``: the
    action runs no task; it is checked and recorded, and the task stays as
    it was). ``completes``: the vm_state reached when it finishes (``None``:
    unchanged). ``fails_to``: the vm_state on failure (``None``: unchanged,
    only the task is cleared).

    The completion rule: ``resumes`` names vm_states the action returns
    to instead of ``completes`` when the instance was in one of them
    before the operation began (Nova: a rebuild, an evacuation, a resize
    of a stopped server end stopped). The operation begins with this
    action, or, when ``origin`` names actions, with the last of those
    (confirm_resize and revert_resize return to the vm_state before the
    ``resize`` or ``migrate``).

    ``unlaunched``: the action that runs instead on an instance that
    never launched (Nova deletes, rather than soft-deletes, one).

    ``needs_launched``: the action may start only on an instance that
    launched once (Nova's ``must_have_launched``, checked after the
    vm_state and the task_state).
    """

    name: str
    begins: str | None = None
    completes: str | None = None
    fails_to: str | None = states.ERROR
    plugin: str | None = None
    resumes: frozenset[str] = frozenset()
    origin: tuple[str, ...] = ()
    unlaunched: str | None = None
    needs_launched: bool = False

    def completion(self, origin: str | None) -> str | None:
        """The vm_state reached on completion, the operation having begun
        in vm_state ``origin`` (``None``: not known)."""
        if origin is not None and origin in self.resumes:
            return origin
        return self.completes

    def outcomes(self, vm_state: str) -> frozenset[str]:
        """Every vm_state the action may end in (completed or failed),
        started from ``vm_state``."""
        if not self.resumes:
            done = {self.completes or vm_state}
        elif self.origin:
            # The origin is older than this start: any of them.
            done = {self.completes or vm_state, *self.resumes}
        else:
            done = {self.completion(vm_state) or vm_state}
        return frozenset(done | {self.fails_to or vm_state})


@dataclasses.dataclass(frozen=True)
class TimeoutDef:
    """How long a task_state may go without a sign of progress.

    ``seconds`` since the task's last heartbeat (its start, a checkpoint,
    a change of task_state); ``reaction`` one of
    :data:`vmstate.states.TIMEOUT_REACTIONS`; ``max_failures`` the number
    of timeouts in a row of this task_state that puts the instance in
    error whatever the reaction (``None``: the configured default).
    """

    task_state: str
    seconds: float
    reaction: str = states.TIMEOUT_ERROR
    max_failures: int | None = None
    plugin: str | None = None


@dataclasses.dataclass(frozen=True)
class Rule:
    """One allow or deny, as a plugin wrote it (wildcards unresolved)."""

    verb: str
    action: str
    vm_states: frozenset[str] | None     # None: any vm_state
    task_states: frozenset[str | None] | None   # None: any task_state
    plugin: str
    index: int

    def matches(self, vm_state: str, task_state: str | None,
                known_vm: frozenset[str],
                known_task: frozenset[str]) -> bool:
        """Whether this rule covers the cell (unknown states only by ``*``)."""
        if self.vm_states is not None and (
                vm_state not in known_vm or vm_state not in self.vm_states):
            return False
        if self.task_states is None:
            return True
        return ((task_state is None or task_state in known_task)
                and task_state in self.task_states)

    def describe(self) -> str:
        def spec(values: frozenset[str | None] | frozenset[str] | None
                 ) -> str:
            if values is None:
                return states.ANY
            return "[%s]" % ", ".join(sorted(
                "None" if v is None else v for v in values))
        return "%s(%r, vm_states=%s, task_states=%s)" % (
            self.verb, self.action, spec(self.vm_states),
            spec(self.task_states))


class Builder:
    """Collects vocabulary and rules from plugins, in the order they run."""

    def __init__(self) -> None:
        self._vm_states: dict[str, str] = {}      # name -> declaring plugin
        self._task_states: dict[str, str] = {}
        self._actions: dict[str, ActionDef] = {}
        self._rules: list[Rule] = []
        self._timeouts: dict[str, TimeoutDef] = {}
        self._transient: dict[str, str] = {}
        self._plugin = "<builder>"
        self._frozen = False

    # -- plugin bookkeeping -------------------------------------------------

    @contextlib.contextmanager
    def plugin(self, name: str) -> Iterator["Builder"]:
        """Attribute everything done inside the block to plugin ``name``."""
        previous, self._plugin = self._plugin, name
        try:
            yield self
        finally:
            self._plugin = previous

    def _error(self, what: str) -> exception.MatrixError:
        return exception.MatrixError(
            "matrix plugin %r: %s" % (self._plugin, what), plugin=self._plugin)

    def _check_open(self) -> None:
        if self._frozen:
            raise self._error("the matrix is compiled and can no longer "
                              "be changed")

    # -- vocabulary -----------------------------------------------------------

    @property
    def vm_states(self) -> tuple[str, ...]:
        return tuple(self._vm_states)

    @property
    def task_states(self) -> tuple[str, ...]:
        return tuple(self._task_states)

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(self._actions)

    def declare_vm_state(self, *names: str, transient: bool = False
                         ) -> None:
        """Declare vm_states; declaring a known one again is harmless.

        :param transient: these vm_states are held only while a task
            carries the instance through them (``building``; the
            blueprint's ``rebuilding``, ``migrating``, ``resizing``): an
            instance idle there is stuck, so ``clear_error`` never
            returns an instance to one (an admin resets it instead).
        """
        self._check_open()
        for name in names:
            self._check_name("vm_state", name)
            self._vm_states.setdefault(name, self._plugin)
            if transient:
                self._transient.setdefault(name, self._plugin)

    @property
    def transient_vm_states(self) -> tuple[str, ...]:
        return tuple(self._transient)

    def declare_task_state(self, *names: str) -> None:
        """Declare task_states (``None``, no task, always exists)."""
        self._check_open()
        for name in names:
            self._check_name("task_state", name)
            self._task_states.setdefault(name, self._plugin)

    def declare_action(self, name: str, begins: str | None = None,
                       completes: str | None = None,
                       fails_to: str | None = states.ERROR,
                       resumes: Iterable[str] = (),
                       origin: Iterable[str] = (),
                       unlaunched: str | None = None,
                       needs_launched: bool | None = None) -> None:
        """Declare an action, or redefine what it does.

        ``needs_launched`` (see :class:`ActionDef`): ``None`` keeps what
        an earlier declaration of the action said (``False`` for a new
        one), so that a plugin redefining an action's task keeps Nova's
        launch requirement.

        ``resumes``, ``origin`` and ``unlaunched`` are the completion
        rule and the never-launched substitute (see :class:`ActionDef`);
        the actions they name are checked when the matrix compiles, so
        that plugins may declare them in any order.

        :raises MatrixError: when ``begins`` is not a declared task_state or
            ``completes``/``fails_to``/``resumes`` not declared vm_states.
        """
        self._check_open()
        self._check_name("action", name)
        if begins is not None:
            self._known_task_state(begins, "begins")
        for field, value in (("completes", completes),
                             ("fails_to", fails_to)):
            if value is not None:
                self._known_vm_state(value, field)
        resumes = frozenset(resumes)
        for value in resumes:
            self._known_vm_state(value, "resumes")
        if needs_launched is None:
            earlier = self._actions.get(name)
            needs_launched = earlier is not None and earlier.needs_launched
        self._actions[name] = ActionDef(
            name, begins, completes, fails_to, self._plugin,
            resumes=resumes, origin=tuple(origin), unlaunched=unlaunched,
            needs_launched=needs_launched)

    def _check_name(self, kind: str, name: object) -> None:
        if not isinstance(name, str) or not name or name == states.ANY:
            raise self._error("invalid %s name %r" % (kind, name))

    def _known_vm_state(self, name: object, where: str) -> None:
        if name not in self._vm_states:
            raise self._error("%s names unknown vm_state %r (known: %s)" % (
                where, name, ", ".join(sorted(self._vm_states)) or "none"))

    def _known_task_state(self, name: object, where: str) -> None:
        if name is not None and name not in self._task_states:
            raise self._error("%s names unknown task_state %r" % (
                where, name))

    # -- rules ----------------------------------------------------------------

    def allow(self, action: str, vm_states: StateSpec,
              task_states: StateSpec = (None,)) -> None:
        """Allow ``action`` in every cell the two specs cover.

        ``"*"`` covers any state, including ones the vocabulary does not
        know; ``None`` among ``task_states`` means no task running.

        :raises MatrixError: naming the plugin and the unknown entry.
        """
        self._rule(ALLOW, action, vm_states, task_states)

    def deny(self, action: str, vm_states: StateSpec = states.ANY,
             task_states: StateSpec = states.ANY) -> None:
        """Take ``action`` away from the covered cells (by default all)."""
        self._rule(DENY, action, vm_states, task_states)

    def _rule(self, verb: str, action: str, vm_states: StateSpec,
              task_states: StateSpec) -> None:
        self._check_open()
        where = "%s(%r)" % (verb, action)
        if action not in self._actions:
            raise self._error("%s: unknown action %r (declare it first)" % (
                where, action))
        # allow_none=False: _spec has refused None among the vm_states.
        vms = cast("frozenset[str] | None",
                   self._spec(vm_states, where, "vm_states",
                              allow_none=False))
        tasks = self._spec(task_states, where, "task_states",
                           allow_none=True)
        self._rules.append(Rule(verb, action, vms, tasks, self._plugin,
                                len(self._rules)))

    def _spec(self, spec: StateSpec, where: str, field: str,
              allow_none: bool) -> frozenset[str | None] | None:
        if spec == states.ANY:
            return None
        values: tuple[str | None, ...]
        if spec is None or isinstance(spec, str):
            values = (spec,)
        else:
            values = tuple(spec)
        if not values:
            raise self._error("%s: %s is empty" % (where, field))
        for value in values:
            if value is None and allow_none:
                continue
            if value == states.ANY:
                raise self._error("%s: '*' must stand alone in %s" % (
                    where, field))
            if field == "vm_states":
                self._known_vm_state(value, "%s %s" % (where, field))
            else:
                self._known_task_state(value, "%s %s" % (where, field))
        return frozenset(values)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(self._rules)

    # -- timeouts -------------------------------------------------------------

    def timeout(self, task_state: str, seconds: float | None,
                reaction: str = states.TIMEOUT_ERROR,
                max_failures: int | None = None) -> None:
        """Give ``task_state`` a timeout, or take it away (``None``).

        A later plugin's timeout for the same task_state replaces an
        earlier one; the deployment's ``[lifecycle] task_timeouts``
        override both.

        :raises MatrixError: an unknown task_state or reaction, a
            ``seconds`` that is not a positive number, a ``max_failures``
            that is not an integer of at least 1.
        """
        self._check_open()
        where = "timeout(%r)" % (task_state,)
        if task_state is None or task_state not in self._task_states:
            raise self._error("%s: unknown task_state %r" % (
                where, task_state))
        if seconds is None:
            self._timeouts.pop(task_state, None)
            return
        if (isinstance(seconds, bool)
                or not isinstance(seconds, (int, float))
                or not seconds > 0):
            raise self._error("%s: seconds must be a positive number, not "
                              "%r" % (where, seconds))
        if reaction not in states.TIMEOUT_REACTIONS:
            raise self._error("%s: unknown reaction %r (known: %s)" % (
                where, reaction, ", ".join(states.TIMEOUT_REACTIONS)))
        if max_failures is not None and (
                isinstance(max_failures, bool)
                or not isinstance(max_failures, int) or max_failures < 1):
            raise self._error("%s: max_failures must be an integer >= 1, "
                              "not %r" % (where, max_failures))
        self._timeouts[task_state] = TimeoutDef(
            task_state, float(seconds), reaction, max_failures, self._plugin)

    @property
    def timeouts(self) -> dict[str, TimeoutDef]:
        return dict(self._timeouts)

    # -- freezing -------------------------------------------------------------

    def compile(self, plugins: Iterable[str] = ()) -> "Matrix":
        """Freeze the builder into an immutable :class:`Matrix`."""
        from vmstate.matrix.compiled import Matrix

        for action in self._actions.values():
            named = [*action.origin, *([action.unlaunched]
                                       if action.unlaunched else [])]
            for other in named:
                if other not in self._actions:
                    raise exception.MatrixError(
                        "matrix plugin %r: action %r names unknown action "
                        "%r (origin or unlaunched)" % (
                            action.plugin, action.name, other),
                        plugin=action.plugin)
        self._frozen = True
        return Matrix(plugins=tuple(plugins),
                      vm_states=tuple(self._vm_states),
                      task_states=tuple(self._task_states),
                      actions=dict(self._actions),
                      rules=tuple(self._rules),
                      timeouts=dict(self._timeouts),
                      transient=frozenset(self._transient))
