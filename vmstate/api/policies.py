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

"""vmstate's policy rules, in code, with their documented defaults.

Reading is for the instance's project and admins; progress reports (PATCH)
are for the service role and admins. Another project's instance is hidden
by the queries themselves (404), so ``project_id`` rules only decide what a
caller may do inside its own project.
"""

from oslo_policy import policy

ADMIN = "role:admin"
SERVICE = "role:service"
OWNER = "project_id:%(project_id)s"

rules = [
    policy.RuleDefault("admin", ADMIN, "Administrators."),
    policy.RuleDefault("service", SERVICE,
                       "OpenStack services (compute workers, observers)."),
    policy.RuleDefault("admin_or_owner", "rule:admin or " + OWNER,
                       "Administrators, or members of the instance's "
                       "project."),
    policy.RuleDefault("admin_or_service", "rule:admin or rule:service",
                       "Administrators or services."),
]

INSTANCE = "/v1/instances/{uuid}"

instance_rules = [
    policy.DocumentedRuleDefault(
        name="vmstate:matrix:get",
        check_str="",
        description="Show the allowed-actions matrix.",
        operations=[{"path": "/v1/matrix", "method": "GET"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:create",
        check_str="rule:admin_or_owner",
        description="Register an instance with vmstate.",
        operations=[{"path": "/v1/instances", "method": "POST"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:create:other_project",
        check_str="rule:admin_or_service",
        description="Register an instance for another project than the "
                    "caller's.",
        operations=[{"path": "/v1/instances", "method": "POST"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:all_projects",
        check_str="rule:admin_or_service",
        description="Start actions on, and report on, the instances of "
                    "every project (otherwise only the caller's own).",
        operations=[{"path": INSTANCE + "/actions", "method": "POST"},
                    {"path": INSTANCE, "method": "PATCH"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:list",
        check_str="rule:admin_or_owner",
        description="List the instances of the caller's project.",
        operations=[{"path": "/v1/instances", "method": "GET"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:list:all_projects",
        check_str="rule:admin",
        description="List, or filter by, the instances of every project.",
        operations=[{"path": "/v1/instances", "method": "GET"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:get",
        check_str="rule:admin_or_owner",
        description="Show an instance's states and allowed actions.",
        operations=[{"path": INSTANCE, "method": "GET"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:action",
        check_str="rule:admin_or_owner or rule:service",
        description="Start an action on an instance (atomically checked "
                    "against the matrix).",
        operations=[{"path": INSTANCE + "/actions", "method": "POST"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:update",
        check_str="rule:admin_or_service",
        description="Report task progress or new states (compare-and-swap "
                    "PATCH), or a sign of progress that postpones the "
                    "task's timeout (heartbeat).",
        operations=[{"path": INSTANCE, "method": "PATCH"},
                    {"path": INSTANCE + "/heartbeat", "method": "POST"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:events",
        check_str="rule:admin_or_owner",
        description="Show an instance's transition history.",
        operations=[{"path": INSTANCE + "/events", "method": "GET"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:reset_state",
        check_str="rule:admin",
        description="Set an instance's vm_state (active or error) and clear "
                    "its task, whatever its state (Nova's os-resetState). "
                    "Recorded in the history with who and why.",
        operations=[{"path": INSTANCE + "/reset", "method": "POST"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:clear_error",
        check_str="rule:admin",
        description="Return an instance in error to the vm_state it had "
                    "before, with no task and no fault. Recorded in the "
                    "history with who and why.",
        operations=[{"path": INSTANCE + "/clear_error", "method": "POST"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:power_state",
        check_str="rule:admin_or_service",
        description="Report an instance's observed power state (observers, "
                    "such as a hypervisor poller); may trigger the "
                    "configured power-state drift reaction.",
        operations=[{"path": INSTANCE + "/power_state", "method": "PUT"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:queue:delete",
        check_str="rule:admin_or_owner",
        description="Cancel the actions queued for an instance.",
        operations=[{"path": INSTANCE + "/queue", "method": "DELETE"}]),
    policy.DocumentedRuleDefault(
        name="vmstate:instance:wait",
        check_str="rule:admin_or_owner",
        description="Wait (long-poll) until an instance reaches vm_states.",
        operations=[{"path": INSTANCE + "/wait", "method": "GET"}]),
]


def list_rules() -> list[policy.RuleDefault]:
    """Every rule, for the enforcer and the sample generator."""
    return rules + instance_rules
