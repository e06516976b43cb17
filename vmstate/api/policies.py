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

"""vmstate's policy rules in code: OpenStack's Secure RBAC personas.

Four personas, every rule project-scoped (``scope_types = ["project"]``),
written as the community defaults are (Nova, Ironic, keystone's
``bootstrap`` roles, where ``admin`` implies ``member`` implies
``reader``):

``reader`` of the instance's project
    shows it, its history, waits for it, and the matrix.
``member`` of the instance's project
    and starts actions on it, and cancels its queued actions.
``service`` (role ``service``, any project: compute workers, observers)
    reads and acts on every project's instance, reports task progress
    (``PATCH``), heartbeats and power states.
``admin``
    everything, on every project: also ``reset`` and ``clear_error``.

The target of an instance's rule is the instance's owner
(``{"project_id": <the instance's project>}``), never the caller's own
project. Another project's instance stays hidden by the queries themselves
(404) for everyone but services and admins.

Rules whose default changed keep their old check string as a
``DeprecatedRule``: with ``[oslo_policy] enforce_new_defaults = False`` an
operator may let both decide during an upgrade.
"""

from oslo_policy import policy

SCOPE = ["project"]

# The personas, as base rules other rules (and operators) name.
ADMIN = "rule:context_is_admin"
PROJECT_READER = "rule:project_reader"
PROJECT_MEMBER = "rule:project_member"
SERVICE = "rule:service_api"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
SERVICE_OR_ADMIN = "rule:service_or_admin"

# The defaults before the personas (vmstate 1.0), kept as deprecated rules.
_OLD_OWNER = "rule:admin_or_owner"
_OLD_SERVICE = "rule:admin_or_service"
_DEPRECATED_REASON = (
    "vmstate's policy now has the Secure RBAC personas (reader, member, "
    "service, admin) with project scope: reading an instance needs the "
    "reader role of its project, starting actions the member role, "
    "progress reports the service role, reset and clear_error the admin "
    "role.")
_DEPRECATED_SINCE = "2026.2"

rules = [
    policy.RuleDefault("context_is_admin", "role:admin",
                       "Administrators: every project, every operation."),
    policy.RuleDefault("project_reader",
                       "role:reader and project_id:%(project_id)s",
                       "Readers of the instance's project."),
    policy.RuleDefault("project_member",
                       "role:member and project_id:%(project_id)s",
                       "Members of the instance's project."),
    policy.RuleDefault("service_api", "role:service",
                       "OpenStack services (compute workers, observers), "
                       "whatever the instance's project."),
    policy.RuleDefault("project_reader_or_admin",
                       "%s or %s" % (PROJECT_READER, ADMIN),
                       "Readers of the instance's project, or "
                       "administrators."),
    policy.RuleDefault("project_member_or_admin",
                       "%s or %s" % (PROJECT_MEMBER, ADMIN),
                       "Members of the instance's project, or "
                       "administrators."),
    policy.RuleDefault("service_or_admin", "%s or %s" % (SERVICE, ADMIN),
                       "Services or administrators."),
    # The base rules of vmstate 1.0: still registered, since the
    # deprecated rules below name them.
    policy.RuleDefault("admin", "role:admin",
                       "Deprecated: use context_is_admin."),
    policy.RuleDefault("service", "role:service",
                       "Deprecated: use service_api."),
    policy.RuleDefault("admin_or_owner",
                       "rule:admin or project_id:%(project_id)s",
                       "Deprecated: administrators, or anyone of the "
                       "instance's project, whatever their role."),
    policy.RuleDefault("admin_or_service", "rule:admin or rule:service",
                       "Deprecated: use service_or_admin."),
]

INSTANCE = "/v1/instances/{uuid}"


def _rule(name: str, check_str: str, description: str,
          operations: list[tuple[str, str]], old: str | None = None
          ) -> policy.DocumentedRuleDefault:
    """A documented, project-scoped rule; ``old`` is its deprecated
    vmstate 1.0 default, when the default changed."""
    deprecated = None
    if old is not None:
        deprecated = policy.DeprecatedRule(
            name, old, deprecated_reason=_DEPRECATED_REASON,
            deprecated_since=_DEPRECATED_SINCE)
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{"path": p, "method": m} for m, p in operations],
        scope_types=SCOPE, deprecated_rule=deprecated)


READ = "%s or %s" % (PROJECT_READER_OR_ADMIN, SERVICE)
ACT = "%s or %s" % (PROJECT_MEMBER_OR_ADMIN, SERVICE)

instance_rules = [
    _rule("vmstate:matrix:get", "role:reader or %s or %s" % (SERVICE, ADMIN),
          "Show the allowed-actions matrix (any reader).",
          [("GET", "/v1/matrix")], old=""),
    _rule("vmstate:instance:create", ACT,
          "Register an instance with vmstate, in the project of the "
          "target (the instance's project_id, else the caller's).",
          [("POST", "/v1/instances")], old=_OLD_OWNER),
    _rule("vmstate:instance:create:other_project", SERVICE_OR_ADMIN,
          "Register an instance for another project than the caller's.",
          [("POST", "/v1/instances")], old=_OLD_SERVICE),
    _rule("vmstate:instance:all_projects", SERVICE_OR_ADMIN,
          "See the instances of every project when showing, acting on and "
          "reporting on one instance (otherwise another project's "
          "instance is not found). The operation's own rule still "
          "decides, with the instance's owner as the target.",
          [("GET", INSTANCE), ("POST", INSTANCE + "/actions"),
           ("PATCH", INSTANCE)], old=_OLD_SERVICE),
    _rule("vmstate:instance:list", READ,
          "List the instances of a project (the caller's own, or the one "
          "of the project_id filter).",
          [("GET", "/v1/instances")], old=_OLD_OWNER),
    _rule("vmstate:instance:list:all_projects", ADMIN,
          "List, or filter by, the instances of every project.",
          [("GET", "/v1/instances")], old="rule:admin"),
    _rule("vmstate:instance:get", READ,
          "Show an instance's states and allowed actions.",
          [("GET", INSTANCE)], old=_OLD_OWNER),
    _rule("vmstate:instance:events", READ,
          "Show an instance's transition history.",
          [("GET", INSTANCE + "/events")], old=_OLD_OWNER),
    _rule("vmstate:instance:wait", READ,
          "Wait (long-poll) until an instance reaches vm_states.",
          [("GET", INSTANCE + "/wait")], old=_OLD_OWNER),
    _rule("vmstate:instance:action", ACT,
          "Start an action on an instance (atomically checked against "
          "the matrix), or queue it.",
          [("POST", INSTANCE + "/actions")],
          old="rule:admin_or_owner or rule:service"),
    _rule("vmstate:instance:queue:delete", ACT,
          "Cancel the actions queued for an instance.",
          [("DELETE", INSTANCE + "/queue")], old=_OLD_OWNER),
    _rule("vmstate:instance:update", SERVICE_OR_ADMIN,
          "Report task progress or new states (compare-and-swap PATCH), "
          "or a sign of progress that postpones the task's timeout "
          "(heartbeat).",
          [("PATCH", INSTANCE), ("POST", INSTANCE + "/heartbeat")],
          old=_OLD_SERVICE),
    _rule("vmstate:instance:power_state", SERVICE_OR_ADMIN,
          "Report an instance's observed power state (observers, such as "
          "a hypervisor poller); may trigger the configured power-state "
          "drift reaction.",
          [("PUT", INSTANCE + "/power_state")], old=_OLD_SERVICE),
    _rule("vmstate:instance:reset_state", ADMIN,
          "Set an instance's vm_state (active or error) and clear its "
          "task, whatever its state (Nova's os-resetState). Recorded in "
          "the history with who and why.",
          [("POST", INSTANCE + "/reset")], old="rule:admin"),
    _rule("vmstate:instance:clear_error", ADMIN,
          "Return an instance in error to the vm_state it had before, "
          "with no task and no fault. Recorded in the history with who "
          "and why.",
          [("POST", INSTANCE + "/clear_error")], old="rule:admin"),
]


def list_rules() -> list[policy.RuleDefault]:
    """Every rule, for the enforcer and the sample generator."""
    return rules + instance_rules
