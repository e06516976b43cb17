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

"""What ``@check_vm_state`` costs per call, against Nova's own check.

Three versions of the same compute API method run in one process: with no
guard, with ``@check_vm_state`` and with a Nova-style decorator written
here (``check_instance_state``'s shape: two set-membership tests, then the
call through ``*args, **kw``). The overhead of a guard is its time per
call minus the unguarded one. Target: vmstate's overhead at most half of
the Nova-style one.

Three calls are measured: with the instance only, with arguments the
method names, and with a keyword that lands in the method's ``**extra``.
The last is the one the target is not met for: forwarding a ``**`` dict
goes through CPython's generic call path in any wrapper, and that costs
more than either check.

Run by hand: ``python benchmarks/guard.py [--repeat N]``. Timings are the
minimum over the repeats (the least disturbed run), taken in turns so
that a slow moment of the machine hits every variant alike.
"""

import argparse
import functools
import sys
import timeit

import results

from vmstate import guard
from vmstate import matrix
from vmstate import states

TARGET = 0.5


class InstanceInvalidState(Exception):
    pass


def nova_check_instance_state(vm_state, task_state=(None,)):
    """Nova's ``check_instance_state`` without the launched/locked checks."""
    vm_state = set(vm_state)
    task_state = set(task_state)

    def outer(f):
        @functools.wraps(f)
        def inner(self, context, instance, *args, **kw):
            if instance.vm_state not in vm_state:
                raise InstanceInvalidState(instance.vm_state)
            if instance.task_state not in task_state:
                raise InstanceInvalidState(instance.task_state)
            return f(self, context, instance, *args, **kw)
        return inner
    return outer


class Instance:
    __slots__ = ("uuid", "vm_state", "task_state")

    def __init__(self, vm_state, task_state):
        self.uuid = "4f0d1c8a-7b61-4a4e-9a0e-3c5d2f6b7a81"
        self.vm_state = vm_state
        self.task_state = task_state


def build_api():
    """Define the API after the matrix is in place: guards read it then."""

    class API:
        def reboot(self, context, instance):
            return instance

        @guard.check_vm_state("reboot")
        def reboot_guarded(self, context, instance):
            return instance

        @nova_check_instance_state(vm_state=[states.ACTIVE])
        def reboot_nova(self, context, instance):
            return instance

        def resize(self, context, instance, flavor_id,
                   clean_shutdown=True, **extra):
            return instance

        @guard.check_vm_state("resize")
        def resize_guarded(self, context, instance, flavor_id,
                           clean_shutdown=True, **extra):
            return instance

        @nova_check_instance_state(vm_state=[states.ACTIVE, states.STOPPED])
        def resize_nova(self, context, instance, flavor_id,
                        clean_shutdown=True, **extra):
            return instance

    return API()


# call shown: (statement, note)
CASES = {
    # The common shape: most compute API calls pass the instance only.
    "(ctx, inst)": ("api.reboot{}(ctx, inst)", None),
    # Extra arguments the method names.
    "(ctx, inst, 'm1.small', clean_shutdown=False)": (
        "api.resize{}(ctx, inst, 'm1.small', clean_shutdown=False)", None),
    # And one more keyword, which lands in the method's **extra.
    "(ctx, inst, 'm1.small', clean_shutdown=False, request_spec=None)": (
        "api.resize{}(ctx, inst, 'm1.small', clean_shutdown=False, "
        "request_spec=None)",
        "a keyword into **extra: both wrappers must forward a dict, "
        "through\n  CPython's generic call path, which costs more than "
        "either check"),
}
VARIANTS = (("unguarded", ""), ("check_vm_state", "_guarded"),
            ("nova-style", "_nova"))


def measure(stmt_template, namespace, repeat):
    """Seconds per call of each variant: the minimum over ``repeat``."""
    timers = {name: timeit.Timer(stmt_template.format(suffix),
                                 globals=namespace)
              for name, suffix in VARIANTS}
    number, _ = timers["unguarded"].autorange()
    best = {name: float("inf") for name in timers}
    for _ in range(repeat):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(number) / number)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5,
                        help="timing runs per variant (default 5)")
    results.add_argument(parser)
    args = parser.parse_args(argv)
    found = results.Results("guard")

    matrix.set_default(matrix.load(["nova"]))
    namespace = {"api": build_api(), "ctx": object(),
                 "inst": Instance(states.ACTIVE, None)}

    print("Guard cost per call (Python %s; min of %d runs)" % (
        sys.version.split()[0], args.repeat))
    print("target: check_vm_state overhead <= %.1f x nova-style overhead"
          % TARGET)
    worst = 0.0
    for case, (template, note) in CASES.items():
        t = measure(template, namespace, args.repeat)
        guard_overhead = t["check_vm_state"] - t["unguarded"]
        nova_overhead = t["nova-style"] - t["unguarded"]
        ratio = guard_overhead / nova_overhead
        worst = max(worst, ratio)
        print()
        print("call %s" % case)
        for name, _ in VARIANTS:
            print("  %-15s %7.1f ns/call" % (name, t[name] * 1e9))
            found.figure("call %s" % case, name, t[name] * 1e9, "ns/call")
        found.target("guard/nova overhead, call %s" % case, ratio,
                     "<= %.1f" % TARGET, ratio <= TARGET)
        print("  overhead: check_vm_state %.1f ns, nova-style %.1f ns"
              % (guard_overhead * 1e9, nova_overhead * 1e9))
        print("  ratio guard/nova: %.2f (%s)" % (
            ratio, "within target" if ratio <= TARGET else "ABOVE TARGET"))
        if note:
            print("  note: %s" % note)
    print()
    print("worst ratio %.2f; target <= %.1f: %s" % (
        worst, TARGET, "met" if worst <= TARGET else "NOT met"))
    found.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
