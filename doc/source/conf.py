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

"""Sphinx configuration of vmstate's documentation (``tox -e docs``).

The references are generated at build time from the code: options by
oslo.config's sphinxext and sample generator, policies by oslo.policy's,
the REST API from the served OpenAPI description, the commands from their
own ``--help`` and the state diagrams from the live matrix
(``_exts/vmstate_docs.py``).
"""

import os
import sys

sys.path.insert(0, os.path.abspath("_exts"))

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.graphviz",
    "oslo_config.sphinxext",
    "oslo_config.sphinxconfiggen",
    "oslo_policy.sphinxext",
    "oslo_policy.sphinxpolicygen",
    "openstackdocstheme",
    "vmstate_docs",
]

# oslo.config: the sample configuration file, written at build time.
config_generator_config_file = (
    "../../etc/vmstate/vmstate-config-generator.conf")
sample_config_basename = "_static/vmstate"

# oslo.policy: the sample policy file, written at build time.
policy_generator_config_file = (
    "../../etc/vmstate/vmstate-policy-generator.conf")
sample_policy_basename = "_static/vmstate"

# openstackdocstheme
openstackdocs_repo_name = "openstack/vmstate"
openstackdocs_bug_project = "vmstate"
openstackdocs_bug_tag = "doc"
openstackdocs_auto_name = False
openstackdocs_use_storyboard = False

project = "vmstate"
copyright = "vmstate developers"  # noqa: A001
master_doc = "index"
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build"]
pygments_style = "native"
add_module_names = False

html_theme = "openstackdocs"
html_static_path = ["_static"]

# State diagrams as SVG, so they stay legible at any zoom.
graphviz_output_format = "svg"
graphviz_dot_args = ["-Gfontname=Helvetica", "-Nfontname=Helvetica",
                     "-Efontname=Helvetica"]

# Every cross-reference must resolve (the build runs with -W).
nitpicky = False
