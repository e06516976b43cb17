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

"""Sphinx configuration of vmstate's release notes (``tox -e
releasenotes``): reno collects ``releasenotes/notes/*.yaml`` from the git
history of the checkout, so a fresh clone builds them as they are."""

extensions = [
    "openstackdocstheme",
    "reno.sphinxext",
]

openstackdocs_repo_name = "openstack/vmstate"
openstackdocs_bug_project = "vmstate"
openstackdocs_bug_tag = "releasenotes"
openstackdocs_auto_name = False
openstackdocs_use_storyboard = False

project = "vmstate Release Notes"
copyright = "vmstate developers"  # noqa: A001
master_doc = "index"
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = []
pygments_style = "native"
html_theme = "openstackdocs"
html_static_path = ["_static"]
