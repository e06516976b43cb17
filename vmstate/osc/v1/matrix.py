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

"""``openstack vmstate matrix show|diagram``: the service's matrix."""

import argparse
from typing import Any

from osc_lib import exceptions as osc_exc
from osc_lib.cli import format_columns
from osc_lib.command import command

from vmstate.osc.v1 import instances


class ShowMatrix(command.Lister):
    """The actions allowed in each (vm_state, task_state) of the service's
    matrix (cells where nothing may start are left out)."""

    def take_action(self, parsed_args: argparse.Namespace) -> Any:
        matrix = instances._client(self).matrix()
        return (("VM State", "Task State", "Actions"),
                [(cell["vm_state"], cell["task_state"],
                  format_columns.ListColumn(cell["actions"]))
                 for cell in matrix["allowed"]])


class DiagramMatrix(command.Command):
    """The service's matrix as a Graphviz state diagram (dot source).

    Drawn by vmstate's own renderer from the matrix plugins the service
    names, after checking that they give here exactly the matrix the
    service answers (a plugin missing or different here is an error, not
    a wrong drawing).
    """

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from vmstate import exception
        from vmstate.matrix import loader
        from vmstate.matrix import render

        served = instances._client(self).matrix()
        plugins = served["plugins"]
        try:
            local = loader.load(plugins)
        except exception.VMStateError as err:
            raise osc_exc.CommandError(
                "Cannot draw the service's matrix: its plugins (%s) do not "
                "load here: %s" % (", ".join(plugins), err)) from None
        if local.as_dict() != served:
            raise osc_exc.CommandError(
                "Cannot draw the service's matrix: its plugins (%s) give "
                "another matrix here (different versions?)"
                % ", ".join(plugins))
        self.app.stdout.write(render.as_dot(local) + "\n")
        return 0
