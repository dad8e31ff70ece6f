"""IAM from the calls: each function's role grants exactly what its code calls.

The chain runs a representative set of scenarios on the local AWS (two nights with a replay,
reconcile and cleanup; clusters, and a lost RDS-EVENT-0075; lost RDS-EVENT-0042s with source
exports; a failed export and a canceled copy fixed and replayed while every export slot is
busy, the same for a source export; the snapshot quota before and during a night; SES
refusing the sender in the digest mode, then reconcile settling; a vault account's night;
restore drills), while
:class:`CallRecorder` (rds_backup/local/runner.py) records every AWS call each function's
handler makes, with its parameters. Each call is mapped to the IAM actions it needs (the
action of the same name, the few renamed ones and the dependent actions below, each from the
AWS documentation), and compared with the statements of that function's role in the
generated CloudFormation (``serverless package``):

- every needed action is granted to the role (a missing grant fails: on AWS it is
  AccessDenied);
- every granted action is needed by a recorded call, by the Lambda runtime (logs, the
  on-failure destination, read from the template) or by a listed reason (an unused grant
  fails);
- tag writes: each tag key a function writes is allowed by one of its AddTagsToResource
  statements, and each statement limited to tag keys is used (the retry-export mark);
- PutEvents: each (source, detail-type) a function puts is allowed by its role's
  ``events:source``/``events:detail-type`` conditions, and each allowed one is put.

The vault stack's own functions (infra/vault/serverless.yml) are not checked here: the local
AWS runs the vault's step directly with the vault account's credentials, not as a deployed
function (rds_backup/local/vault_demo.py); tests/infra/test_vault_stack.py reads their roles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from events.lambda_failure import DETAIL_TYPE as FAILURE_DETAIL_TYPE
from events.lambda_failure import SOURCES as FAILURE_SOURCES
from rds_backup import clock as domain_clock
from rds_backup.local import vault_demo
from rds_backup.local.drill_demo import DrillDemoOptions, run_drill_demo
from rds_backup.local.harness import LocalAws
from rds_backup.local.runner import CallRecorder, RecordedCall
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import LocalServer
from rds_backup.model.naming import run_time
from tests.e2e.support import run_nightly
from tests.infra.support import (
    as_list,
    function_role,
    functions,
    resolve,
    resources,
    role_statements,
)

# One worker records for the whole module (scripts/test runs xdist with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("iam_from_calls")

SOURCE, TARGET = "us-east-1", "us-west-2"
Templates = dict[str, dict[str, Any]]

# Operations whose IAM action has another name (Service Authorization Reference: the
# "Actions" tables of Amazon S3 and AWS Lambda).
RENAMED = {
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
    "s3:DeleteObjects": "s3:DeleteObject",
    "s3:HeadBucket": "s3:ListBucket",
    "lambda:Invoke": "lambda:InvokeFunction",
}
# RDS uses a customer managed key through a grant it creates for the caller: copies,
# exports and restores of encrypted snapshots need kms:CreateGrant and kms:DescribeKey on it
# (RDS User Guide, "Authorizing use of a customer managed key"; StartExportTask's KmsKeyId:
# "The caller of this operation must be authorized to run ... CreateGrant, DescribeKey").
KMS_FOR_RDS = {"kms:CreateGrant", "kms:DescribeKey"}
RDS_USES_KEY = {
    "CopyDBSnapshot",
    "CopyDBClusterSnapshot",
    "StartExportTask",
    "RestoreDBInstanceFromDBSnapshot",
    "RestoreDBClusterFromSnapshot",
}


def needed_actions(call: RecordedCall) -> set[str]:
    """The IAM actions one recorded call needs. (A cross-region CopyDBSnapshot is authorized
    on the source snapshot and on the copy, in both regions, with the one action
    rds:CopyDBSnapshot: tests/infra/test_iam.py reads its two statements and their tag
    conditions.)"""
    name = f"{call.service}:{call.operation}"
    needed = {RENAMED.get(name, name)}
    params = call.params
    if call.service == "rds":
        # Tag-on-create also authorizes rds:AddTagsToResource (RDS User Guide, "Tagging
        # Amazon RDS resources": "you must have ... rds:AddTagsToResource").
        if params.get("Tags") and call.operation != "AddTagsToResource":
            needed.add("rds:AddTagsToResource")
        if call.operation in RDS_USES_KEY:
            needed |= KMS_FOR_RDS
        # iam:PassRole is StartExportTask's dependent action (Service Authorization Reference).
        if params.get("IamRoleArn"):
            needed.add("iam:PassRole")
        # RDS-managed master passwords: RDS creates the secret and turns on its rotation for
        # the caller (RDS User Guide, "Password management with Amazon RDS and AWS Secrets
        # Manager", required permissions: secretsmanager:CreateSecret, RotateSecret,
        # TagResource).
        if params.get("ManageMasterUserPassword"):
            needed |= {
                f"secretsmanager:{a}" for a in ("CreateSecret", "RotateSecret", "TagResource")
            }
    if call.service == "scheduler" and params.get("Target", {}).get("RoleArn"):
        # The schedule's role is passed to Scheduler (Scheduler User Guide, "Set up the
        # execution role": iam:PassRole).
        needed.add("iam:PassRole")
    if call.service == "secretsmanager" and call.operation == "CreateSecret" and params.get("Tags"):
        needed.add("secretsmanager:TagResource")
    return needed


def runtime_actions(template: dict[str, Any], logical_id: str) -> dict[str, str]:
    """What Lambda itself does with the function's role, read from the template: write its
    logs, and deliver a failed asynchronous invocation to its on-failure destination (Lambda
    Developer Guide, "Lambda execution role" and "Adding a destination": the execution role
    needs events:PutEvents for a bus, sqs:SendMessage for a queue)."""
    found = {
        "logs:CreateLogStream": "Lambda writes the function's logs",
        "logs:PutLogEvents": "Lambda writes the function's logs",
    }
    for body in resources(template, "AWS::Lambda::EventInvokeConfig").values():
        properties = body["Properties"]
        if properties["FunctionName"] != {"Ref": logical_id}:
            continue
        destination = properties["DestinationConfig"]["OnFailure"]["Destination"]
        if "Fn::GetAtt" in destination:  # one of the template's resources
            kind = template["Resources"][destination["Fn::GetAtt"][0]]["Type"]
            queue = kind == "AWS::SQS::Queue"
        else:
            queue = ":sqs:" in str(resolve(destination))
        action = "sqs:SendMessage" if queue else "events:PutEvents"
        found[action] = "Lambda's on-failure destination"
    return found


# Granted for a call the scenarios do not make, each with its reason (the local AWS calls
# none of these: its buckets are not SSE-KMS, its drills are of instances).
IDEMPOTENCY_READ = "powertools idempotency reads the record a conditional put found taken"
STATUS_FILES = "export status files read through S3 from SSE-KMS buckets (kms:ViaService s3)"
CLUSTER_DRILL = (
    "a drill of a DB cluster: RestoreDBClusterFromSnapshot, CreateDBInstance per member,"
    " ModifyDBCluster for its password, DeleteDBCluster (tests/integration/test_drill_clusters.py)"
)
CLUSTER_DRILL_ACTIONS = (
    "rds:RestoreDBClusterFromSnapshot",
    "rds:CreateDBInstance",
    "rds:ModifyDBCluster",
    "rds:DeleteDBCluster",
)
LISTED: dict[str, dict[str, str]] = {
    "notify": {"dynamodb:GetItem": IDEMPOTENCY_READ, "kms:Decrypt": STATUS_FILES},
    "reconcile": {
        "dynamodb:GetItem": IDEMPOTENCY_READ,
        "dynamodb:DeleteItem": "powertools releases a claim when reconcile's email fails",
        "kms:Decrypt": STATUS_FILES,
        "rds:DeleteDBSnapshot": (
            "releases the source snapshot of a run whose notify events were all lost"
            " (tests/e2e/test_reliability.py, a lost RDS-EVENT-0161)"
        ),
        **dict.fromkeys(CLUSTER_DRILL_ACTIONS, CLUSTER_DRILL),
    },
    "start_drill": dict.fromkeys(CLUSTER_DRILL_ACTIONS, CLUSTER_DRILL),
    "check_drill": dict.fromkeys(CLUSTER_DRILL_ACTIONS, CLUSTER_DRILL),
}
# Our own events a role may put that the scenarios do not make it put, with the reason.
LISTED_EVENTS: dict[str, dict[str, str]] = {
    "start_drill": {"Drill Finished": "a drill due with no copy to restore fails at once"},
    "reconcile": {
        "Drill Finished": "a drill past its maximum age is ended by reconcile",
        "Snapshot Quota Reached": "a re-driven copy refused for the manual snapshot quota",
    },
}
# Statements limited to some tag keys that the scenarios do not use, with the reason.
LISTED_TAG_STATEMENTS = {
    "MarkRedrivenClusterExports": "a re-driven cluster export finding every export slot busy",
    "MarkRedrivenTargetExports": (
        "reconcile re-drives a target export while every slot is busy (export_snapshot's"
        " statement of the same name is used)"
    ),
}


def _granted(template: dict[str, Any], role: str) -> set[str]:
    return {
        action
        for role_id, _, statement in role_statements(template)
        if role_id == role
        for action in as_list(statement["Action"])
    }


def _sharing(template: dict[str, Any], role: str, action: str) -> set[str]:
    """The roles of every statement granting ``action`` to ``role``: a policy attached to
    several roles (the drills' policy, the cluster copy checks') is one grant to all of them,
    used when one of its functions needs it (the drill queue, rds_backup/drills/, starts,
    advances and ends drills from start_drill, check_drill and reconcile alike)."""
    policies = resources(template, "AWS::IAM::Policy")
    sharing: set[str] = set()
    for role_id, where, statement in role_statements(template):
        if role_id == role and action in as_list(statement["Action"]):
            roles = policies[where]["Properties"]["Roles"] if where in policies else [{"Ref": role}]
            sharing |= {r["Ref"] for r in roles}
    return sharing


def _statements(template: dict[str, Any], role: str, action: str) -> list[dict[str, Any]]:
    return [
        statement
        for role_id, _, statement in role_statements(template)
        if role_id == role and action in as_list(statement["Action"])
    ]


# ---- the scenarios --------------------------------------------------------------------


Scenario = Callable[[LocalAws], None]


def _reconcile_at(local: LocalAws, run: str, *hours: float) -> None:
    for hour in hours:
        local.fire_schedule(run_time(run) + timedelta(hours=hour), function="reconcile")
        local.run_until_quiet()


def _two_nights_replayed_reconciled_cleaned(local: LocalAws) -> None:
    # two nights, replayed and reconciled; 40 days later cleanup deletes the first night's
    # copies and exports (MIN_KEEP keeps the second)
    local.configure(DELETE_OLD_EXPORTS="true")
    run = run_nightly(local)
    local.replay()
    local.run_until_quiet()
    _reconcile_at(local, run, 1)
    local.fire_schedule(domain_clock.now() + timedelta(minutes=1))
    local.run_until_quiet()
    later = domain_clock.now() + timedelta(days=40)  # the first night is past RETENTION_DAYS
    domain_clock.use(lambda: later)
    try:
        local.fire_schedule(later, function="cleanup")
        local.run_until_quiet()
    finally:
        domain_clock.use(None)


def _clusters_night(local: LocalAws) -> None:
    run_nightly(local)


def _cluster_0075_lost(local: LocalAws) -> None:
    local.emulator.knobs.drop_once = {"RDS-EVENT-0075"}
    run = run_nightly(local)
    _reconcile_at(local, run, 1, 2)


def _created_events_lost_with_source_exports(local: LocalAws) -> None:
    local.emulator.knobs.drop.add("RDS-EVENT-0042")
    run = run_nightly(local)
    local.emulator.knobs.drop.clear()
    _reconcile_at(local, run, 1, 2, 3)


def _failed_export_and_canceled_copy_redriven(local: LocalAws) -> None:
    # orders' export fails, billing's copy is canceled (RDS-EVENT-0061); fixed and replayed
    # while every export slot is busy, the export re-drive is marked and reconcile ends it
    local.emulator.fail_exports(match="orders", cause="S3 bucket access denied")
    local.emulator.knobs.cancel_copies.add("billing")
    run = run_nightly(local)
    local.emulator.heal()
    local.set_quota(None, exports=0)  # every export slot busy: the re-drive is marked
    local.replay()
    local.run_until_quiet()
    local.set_quota(None, exports=5)
    _reconcile_at(local, run, 1, 2)


def _source_export_redriven_while_slots_are_busy(local: LocalAws) -> None:
    local.emulator.fail_exports(match="orders", region=SOURCE)
    run = run_nightly(local)
    local.emulator.heal()
    local.set_quota(None, exports=0)  # (an account's quota)
    local.replay()
    local.run_until_quiet()
    local.set_quota(None, exports=5)
    _reconcile_at(local, run, 1, 2)


def _quota_full_before_and_during_the_night(local: LocalAws) -> None:
    # the target quota leaves room for one snapshot: start refuses the others by name; the
    # next night's copy is refused mid-night (the quota filled after the start)
    local.set_quota(TARGET, manual_snapshots=1)
    run_nightly(local)
    local.set_quota(TARGET, manual_snapshots=100)
    local.fire_schedule(domain_clock.now() + timedelta(minutes=1))
    local.runners[0].drain()  # start_backup only
    local.set_quota(TARGET, manual_snapshots=0)
    local.run_until_quiet()


def _ses_refuses_the_sender_then_reconcile_settles(local: LocalAws) -> None:
    # notify's emails fail (its claims released); once the sender is fixed, reconcile
    # settles the runs: the emails, the claims, the source snapshots released
    local.configure(SENDER_EMAIL="not-verified@example.com", NOTIFY_MODE="digest")
    run = run_nightly(local)
    local.configure(SENDER_EMAIL="rds-backup@example.com")
    _reconcile_at(local, run, 1, 2, 3)


def _vault_night(local: LocalAws) -> None:
    # a vault account (docs/VAULT.md), an instance and a cluster: share_vault shares each
    # copy and announces it, the vault copies it and reports back, share_vault records the
    # copy and removes the share
    local.configure(**vault_demo.vault_environment())
    queue = vault_demo.prepare(local)
    run_nightly(local)
    vault_demo.run_vault(local, queue)


SCENARIOS: list[tuple[str, WorldSpec, Scenario]] = [
    (
        "vault",
        WorldSpec(databases=("orders",), clusters=("analytics",), vault=vault_demo.SPEC),
        _vault_night,
    ),
    ("nights", WorldSpec(), _two_nights_replayed_reconciled_cleaned),
    (
        "clusters",
        WorldSpec(databases=("orders",), clusters=("analytics", "ledger")),
        _clusters_night,
    ),
    ("lost 0075", WorldSpec(databases=(), clusters=("analytics",)), _cluster_0075_lost),
    (
        "lost 0042",
        WorldSpec(databases=("orders",), store_to_source_s3=True),
        _created_events_lost_with_source_exports,
    ),
    ("failed export", WorldSpec(), _failed_export_and_canceled_copy_redriven),
    (
        "source export",
        WorldSpec(store_to_source_s3=True),
        _source_export_redriven_while_slots_are_busy,
    ),
    (
        "quota",
        WorldSpec(databases=("orders", "billing", "ledger")),
        _quota_full_before_and_during_the_night,
    ),
    ("ses and digest", WorldSpec(), _ses_refuses_the_sender_then_reconcile_settles),
]


@pytest.fixture(scope="module")
def recorded(
    local_server: LocalServer, templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[RecordedCall]]:
    with CallRecorder() as recorder:
        for _, spec, scenario in SCENARIOS:
            with LocalAws(spec, server=local_server, templates=templates.__getitem__) as local:
                scenario(local)
        local_server.reset()  # one process, one moto: the drills' world starts empty
        run_drill_demo(
            DrillDemoOptions(
                quiet=True,
                output=Path(tmp_path_factory.mktemp("drills")),
                templates=templates.__getitem__,
            )
        )
    return dict(recorder.calls)


def _functions(templates: Templates) -> Iterator[tuple[str, dict[str, Any], str, str]]:
    """(handler, template, logical id, role) of every function of both stacks."""
    for stack in ("main", "target"):
        template = templates[stack]
        for handler, (logical_id, body) in sorted(functions(template).items()):
            yield handler, template, logical_id, function_role(body)


HANDLERS = [
    "check_copy",
    "check_drill",
    "cleanup",
    "copy_snapshot",
    "export_snapshot",
    "notify",
    "probe_drill",
    "reconcile",
    "share_vault",
    "start_backup",
    "start_drill",
]


def _function(templates: Templates, handler: str) -> tuple[dict[str, Any], str, str]:
    for name, template, logical_id, role in _functions(templates):
        if name == handler:
            return template, logical_id, role
    raise AssertionError(f"no function with handlers/{handler}.handler in either template")


def _needed(calls: Iterable[RecordedCall]) -> dict[str, set[str]]:
    """Needed action -> the operations that need it."""
    needed: dict[str, set[str]] = defaultdict(set)
    for call in calls:
        for action in needed_actions(call):
            needed[action].add(call.operation)
    return needed


def test_given_both_templates_when_their_functions_are_listed_then_each_is_checked_here(
    templates: Templates,
) -> None:
    assert sorted(name for name, *_ in _functions(templates)) == HANDLERS


@pytest.mark.parametrize("handler", HANDLERS)
def test_given_the_chain_scenarios_when_a_function_calls_aws_then_its_role_grants_each_action(
    recorded: dict[str, list[RecordedCall]], templates: Templates, handler: str
) -> None:
    template, _, role = _function(templates, handler)
    calls = recorded.get(handler, [])
    assert calls, f"the scenarios never ran {handler}: it is not checked"

    missing = {
        action: sorted(operations)
        for action, operations in _needed(calls).items()
        if action not in _granted(template, role)
    }

    assert not missing, f"{role} lacks actions {handler} calls: {missing}"


@pytest.mark.parametrize("handler", HANDLERS)
def test_given_the_chain_scenarios_when_a_functions_role_is_read_then_every_grant_is_used(
    recorded: dict[str, list[RecordedCall]], templates: Templates, handler: str
) -> None:
    template, logical_id, role = _function(templates, handler)
    needed_by_role: dict[str, set[str]] = defaultdict(set)
    for name, stack, _, other in _functions(templates):
        if stack is template:
            needed_by_role[other] |= set(_needed(recorded.get(name, [])))
    reasons = {**runtime_actions(template, logical_id), **LISTED.get(handler, {})}

    unused = {
        action
        for action in _granted(template, role) - set(reasons)
        if not any(action in needed_by_role[r] for r in _sharing(template, role, action))
    }

    assert not unused, f"{role} grants actions {handler} never calls: {sorted(unused)}"
    for action in set(LISTED.get(handler, {})):
        assert action in _granted(template, role), f"listed {action} is not granted: drop it"


# ---- tag writes and events, statement by statement -------------------------------------

OUR_SOURCE = "rds-backup"


def _tag_writes(calls: Iterable[RecordedCall]) -> list[tuple[str, frozenset[str]]]:
    """(resource ARN, tag keys) of every AddTagsToResource call."""
    return [
        (str(c.params["ResourceName"]), frozenset(t["Key"] for t in c.params["Tags"]))
        for c in calls
        if c.service == "rds" and c.operation == "AddTagsToResource"
    ]


def _allows_tags(statement: dict[str, Any], arn: str, keys: frozenset[str]) -> bool:
    """Does the statement allow tagging ``arn`` with ``keys``, as far as the call says? (Its
    resource patterns and its aws:TagKeys condition; a resource tag it also requires is
    the stack's own, on snapshots the chain made.)"""
    if not any(fnmatchcase(arn, str(r)) for r in as_list(resolve(statement["Resource"]))):
        return False
    allowed = statement.get("Condition", {}).get("ForAllValues:StringEquals", {})
    return "aws:TagKeys" not in allowed or keys <= set(as_list(allowed["aws:TagKeys"]))


@pytest.mark.parametrize("handler", HANDLERS)
def test_given_the_chain_scenarios_when_a_function_tags_a_snapshot_then_a_statement_allows_its_keys_there(  # noqa: E501
    recorded: dict[str, list[RecordedCall]], templates: Templates, handler: str
) -> None:
    template, _, role = _function(templates, handler)
    statements = _statements(template, role, "rds:AddTagsToResource")

    refused = [
        (arn, sorted(keys))
        for arn, keys in _tag_writes(recorded.get(handler, []))
        if not any(_allows_tags(st, arn, keys) for st in statements)
    ]

    assert not refused, f"{role} may not tag these (AccessDenied on AWS): {refused}"


def test_given_the_chain_scenarios_when_a_statement_allows_only_some_tag_keys_then_a_function_writes_them(  # noqa: E501
    recorded: dict[str, list[RecordedCall]], templates: Templates
) -> None:
    unused = []
    for handler, template, _, role in _functions(templates):
        for statement in _statements(template, role, "rds:AddTagsToResource"):
            condition = statement.get("Condition", {}).get("ForAllValues:StringEquals", {})
            if "aws:TagKeys" not in condition:
                continue  # tag-on-create, checked with the action
            writes = [
                write
                for name, _, _, other in _functions(templates)
                if other in _sharing(template, role, "rds:AddTagsToResource")
                for write in _tag_writes(recorded.get(name, []))
            ]
            if statement.get("Sid") in LISTED_TAG_STATEMENTS:
                continue
            if not any(_allows_tags(statement, arn, keys) for arn, keys in writes):
                unused.append((handler, statement.get("Sid"), str(resolve(statement["Resource"]))))

    assert not unused, f"tag statements no recorded call needs: {unused}"


def _event_conditions(statement: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The sources and detail-types a PutEvents statement allows (empty: unconditioned)."""
    condition = statement.get("Condition", {})
    tests = {**condition.get("StringEquals", {}), **condition.get("StringEqualsIfExists", {})}
    return set(as_list(tests.get("events:source", []))), set(
        as_list(tests.get("events:detail-type", []))
    )


def _put_events(calls: Iterable[RecordedCall]) -> set[tuple[str, str]]:
    return {
        (str(e["Source"]), str(e["DetailType"]))
        for c in calls
        if c.service == "events" and c.operation == "PutEvents"
        for e in c.params["Entries"]
    }


def test_given_the_roles_when_read_then_every_put_events_statement_names_sources_and_detail_types(
    templates: Templates,
) -> None:
    unconditioned = [
        (role, where)
        for stack in ("main", "target")
        for role, where, statement in role_statements(templates[stack])
        if "events:PutEvents" in as_list(statement["Action"])
        and not all(_event_conditions(statement))
        and role != "ForwarderRole"  # RDS's own events, bus to bus (the target-region stack)
    ]

    assert not unconditioned


@pytest.mark.parametrize("handler", HANDLERS)
def test_given_the_chain_scenarios_when_a_function_puts_events_then_its_role_allows_exactly_those(
    recorded: dict[str, list[RecordedCall]], templates: Templates, handler: str
) -> None:
    template, _, role = _function(templates, handler)
    statements = _statements(template, role, "events:PutEvents")
    put = _put_events(recorded.get(handler, []))
    allowed = {
        (source, detail_type)
        for statement in statements
        for sources, detail_types in [_event_conditions(statement)]
        for source in sources
        for detail_type in detail_types
    }
    failure_record = {(source, FAILURE_DETAIL_TYPE) for source in FAILURE_SOURCES}
    listed = {(OUR_SOURCE, d) for d in LISTED_EVENTS.get(handler, {})}

    assert put <= allowed, f"{role} may not put {sorted(put - allowed)}"
    assert allowed - failure_record <= put | listed, (
        f"{role} may put events {handler} never puts: {sorted(allowed - failure_record - put)}"
    )
    assert allowed & failure_record <= (failure_record if statements else set())


def test_given_the_chain_scenarios_when_checks_are_arranged_then_the_scheduler_puts_only_theirs(
    recorded: dict[str, list[RecordedCall]], templates: Templates
) -> None:
    arranged = {
        (
            str(c.params["Target"]["EventBridgeParameters"]["Source"]),
            str(c.params["Target"]["EventBridgeParameters"]["DetailType"]),
        )
        for calls in recorded.values()
        for c in calls
        if c.service == "scheduler" and c.operation == "CreateSchedule"
    }
    [statement] = _statements(templates["main"], "CopyCheckSchedulerRole", "events:PutEvents")
    sources, detail_types = _event_conditions(statement)

    assert {(s, d) for s in sources for d in detail_types} == arranged


def test_given_the_chain_scenarios_when_a_copy_is_made_then_it_asks_for_our_ownership_tag(
    recorded: dict[str, list[RecordedCall]],
) -> None:
    # the copy statements ask for aws:RequestTag/rds-backup:stack (serverless.yml ourNewSnapshots)
    copies = [
        (name, c)
        for name, calls in recorded.items()
        for c in calls
        if c.service == "rds" and c.operation in ("CopyDBSnapshot", "CopyDBClusterSnapshot")
    ]
    untagged = [
        (name, c.operation)
        for name, c in copies
        if {"Key": "rds-backup:stack", "Value": "rds-backup-dev"} not in c.params.get("Tags", [])
    ]

    assert copies
    assert not untagged, f"copies made without rds-backup:stack: {untagged}"
