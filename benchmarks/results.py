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

"""A benchmark's figures, for ``tools/bench-report``.

Each benchmark prints its own table for people; with ``--json PATH`` it
also writes what it measured here, so one report can gather every
benchmark's figures and targets without parsing their text.
"""

import argparse
import json


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="PATH",
                        help="also write the figures as JSON (for "
                             "tools/bench-report)")


class Results:
    """Figures (``group``, ``name``, value, unit, labels) and targets."""

    def __init__(self, benchmark: str) -> None:
        self.benchmark = benchmark
        self.figures: list[dict] = []
        self.targets: list[dict] = []

    def figure(self, group: str, name: str, value: float, unit: str,
               **labels: object) -> None:
        self.figures.append({"group": group, "name": name, "value": value,
                             "unit": unit, "labels": labels})

    def target(self, name: str, value: float, goal: str,
               met: bool) -> bool:
        """Record whether ``value`` met ``goal`` (e.g. "<= 0.5")."""
        self.targets.append({"name": name, "value": value, "goal": goal,
                             "met": bool(met)})
        return bool(met)

    def write(self, path: str | None) -> None:
        if path:
            with open(path, "w") as f:
                json.dump({"benchmark": self.benchmark,
                           "figures": self.figures,
                           "targets": self.targets}, f, indent=1)
