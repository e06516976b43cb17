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

"""``@check_vm_state``: decisions, Nova's 409, and the wrapper's shape."""

import collections
import inspect
import types

from tests import base
from vmstate import exception
from vmstate import guard
from vmstate import matrix
from vmstate.matrix.plugins import nova as nova_plugin

UUID = "5f2a4c8e-0d4b-4c55-9d7e-1b6f3c2a9e10"


class Instance:
    def __init__(self, vm_state, task_state=None, uuid=UUID):
        self.uuid = uuid
        self.vm_state = vm_state
        self.task_state = task_state


def instance_dict(vm_state, task_state=None, uuid=UUID):
    return {"uuid": uuid, "vm_state": vm_state, "task_state": task_state}


def make_api():
    """A compute API with a few guarded methods that record their calls."""

    class API:
        def __init__(self):
            self.calls = []

        @guard.check_vm_state("reboot")
        def reboot(self, context, instance, reboot_type="SOFT"):
            """Reboot the instance."""
            self.calls.append(("reboot", context, instance, reboot_type))
            return "rebooting"

        @guard.check_vm_state("stop")
        def stop(self, context, instance):
            self.calls.append(("stop", instance))
            return "stopping"

        @guard.check_vm_state("delete")
        def delete(self, context, instance):
            self.calls.append(("delete", instance))
            return "deleting"

        @guard.check_vm_state("reboot_hard")
        def reboot_hard(self, context, instance):
            return "rebooting_hard"

    return API()


class GuardTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.nova = matrix.load(["nova"])
        self.useFixture(base.MatrixFixture(self.nova))
        # Guards follow the process matrix; whatever a test installs, they
        # go back to Nova's afterwards.
        self.addCleanup(matrix.set_default, self.nova)


class TestDecisions(GuardTestCase):

    def setUp(self):
        super().setUp()
        self.api = make_api()

    def test_allowed_calls_through_with_the_arguments(self):
        inst = Instance("active")
        self.assertEqual("rebooting",
                         self.api.reboot("ctx", inst, reboot_type="HARD"))
        self.assertEqual([("reboot", "ctx", inst, "HARD")], self.api.calls)

    def test_refused_on_the_vm_state(self):
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.api.reboot, "ctx", Instance("stopped"))
        self.assertEqual(
            "Cannot 'reboot' instance %s while it is in vm_state stopped"
            % UUID, str(err))
        self.assertEqual([], self.api.calls)

    def test_refused_on_the_task_state(self):
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.api.reboot, "ctx",
                                Instance("active", "rebooting"))
        self.assertEqual(
            "Cannot 'reboot' instance %s while it is in task_state "
            "rebooting" % UUID, str(err))
        self.assertEqual("task_state", err.attribute)
        self.assertEqual([], self.api.calls)

    def test_vm_state_wins_when_both_refuse(self):
        # Nova checks the vm_state first.
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.api.stop, "ctx",
                                Instance("paused", "pausing"))
        self.assertEqual(
            "Cannot 'stop' instance %s while it is in vm_state paused"
            % UUID, str(err))

    def test_conflict_code_and_fault_body(self):
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.api.stop, "ctx",
                                Instance("stopped"))
        self.assertEqual(409, err.code)
        self.assertIsInstance(err, exception.Conflict)
        self.assertEqual(
            {"conflictingRequest": {
                "code": 409,
                "message": "Cannot 'stop' instance %s while it is in "
                           "vm_state stopped" % UUID,
                "action": "stop",
                "vm_state": "stopped",
                "task_state": None,
                "allowed_actions": sorted(
                    self.nova.allowed_actions("stopped", None)),
            }}, err.fault_body())
        self.assertIn("start", err.allowed_actions)
        self.assertNotIn("stop", err.allowed_actions)

    def test_fault_body_of_a_task_state_refusal(self):
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.api.reboot, "ctx",
                                Instance("active", "image_uploading"))
        body = err.fault_body()["conflictingRequest"]
        self.assertEqual("image_uploading", body["task_state"])
        self.assertEqual("active", body["vm_state"])
        self.assertEqual(
            ["delete", "delete_instance_metadata", "evacuate",
             "force_delete", "soft_delete", "update_instance_metadata"],
            body["allowed_actions"])

    def test_mapping_instances(self):
        self.assertEqual("stopping",
                         self.api.stop("ctx", instance_dict("error")))
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.api.stop, "ctx",
                                instance_dict("active", "powering-off"))
        self.assertEqual(
            "Cannot 'stop' instance %s while it is in task_state "
            "powering-off" % UUID, str(err))

    def test_read_only_mapping_and_missing_task_state(self):
        # Any mapping will do.
        inst = types.MappingProxyType({"uuid": UUID, "vm_state": "active",
                                       "task_state": None})
        self.assertEqual("rebooting", self.api.reboot("ctx", inst))
        # A mapping loaded without its task_state is an error, not an
        # idle instance: a task may be running.
        inst = types.MappingProxyType({"uuid": UUID, "vm_state": "active"})
        self.assertRaises(KeyError, self.api.reboot, "ctx", inst)

    def test_named_tuple_style_objects(self):
        Row = collections.namedtuple("Row", "uuid vm_state task_state")
        self.assertEqual("rebooting",
                         self.api.reboot("ctx", Row(UUID, "active", None)))

    def test_states_outside_the_vocabulary(self):
        # Only actions Nova does not check at all apply to a state written
        # by someone else.
        self.assertEqual("deleting",
                         self.api.delete("ctx", Instance("martian", "x")))
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.api.reboot, "ctx", Instance("martian"))
        self.assertEqual(
            "Cannot 'reboot' instance %s while it is in vm_state martian"
            % UUID, str(err))
        self.assertEqual(["delete", "force_delete", "soft_delete"],
                         err.allowed_actions)
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.api.reboot, "ctx",
                                Instance("active", "martian-task"))
        self.assertIn("in task_state martian-task", str(err))

    def test_task_lists_beyond_none(self):
        self.assertEqual("rebooting_hard", self.api.reboot_hard(
            "ctx", Instance("suspended", "suspending")))
        self.assertRaises(exception.InstanceInvalidState,
                          self.api.reboot_hard, "ctx",
                          Instance("suspended", "rebooting_started_hard"))

    def test_every_cell_agrees_with_the_matrix(self):
        api = make_api()
        vm_states = (*self.nova.vm_states, "martian")
        task_states = (None, *self.nova.task_states, "martian-task")
        for method, action in ((api.reboot, "reboot"), (api.stop, "stop"),
                               (api.reboot_hard, "reboot_hard")):
            for vm_state in vm_states:
                for task_state in task_states:
                    allowed = self.nova.is_allowed(action, vm_state,
                                                   task_state)
                    for inst in (Instance(vm_state, task_state),
                                 instance_dict(vm_state, task_state)):
                        try:
                            method("ctx", inst)
                        except exception.InstanceInvalidState as err:
                            self.assertFalse(
                                allowed, (action, vm_state, task_state))
                            self.assertEqual(
                                self.nova.explain(action, vm_state,
                                                  task_state).attribute,
                                err.attribute)
                        else:
                            self.assertTrue(
                                allowed, (action, vm_state, task_state))

    def test_errors_of_the_method_pass_through(self):
        class API:
            @guard.check_vm_state("reboot")
            def reboot(self, context, instance):
                raise AttributeError("a bug inside the method")

        err = self.assertRaises(AttributeError, API().reboot, "ctx",
                                Instance("active"))
        self.assertEqual("a bug inside the method", str(err))


class TestDecoration(GuardTestCase):

    def test_unknown_action(self):
        err = self.assertRaises(exception.UnknownAction,
                                guard.check_vm_state, "rebot")
        self.assertIn("'rebot'", str(err))
        self.assertIn("reboot", str(err))

    def test_unknown_action_of_the_configured_matrix(self):
        self.useFixture(base.MatrixFixture(matrix.load(["blueprint"])))
        self.assertRaises(exception.UnknownAction, guard.check_vm_state,
                          "reboot_hard")
        guard.check_vm_state("terminate")

    def test_wrong_signatures(self):
        decorate = guard.check_vm_state("reboot")

        def two(self, instance):
            pass

        def star(self, *args):
            pass

        def keyword_instance(self, context, *, instance):
            pass

        for f in (two, star, keyword_instance):
            err = self.assertRaises(TypeError, decorate, f)
            self.assertIn("f(self, context, instance", str(err))
            self.assertIn(f.__name__, str(err))

    def test_wrapper_metadata(self):
        api = make_api()
        method = type(api).reboot
        self.assertEqual("reboot", method.__name__)
        self.assertEqual("Reboot the instance.", method.__doc__)
        self.assertTrue(method.__qualname__.endswith("API.reboot"))
        self.assertEqual(__name__, method.__module__)
        self.assertTrue(callable(method.__wrapped__))

    def test_lambda(self):
        guarded = guard.check_vm_state("reboot")(
            lambda self, context, instance: "ok")
        self.assertEqual("<lambda>", guarded.__name__)
        self.assertEqual("ok", guarded(None, "ctx", Instance("active")))
        self.assertRaises(exception.InstanceInvalidState, guarded, None,
                          "ctx", Instance("stopped"))


def _echo_signatures():
    """Functions of every parameter shape, each returning its arguments."""

    def plain(self, context, instance):
        return (instance,)

    def defaults(self, context, instance, flavor="m1", clean=True):
        return (instance, flavor, clean)

    def keyword_only(self, context, instance, *, force=False, reason):
        return (instance, force, reason)

    def var(self, context, instance, *args, **kwargs):
        return (instance, args, kwargs)

    def var_and_keyword_only(self, context, instance, image=None, *extra,
                             wait=False, **options):
        return (instance, image, extra, wait, options)

    def positional_only(self, context, instance, /, name, size=1):
        return (instance, name, size)

    def all_positional_only(self, context, instance, size=1, /):
        return (instance, size)

    def annotated(self, context: object, instance: dict,
                  count: int = 3) -> tuple:
        return (instance, count)

    return [plain, defaults, keyword_only, var, var_and_keyword_only,
            positional_only, all_positional_only, annotated]


class TestSignatures(GuardTestCase):

    def setUp(self):
        super().setUp()
        self.decorate = guard.check_vm_state("reboot")
        self.inst = Instance("active")

    def test_signature_is_the_method_s_own(self):
        for f in _echo_signatures():
            wrapper = self.decorate(f)
            self.assertEqual(inspect.signature(f),
                             inspect.signature(wrapper,
                                               follow_wrapped=False),
                             f.__name__)
            self.assertEqual(f.__defaults__, wrapper.__defaults__)
            self.assertEqual(f.__kwdefaults__, wrapper.__kwdefaults__)

    def test_default_objects_are_the_same(self):
        marker = object()

        def f(self, context, instance, value=marker, *, other=marker):
            return value, other

        wrapper = self.decorate(f)
        value, other = wrapper(None, "ctx", self.inst)
        self.assertIs(marker, value)
        self.assertIs(marker, other)

    def test_arguments_forwarded_exactly(self):
        fs = {f.__name__: self.decorate(f) for f in _echo_signatures()}
        inst = self.inst
        self.assertEqual((inst,), fs["plain"](None, "c", inst))
        self.assertEqual((inst, "m1", True), fs["defaults"](None, "c", inst))
        self.assertEqual((inst, "m2", False),
                         fs["defaults"](None, "c", inst, "m2", clean=False))
        self.assertEqual((inst, "m3", True),
                         fs["defaults"](None, "c", instance=inst,
                                        flavor="m3"))
        self.assertEqual((inst, False, "why"),
                         fs["keyword_only"](None, "c", inst, reason="why"))
        self.assertEqual((inst, (1, 2), {"a": 3}),
                         fs["var"](None, "c", inst, 1, 2, a=3))
        # The wrapper calls without */** when there is nothing to forward.
        self.assertEqual((inst, (), {}), fs["var"](None, "c", inst))
        self.assertEqual((inst, (1,), {}), fs["var"](None, "c", inst, 1))
        self.assertEqual((inst, (), {"a": 3}),
                         fs["var"](None, "c", inst, a=3))
        self.assertEqual((inst, None, (), False, {}),
                         fs["var_and_keyword_only"](None, "c", inst))
        self.assertEqual(
            (inst, None, (), True, {}),
            fs["var_and_keyword_only"](None, "c", inst, wait=True))
        self.assertEqual(
            (inst, "img", ("x",), True, {"k": "v"}),
            fs["var_and_keyword_only"](None, "c", inst, "img", "x",
                                       wait=True, k="v"))
        self.assertEqual((inst, "n", 1),
                         fs["positional_only"](None, "c", inst, name="n"))
        self.assertEqual((inst, 5),
                         fs["all_positional_only"](None, "c", inst, 5))
        self.assertEqual((inst, 3), fs["annotated"](None, "c", inst))

    def test_wrong_calls_fail_like_the_method(self):
        fs = {f.__name__: self.decorate(f) for f in _echo_signatures()}
        inst = self.inst
        bad_calls = [
            (fs["keyword_only"], (None, "c", inst), {}),
            (fs["keyword_only"], (None, "c", inst, True), {"reason": "r"}),
            (fs["plain"], (None, "c", inst, "extra"), {}),
            (fs["positional_only"], (None, "c"), {"instance": inst,
                                                  "name": "n"}),
            (fs["all_positional_only"], (None, "c", inst), {"size": 2}),
            (fs["defaults"], (None, "c", inst), {"colour": "red"}),
        ]
        for wrapper, args, kwargs in bad_calls:
            self.assertRaises(TypeError, wrapper, *args, **kwargs)

    def test_guard_applies_with_keyword_instance(self):
        wrapper = self.decorate(_echo_signatures()[1])
        self.assertRaises(exception.InstanceInvalidState, wrapper, None,
                          "c", instance=Instance("stopped"))

    def test_methods_bound_and_unbound(self):
        class API:
            @guard.check_vm_state("reboot")
            def reboot(self, context, instance, *, hard=False):
                return self, hard

        api = API()
        self.assertEqual((api, True),
                         api.reboot("c", self.inst, hard=True))
        self.assertEqual((api, False), API.reboot(api, "c", self.inst))
        self.assertEqual(
            inspect.signature(API.reboot.__wrapped__),
            inspect.signature(API.reboot, follow_wrapped=False))


class TestMarkers(GuardTestCase):

    def test_guarded_action(self):
        api = make_api()
        self.assertEqual("reboot", guard.guarded_action(api.reboot))
        self.assertEqual("reboot", guard.guarded_action(type(api).reboot))
        self.assertEqual("stop", guard.guarded_action(api.stop))
        self.assertIsNone(guard.guarded_action(api.__init__))
        self.assertIsNone(guard.guarded_action(len))

    def test_unguarded_marks_without_wrapping(self):
        def get_console(self, context, instance):
            return "console"

        marked = guard.unguarded(get_console)
        self.assertIs(get_console, marked)
        self.assertIsNone(guard.guarded_action(marked))
        self.assertEqual("console", marked(None, "c", Instance("martian")))

    def test_unguarded_methods(self):
        class API:
            @guard.check_vm_state("reboot")
            def reboot(self, context, instance):
                pass

            @guard.unguarded
            def get_console(self, context, instance):
                pass

            def resize(self, context, instance, flavor):
                pass

            def lock(self, context, instance):
                pass

            def _private(self):
                pass

            class Nested:
                pass

            limit = 3

        self.assertEqual(["lock", "resize"], guard.unguarded_methods(API))

    def test_unguarded_methods_follow_inheritance(self):
        class Base:
            @guard.check_vm_state("stop")
            def stop(self, context, instance):
                pass

            def forgotten(self, context, instance):
                pass

        class API(Base):
            @guard.check_vm_state("start")
            def forgotten(self, context, instance):
                pass

            def pause(self, context, instance):
                pass

        self.assertEqual(["forgotten"], guard.unguarded_methods(Base))
        self.assertEqual(["pause"], guard.unguarded_methods(API))

    def test_a_fully_guarded_api(self):
        self.assertEqual([], guard.unguarded_methods(type(make_api())))


def _allow_reboot_when_stopped(builder):
    builder.allow("reboot", "stopped")


class TestProcessMatrix(GuardTestCase):

    def test_set_default_changes_decisions_of_decorated_methods(self):
        api = make_api()
        stopped = Instance("stopped")
        self.assertRaises(exception.InstanceInvalidState, api.reboot, "c",
                          stopped)
        lenient = matrix.from_plugins(("nova", nova_plugin.configure),
                                      ("site", _allow_reboot_when_stopped))
        matrix.set_default(lenient)
        self.assertEqual("rebooting", api.reboot("c", stopped))
        matrix.set_default(self.nova)
        self.assertRaises(exception.InstanceInvalidState, api.reboot, "c",
                          stopped)

    def test_set_default_reaches_refusals_too(self):
        api = make_api()
        strict = matrix.from_plugins(
            ("nova", nova_plugin.configure),
            ("site", lambda b: b.deny("stop", "error")))
        self.assertEqual("stopping", api.stop("c", Instance("error")))
        matrix.set_default(strict)
        err = self.assertRaises(exception.InstanceInvalidState, api.stop,
                                "c", Instance("error"))
        # The 409 comes from the new matrix as well.
        self.assertNotIn("stop", err.allowed_actions)
        self.assertIn("Cannot 'stop'", str(err))

    def test_every_guard_follows(self):
        first, second = make_api(), make_api()
        lenient = matrix.from_plugins(("nova", nova_plugin.configure),
                                      ("site", _allow_reboot_when_stopped))
        matrix.set_default(lenient)
        for api in (first, second):
            self.assertEqual("rebooting",
                             api.reboot("c", Instance("stopped")))

    def test_matrix_without_the_guarded_action(self):
        # Switching to a matrix that lacks a guarded action switches every
        # guard; that one refuses calls, naming the unknown action.
        api = make_api()
        blueprint = matrix.load(["blueprint"])
        matrix.set_default(blueprint)
        self.assertIs(blueprint, matrix.get())
        err = self.assertRaises(exception.UnknownAction, api.reboot_hard,
                                "c", Instance("active"))
        self.assertIn("'reboot_hard'", str(err))
        # reboot exists in both vocabularies and now follows the blueprint.
        self.assertEqual("rebooting", api.reboot("c", Instance("rescued")))
        matrix.set_default(self.nova)
        self.assertEqual("rebooting_hard",
                         api.reboot_hard("c", Instance("active")))
        self.assertRaises(exception.InstanceInvalidState, api.reboot, "c",
                          Instance("rescued"))

    def test_reload_from_configuration(self):
        api = make_api()
        self.flags(group="matrix", plugins=["blueprint"])
        matrix.set_default(None)
        self.assertEqual(("blueprint",), matrix.get().plugins)
        self.assertEqual("rebooting", api.reboot("c", Instance("rescued")))
