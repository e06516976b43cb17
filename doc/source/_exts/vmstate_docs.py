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

"""Sphinx directives that generate vmstate's references from the code.

Nothing here is written by hand twice: the state diagrams and tables come
from the live matrix plugins, the REST reference from the OpenAPI
description the service serves (``vmstate/api/openapi.yaml``), the command
reference from the commands' own ``--help``.

``.. vmstate-matrix-diagram:: nova[,plugin...]``
    The state diagram of the matrix composed of those plugins, as
    ``vmstate-manage matrix show --format dot`` prints it, drawn by
    ``sphinx.ext.graphviz``.
``.. vmstate-matrix-table:: nova[,plugin...]``
    The text table of ``vmstate-manage matrix show``.
``.. vmstate-openapi::``
    Every path and method of the OpenAPI description, with parameters,
    request bodies, answers and schemas.
``.. vmstate-help:: vmstate-manage db sync``
    The ``--help`` of a command, as its parser prints it.
"""

import contextlib
import io
import json

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.ext import graphviz
from sphinx.util.docutils import SphinxDirective


def _plugins(argument):
    return [name.strip() for name in argument.split(",") if name.strip()]


class MatrixDiagram(SphinxDirective):
    """The state diagram of a composition of matrix plugins."""

    required_arguments = 1
    option_spec = {"caption": directives.unchanged}

    def run(self):
        from vmstate import lifecycle
        from vmstate import matrix
        from vmstate.matrix import render

        loaded = matrix.load(_plugins(self.arguments[0]))
        node = graphviz.graphviz()
        node["code"] = render.as_dot(loaded, lifecycle.BUILD)
        node["options"] = {"docname": self.env.docname}
        node["alt"] = "State diagram of the matrix of plugins %s" % (
            ", ".join(loaded.plugins))
        if "caption" in self.options:
            figure = graphviz.figure_wrapper(self, node,
                                             self.options["caption"])
            return [figure]
        return [node]


class MatrixTable(SphinxDirective):
    """The text table of a composition of matrix plugins."""

    required_arguments = 1

    def run(self):
        from vmstate import matrix
        from vmstate.matrix import render

        text = render.as_table(matrix.load(_plugins(self.arguments[0])))
        block = nodes.literal_block(text, text)
        block["language"] = "none"
        return [block]


class GuardRoutes(SphinxDirective):
    """The compute guard's route table, from the data the guard runs on
    (``vmstate.api.middleware.routes.ROUTES``)."""

    def run(self):
        from vmstate.api.middleware import routes

        def version(route):
            low = "%d.%d" % route.min_version
            low = "any" if route.min_version == routes.LEGACY_V2 else low
            if route.max_version is None:
                return low if low == "any" else low + "-"
            return "%s-%d.%d" % (low, *route.max_version)

        rows = [("request", "microversions", "action", "Nova's word",
                 "default persona", "Nova checks before the state")]
        for route in routes.ROUTES:
            path = "/servers/{id}" + "".join(
                "/" + ("{%s}" % "item" if part == routes.ANY else part)
                for part in route.tail)
            if route.key:
                path += " ``%s``" % route.key
            rows.append(("%s %s" % (route.method, path), version(route),
                         route.action, route.word, route.persona,
                         ", ".join(route.before_state)))
        table = nodes.table()
        group = nodes.tgroup(cols=len(rows[0]))
        table += group
        for _ in rows[0]:
            group += nodes.colspec(colwidth=1)
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body
        for i, row in enumerate(rows):
            line = nodes.row()
            for cell in row:
                entry = nodes.entry()
                entry += nodes.paragraph(text=cell.replace("``", ""))
                line += entry
            (head if i == 0 else body).append(line)
        return [table]


class Help(SphinxDirective):
    """A command's ``--help``, produced by the command itself."""

    required_arguments = 1
    final_argument_whitespace = True

    def run(self):
        words = self.arguments[0].split()
        text = command_help(words[0], words[1:])
        block = nodes.literal_block(text, text)
        block["language"] = "none"
        return [block]


def command_help(program, args):
    """What ``program args --help`` prints, run in this process."""
    from vmstate.cmd import api
    from vmstate.cmd import fake_compute
    from vmstate.cmd import manage
    from vmstate.cmd import status
    from vmstate.conf import CONF

    mains = {"vmstate-api": api.main, "vmstate-manage": manage.main,
             "vmstate-fake-compute": fake_compute.main,
             "vmstate-status": status.main}
    out = io.StringIO()
    import sys
    argv0 = sys.argv[0]
    sys.argv[0] = program
    try:
        with contextlib.redirect_stdout(out):
            try:
                mains[program]([*args, "--help"])
            except SystemExit:
                pass
    finally:
        sys.argv[0] = argv0
        CONF.reset()
    return out.getvalue().rstrip()


class ManageReference(SphinxDirective):
    """Every ``vmstate-manage`` category and command, with its ``--help``.

    The commands are those registered when this documentation is built,
    so a new one appears without editing the page.
    """

    def run(self):
        from vmstate.cmd import manage

        manage.load_commands()
        lines = []
        for category, commands in sorted(manage.CATEGORIES.items()):
            if None in commands:
                title = "vmstate-manage %s" % category
                lines += [title, "-" * len(title), ""]
                lines += _literal(command_help("vmstate-manage",
                                               [category]))
                continue
            title = "vmstate-manage %s" % category
            lines += [title, "-" * len(title), ""]
            lines += _literal(command_help("vmstate-manage", [category]))
            for name in sorted(commands):
                title = "vmstate-manage %s %s" % (category, name)
                lines += [title, "~" * len(title), ""]
                lines += _literal(command_help("vmstate-manage",
                                               [category, name]))
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(lines, source="vmstate-manage"),
                                self.content_offset, container,
                                match_titles=True)
        return container.children


class OSCReference(SphinxDirective):
    """Every ``openstack vmstate ...`` command of the CLI plugin, with its
    ``--help``: the commands registered in the entry-point namespace
    ``openstack.instance_state.v1`` when this documentation is built."""

    def run(self):
        from importlib import metadata

        found = sorted(metadata.entry_points(
            group="openstack.instance_state.v1"), key=lambda e: e.name)
        lines = []
        for entry_point in found:
            words = entry_point.name.replace("_", " ")
            title = "openstack %s" % words
            parser = entry_point.load()(None, None).get_parser(title)
            # Under the page's own sections ("=" and "-").
            lines += [title, "~" * len(title), ""]
            lines += _literal(parser.format_help().rstrip())
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(lines, source="openstack"),
                                self.content_offset, container,
                                match_titles=True)
        return container.children


def _literal(text):
    return ([".. code-block:: none", ""]
            + ["   " + line for line in text.splitlines()] + [""])


# -- the REST API reference --------------------------------------------------

class OpenAPI(SphinxDirective):
    """The REST API reference, from the OpenAPI description."""

    def run(self):
        from vmstate.api import openapi

        lines = openapi_rst(openapi.document())
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(lines, source="openapi.yaml"),
                                self.content_offset, container,
                                match_titles=True)
        return container.children


_METHODS = ("get", "put", "post", "patch", "delete")


def _resolve(doc, value):
    while isinstance(value, dict) and "$ref" in value:
        path = value["$ref"].lstrip("#/").split("/")
        found = doc
        for part in path:
            found = found[part]
        value = found
    return value


def _ref_name(value):
    if isinstance(value, dict) and "$ref" in value:
        return value["$ref"].rsplit("/", 1)[-1]
    return None


def _type(doc, schema):
    """A short type for a schema: ``string``, ``array of Instance``..."""
    name = _ref_name(schema)
    if name:
        return ":ref:`%s <api-schema-%s>`" % (name, name.lower())
    schema = schema or {}
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " or ".join(_type(doc, s) for s in schema[key])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        kind = "array of %s" % _type(doc, schema.get("items", {}))
    if schema.get("nullable"):
        kind += " or null"
    if "enum" in schema:
        kind += " (one of %s)" % ", ".join(
            "``%s``" % json.dumps(v) for v in schema["enum"])
    return kind


def _text(value):
    return " ".join(str(value or "").split())


def _cell(value):
    return _text(value).replace("|", "\\|") or "\u2014"


def _fields(doc, schema, prefix="", depth=0):
    """``(name, type, required, description)`` rows of an object schema.

    Nested objects written inline are flattened with dotted names; named
    schemas are linked, not repeated.
    """
    schema = schema or {}
    if _ref_name(schema) or depth > 3:
        return []
    rows = []
    required = set(schema.get("required", ()))
    for name, prop in (schema.get("properties") or {}).items():
        full = prefix + name
        rows.append((full, _type(doc, prop), name in required,
                     (prop or {}).get("description", "")))
        if not _ref_name(prop):
            inner = prop or {}
            if inner.get("type") == "array":
                inner = inner.get("items", {})
                if _ref_name(inner):
                    continue
                full += "[]"
            if inner.get("properties"):
                rows.extend(_fields(doc, inner, full + ".", depth + 1))
    return rows


def _table(rows, header):
    lines = [".. list-table::", "   :header-rows: 1",
             "   :widths: %s" % " ".join(
                 ["2", "2", "1", "5"][:len(header)]), ""]
    for row in [header, *rows]:
        lines.append("   * - %s" % _cell(row[0]))
        for value in row[1:]:
            if isinstance(value, bool):
                value = "yes" if value else "no"
            lines.append("     - %s" % _cell(value))
    lines.append("")
    return lines


def _title(text, char):
    return [text, char * len(text), ""]


def _body_lines(doc, content, what):
    lines = []
    for media, media_type in (content or {}).items():
        schema = media_type.get("schema", {})
        name = _ref_name(schema)
        resolved = _resolve(doc, schema)
        lines.append("%s (``%s``): %s" % (what, media, _type(doc, schema)))
        lines.append("")
        if name is None and resolved.get("properties"):
            lines += _table(_fields(doc, resolved),
                            ("Field", "Type", "Required", "Description"))
        elif name is None and resolved.get("type") == "array":
            items = resolved.get("items", {})
            if not _ref_name(items) and items.get("properties"):
                lines += _table(_fields(doc, items, "[]."),
                                ("Field", "Type", "Required",
                                 "Description"))
    return lines


def openapi_rst(doc):
    """The reference as reStructuredText lines."""
    lines = []
    info = doc.get("info", {})
    lines += ["OpenAPI %s description of API version %s." % (
        doc.get("openapi"), info.get("version")), ""]
    if info.get("description"):
        lines += [_text(info["description"]), ""]
    for path, item in doc.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in _METHODS:
            if method not in item:
                continue
            op = item[method]
            lines += [".. _api-%s:" % op.get("operationId", method + path),
                      ""]
            lines += _title("%s %s" % (method.upper(), path), "-")
            if op.get("summary"):
                lines += ["**%s**" % _text(op["summary"]), ""]
            if op.get("description"):
                lines += [_text(op["description"]), ""]
            params = [_resolve(doc, p) for p in
                      [*shared, *op.get("parameters", [])]]
            if params:
                lines += ["Parameters:", ""]
                lines += _table(
                    [("%s (%s)" % (p["name"], p.get("in")),
                      _type(doc, p.get("schema", {})),
                      bool(p.get("required")), p.get("description", ""))
                     for p in params],
                    ("Name", "Type", "Required", "Description"))
            body = _resolve(doc, op.get("requestBody"))
            if body:
                lines += _body_lines(doc, body.get("content"),
                                     "Request body")
            lines += ["Answers:", ""]
            answers = sorted(op.get("responses", {}).items(),
                             key=lambda item: (item[0] == "default",
                                               item[0]))
            for code, answer in answers:
                name = _ref_name(answer)
                answer = _resolve(doc, answer)
                desc = _text(answer.get("description"))
                label = "other" if code == "default" else code
                lines.append("* **%s** %s%s" % (
                    label, desc,
                    " (:ref:`%s <api-response-%s>`)" % (
                        name, name.lower()) if name else ""))
            lines.append("")
            for code, answer in op.get("responses", {}).items():
                if not code.startswith("2") or _ref_name(answer):
                    continue
                lines += _body_lines(doc, answer.get("content"),
                                     "Body of %s" % code)
    components = doc.get("components", {})
    if components.get("responses"):
        lines += _title("Error answers", "-")
        for name, answer in components["responses"].items():
            lines += [".. _api-response-%s:" % name.lower(), ""]
            lines += ["**%s** -- %s" % (name,
                                        _text(answer.get("description"))),
                      ""]
            lines += _body_lines(doc, answer.get("content"), "Body")
    if components.get("schemas"):
        lines += _title("Schemas", "-")
        for name, schema in components["schemas"].items():
            lines += [".. _api-schema-%s:" % name.lower(), ""]
            lines += _title(name, "~")
            if schema.get("description"):
                lines += [_text(schema["description"]), ""]
            rows = _fields(doc, schema)
            if rows:
                lines += _table(rows, ("Field", "Type", "Required",
                                       "Description"))
            else:
                lines += ["Type: %s" % _type(doc, schema), ""]
    return lines


def setup(app):
    app.setup_extension("sphinx.ext.graphviz")
    # The diagrams at their natural size, scrolled sideways when wider
    # than the page: scaled down to fit, their labels cannot be read.
    app.add_css_file("vmstate-diagrams.css")
    app.add_directive("vmstate-matrix-diagram", MatrixDiagram)
    app.add_directive("vmstate-matrix-table", MatrixTable)
    app.add_directive("vmstate-openapi", OpenAPI)
    app.add_directive("vmstate-help", Help)
    app.add_directive("vmstate-guard-routes", GuardRoutes)
    app.add_directive("vmstate-manage-reference", ManageReference)
    app.add_directive("vmstate-osc-reference", OSCReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
