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

"""A real, installed distribution of plugins, for one test.

What a deployer ships: a module with a ``configure(builder)`` callable and
a ``<name>-1.0.dist-info`` declaring it in the ``vmstate.matrix`` entry
point group (or a driver class in another namespace), in a directory on
``sys.path``. Everything is undone after the test, so other tests never
see these plugins.
"""

import importlib
import os
import sys
import textwrap
import uuid

import fixtures
from stevedore import _cache
from stevedore import extension

from vmstate import matrix


class PluginDistribution(fixtures.Fixture):
    """Install a distribution whose entry points are ``plugins``.

    :param plugins: ``{entry point name: module source}``; each source
        becomes a module of its own, and the entry point names its
        ``configure`` (or ``attr``).
    :param attr: the attribute the entry points name.
    :param namespace: their entry point group (default: matrix plugins).

    After setUp, :attr:`modules` maps each entry point name to its module
    name and :attr:`path` is the directory on ``sys.path``.
    """

    def __init__(self, plugins: dict[str, str],
                 attr: str = "configure",
                 namespace: str = matrix.NAMESPACE) -> None:
        super().__init__()
        self.plugins = plugins
        self.attr = attr
        self.namespace = namespace
        self.modules: dict[str, str] = {}
        self.path = ""

    def _setUp(self) -> None:
        token = uuid.uuid4().hex[:12]
        dist = "vmstate_test_plugins_%s" % token
        self.path = self.useFixture(fixtures.TempDir()).path
        entry_points = ["[%s]" % self.namespace]
        for i, (name, source) in enumerate(sorted(self.plugins.items())):
            module = "%s_%d" % (dist, i)
            with open(os.path.join(self.path, module + ".py"), "w") as f:
                f.write(textwrap.dedent(source))
            entry_points.append("%s = %s:%s" % (name, module, self.attr))
            self.modules[name] = module
            self.addCleanup(sys.modules.pop, module, None)
        info = os.path.join(self.path, "%s-1.0.dist-info" % dist)
        os.mkdir(info)
        with open(os.path.join(info, "METADATA"), "w") as f:
            f.write("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % dist)
        with open(os.path.join(info, "entry_points.txt"), "w") as f:
            f.write("\n".join(entry_points) + "\n")

        # stevedore remembers each namespace's entry points for the life
        # of the process (ExtensionManager.ENTRY_POINT_CACHE) and every
        # sys.path's scan in memory and under ~/.cache (stevedore._cache).
        # Fresh, private caches make it see this distribution now and let
        # no other test see it, or its leftovers, later.
        self.useFixture(fixtures.MockPatchObject(
            extension.ExtensionManager, "ENTRY_POINT_CACHE", {}))
        private = _cache.Cache(cache_dir=os.path.join(self.path, "cache"))
        self.useFixture(fixtures.MockPatchObject(
            _cache, "get_group_all", private.get_group_all))

        self.useFixture(fixtures.PythonPathEntry(self.path))
        self.addCleanup(sys.path_importer_cache.pop, self.path, None)
        importlib.invalidate_caches()
