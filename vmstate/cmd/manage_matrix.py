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

"""vmstate-manage matrix ...: show and check the effective matrix.

Both load the plugins of ``[matrix] plugins`` exactly as the services do
at start, so ``matrix check`` fails for the same reasons a service would
refuse to start, and says which plugin and why.
"""

from typing import Any

from vmstate import lifecycle
from vmstate import matrix
from vmstate.cmd.manage import command
from vmstate.matrix import render


def _show_arguments(parser: Any) -> None:
    parser.add_argument(
        "--format", choices=sorted(render.FORMATS), default="table",
        help="table (readable text, the default), json (as GET "
             "/v1/matrix) or dot (a Graphviz state diagram; draw it with "
             "'dot -Tsvg' or 'dot -Tpng')")


@command("matrix", "show", _show_arguments)
def show(args: Any) -> int:
    """Print the effective matrix of the configured plugins.

    The plugins are those of [matrix] plugins, applied in order. --format
    table prints which actions may start in each (vm_state, task_state);
    json prints what GET /v1/matrix answers; dot prints the state diagram
    in Graphviz's language (draw it with 'dot -Tsvg').
    """
    loaded = matrix.load()
    options = {"creation": lifecycle.BUILD} if args.format == "dot" else {}
    print(render.render(loaded, args.format, **options))
    return 0


@command("matrix", "check")
def check(args: Any) -> int:
    """Check that the configured matrix plugins load into a valid matrix.

    Loads [matrix] plugins exactly as the services do when they start:
    exit 0 and a one-line summary when they compose, otherwise exit 1
    with the plugin and the rule at fault.
    """
    loaded = matrix.load()
    print("matrix OK: plugins %s: %d actions, %d vm_states, %d "
          "task_states" % (", ".join(loaded.plugins), len(loaded.actions),
                           len(loaded.vm_states), len(loaded.task_states)))
    return 0
