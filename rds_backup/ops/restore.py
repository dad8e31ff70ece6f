"""``rds-backup restore``: restore a database's copy in the target region, the plan first.

1. **Which copy**: the newest available copy of ours of ``--db`` in TARGET_REGION
   (``--latest``), or the one ``--snapshot`` names, which must be a copy this stack made of
   that database (ownership exact, docs/ARCHITECTURE.md principle 8): a foreign snapshot is
   refused. Its age is the RPO if the source region were lost now.
2. **The plan** (rds_backup/state/restores.py): the restore manifest written beside the copy
   (rds_backup/model/manifest.py) gives the source's class, port, storage, IAM auth and, for
   an Aurora cluster, its instances; the target region's groups come from the RESTORE_*
   settings (none travels with a snapshot). What the target region lacks (a group, a security
   group, a usable KMS key, room in the DB instances quota) is named with its fix; a missing
   manifest is not fatal: the plan says what is unknown and RDS's defaults are used.
3. **Refusals before any write**: an identifier that exists (ours or anyone's) is refused in
   one line; nothing is ever modified or deleted but what this command creates.
4. **The restore**: RestoreDBInstanceFromDBSnapshot, or RestoreDBClusterFromSnapshot and one
   CreateDBInstance per recorded Aurora instance (Aurora User Guide, "Restoring from a DB
   cluster snapshot": the cluster is restored without instances). The command follows it with
   DescribeDBInstances / DescribeDBClusters (a person at a laptop may wait; no Lambda function
   polls), then prints the endpoint, the elapsed time and what to change next.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.drills.advance import FAILED_STATES
from rds_backup.errors import StepFailed, is_code
from rds_backup.model import naming, tags
from rds_backup.model.kinds import Kind
from rds_backup.model.manifest import RestoreManifest
from rds_backup.ops.conventions import Exit
from rds_backup.ops.errors import OperatorError, UnknownValue
from rds_backup.settings import Settings
from rds_backup.state import manifests, restores
from rds_backup.state.inventory import manual_snapshots

STEP = "restore"
Print = Callable[[str], None]
# Tag on what this command restored: the copy it came from (the source's own tags, carried
# on the copy, come along).
RESTORED_FROM = f"{tags.NAMESPACE}restored-from"
# An Aurora DB cluster has at most 15 Aurora Replicas besides its writer (Aurora User Guide,
# "Amazon Aurora DB clusters"): instance ids are ``<cluster>-<n>``, n up to 16.
MEMBER_SUFFIX = len("-16")


@dataclass(frozen=True)
class Request:
    database: str
    snapshot: str | None = None  # None: the newest available copy
    identifier: str | None = None  # --as; None: derived
    dry_run: bool = False


@dataclass
class Waiter:
    """How the command follows the restore: a poll every ``poll`` seconds, for at most
    ``timeout`` seconds (injectable clock and sleep, for tests)."""

    poll: float = 30.0
    timeout: float = 4 * 3600.0
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


@dataclass
class Plan:
    restore: restores.RestorePlan
    engine: str
    manifest_uri: str
    now: datetime
    key: str = ""  # the copy's KMS key, when encrypted
    notes: list[str] = field(default_factory=list)

    @property
    def rpo(self) -> timedelta | None:
        taken = self.restore.snapshot_time
        return self.now - taken if taken else None

    @property
    def aurora(self) -> bool:
        return self.restore.kind is Kind.CLUSTER and self.engine.startswith("aurora")


# --- choosing the copy and the name ---------------------------------------------------------


def choose_copy(settings: Settings, aws: Aws, database: str, snapshot: str | None) -> tags.Owned:
    """The copy to restore, or an UnknownValue naming why there is none (252)."""
    region = settings.target_region
    found: list[tags.Owned] = []
    named: dict[str, Any] | None = None
    for raw in manual_snapshots(aws, region, STEP):
        owned = tags.owned(settings, raw, region)
        ids = {
            str(raw.get(k, "")).lower()
            for k in (
                "DBSnapshotIdentifier",
                "DBClusterSnapshotIdentifier",
                "DBSnapshotArn",
                "DBClusterSnapshotArn",
            )
        }
        if snapshot is not None and snapshot.lower() in ids:
            named = raw
            if owned is None or owned.role is not tags.Role.COPY:
                raise UnknownValue(
                    f"{snapshot} in {region} is not a copy made by stack {settings.stack_name} "
                    "(its tags do not say so): rds-backup restores only its own copies; restore "
                    "another snapshot with aws rds restore-db-instance-from-db-snapshot"
                )
            if owned.database.lower() != database.lower():
                raise UnknownValue(
                    f"{snapshot} is a copy of {owned.database}, not of {database}: pass --db "
                    f"{owned.database}, or a copy of {database}"
                )
            if not owned.available:
                raise UnknownValue(
                    f"{snapshot} is {owned.status}, not available yet: wait for it, or restore "
                    "the newest available copy (--latest)"
                )
            return owned
        if owned and owned.role is tags.Role.COPY and owned.available:
            found.append(owned)
    if snapshot is not None and named is None:
        raise UnknownValue(
            f"no manual snapshot {snapshot} in {region}: list the copies with aws rds "
            f"describe-db-snapshots --snapshot-type manual --region {region}, or use --latest"
        )
    mine = [o for o in found if o.database.lower() == database.lower()]
    if not mine:
        others = sorted({o.database for o in found})
        raise UnknownValue(
            f"no available copy of {database} in {region}"
            + (f" (copies exist of: {', '.join(others)})" if others else " (none of any database)")
        )
    return max(mine, key=lambda o: o.run)


def identifier_limit(kind: Kind, engine: str) -> int:
    """The longest identifier the restore may take: 63, a Multi-AZ DB cluster's 52, an
    Aurora cluster's 63 less its instances' ``-<n>``."""
    if kind is Kind.INSTANCE:
        return naming.DB_ID_MAX
    if engine.startswith("aurora"):
        return naming.DB_ID_MAX - MEMBER_SUFFIX
    return naming.MULTI_AZ_CLUSTER_ID_MAX


# --- the plan -------------------------------------------------------------------------------


def make_plan(settings: Settings, aws: Aws, request: Request, now: datetime) -> Plan:
    """Everything the restore will do and what the target region lacks: read-only calls. An
    identifier that exists is refused here (one line, before the plan is printed)."""
    copy = choose_copy(settings, aws, request.database, request.snapshot)
    manifest, notes = _manifest(settings, aws, copy)
    engine = str(copy.raw.get("Engine") or (manifest.engine if manifest else ""))
    limit = identifier_limit(copy.kind, engine)
    identifier = (request.identifier or naming.restore_id(copy.database, now, limit)).lower()
    if problem := naming.identifier_problem(identifier, limit):
        raise OperatorError(f"--as {identifier}: {problem} for this restore", Exit.USAGE)
    resource_tags = {**tags.user_tags(copy.tags), RESTORED_FROM: copy.identifier}
    plan = restores.build_plan(
        settings, copy, manifest, identifier, restores.restore_target(settings), resource_tags
    )
    if copy.kind is Kind.CLUSTER:
        # Our copy is in this account and region: its name serves (RestoreDBClusterFromSnapshot,
        # SnapshotIdentifier: "the name or the ARN"); moto accepts only the name.
        plan.request["SnapshotIdentifier"] = copy.identifier
    region = settings.target_region
    if exists := restores.taken(aws, region, plan, STEP):
        raise UnknownValue(
            f"{', '.join(exists)} already exists in {region}: choose another name with --as "
            "(nothing was changed)"
        )
    found = Plan(
        plan,
        engine,
        manifests.manifest_uri(settings, copy.identifier),
        now,
        key=str(copy.raw.get("KmsKeyId") or ""),
        notes=notes,
    )
    plan.missing.extend(restores.missing_in_target(settings, aws, plan, STEP))
    plan.missing.extend(_key_problems(aws, region, found.key))
    plan.missing.extend(_quota_problems(aws, region, found))
    return found


def _manifest(
    settings: Settings, aws: Aws, copy: tags.Owned
) -> tuple[RestoreManifest | None, list[str]]:
    try:
        return manifests.read_manifest(settings, aws, copy.identifier, STEP), []
    except (StepFailed, ValueError) as error:
        # Unreadable is as good as missing: the plan says what is unknown.
        return None, [f"the restore manifest could not be read ({error})"]


def _key_problems(aws: Aws, region: str, key: str) -> list[restores.Missing]:
    """The copy's KMS key must be enabled in the target region for RDS to decrypt it (RDS
    User Guide, "Encrypting Amazon RDS resources": a restore uses the snapshot's key)."""
    if not key:
        return []
    try:
        meta = aws.client("kms", region).describe_key(KeyId=key)["KeyMetadata"]
    except ClientError as error:
        if is_code(error, "NotFoundException"):
            return [
                restores.Missing(
                    f"the copy's KMS key {key} does not exist in {region}",
                    "the copy cannot be decrypted: restore a copy encrypted with a key that "
                    "exists there",
                )
            ]
        return [
            restores.Missing(
                f"could not check the copy's KMS key {key} ({error.response['Error']['Code']})",
                "the caller needs kms:DescribeKey, and kms:CreateGrant for RDS, on that key",
                blocking=False,
            )
        ]
    state = str(meta.get("KeyState", ""))
    if state != "Enabled":
        return [
            restores.Missing(
                f"the copy's KMS key {key} is {state} in {region}",
                f"aws kms enable-key --key-id {key} --region {region} (a key pending deletion: "
                "aws kms cancel-key-deletion first)",
            )
        ]
    return []


def _quota_problems(aws: Aws, region: str, plan: Plan) -> list[restores.Missing]:
    """Room in the region's DB instances quota ("Quotas and constraints for Amazon RDS")."""
    try:
        usage = restores.instance_usage(aws, region, STEP)
    except StepFailed:
        return []  # an account that does not report it: RDS says so at the restore
    if usage is None:
        return []
    used, most = usage
    # A Multi-AZ DB cluster has one writer and two readers (RDS User Guide, "Multi-AZ DB
    # cluster deployments"); an Aurora cluster the instances the plan creates.
    needed = len(plan.restore.members) if plan.restore.kind is Kind.CLUSTER else 1
    if plan.restore.kind is Kind.CLUSTER and not plan.aurora:
        needed = 3
    if used + needed <= most:
        return []
    return [
        restores.Missing(
            f"the DB instances quota of {region} is full: {used} of {most} used, the restore "
            f"needs {needed}",
            "request an increase (Service Quotas, Amazon RDS, 'DB instances') or delete "
            f"unused instances in {region}",
        )
    ]


# --- what a person reads ----------------------------------------------------------------------


def render_plan(settings: Settings, plan: Plan, out: Print) -> None:
    restore = plan.restore
    copy, manifest = restore.copy, restore.manifest
    what = _what(plan)
    out(f"Restore plan for {restore.database} ({what}) in {settings.target_region}")
    taken = restore.snapshot_time
    out(f"  copy          {copy.identifier} ({copy.status}), taken {_when(taken)}")
    if plan.rpo is not None:
        out(
            f"  age (RPO)     {_duration(plan.rpo)}: what was written after {_when(taken)} is "
            f"lost if {settings.source_region} is lost now"
        )
    out(f"  restore as    {restore.identifier}")
    if manifest is None:
        out(f"  manifest      none at {plan.manifest_uri}")
        out(
            "                unknown: the source's instance class, port, storage type, IAM "
            "auth, groups and instances; RDS's defaults and the snapshot's are used"
        )
    else:
        out(f"  manifest      {plan.manifest_uri}")
        out(f"  recorded      {_recorded(manifest)}")
        out(f"  source groups ({manifest.source_region}) {_source_groups(manifest)}")
    out(f"  target groups ({settings.target_region}):")
    for label, value in _target_groups(restore.request):
        out(f"    {label:<26} {value}")
    if plan.key:
        out(f"  KMS key       {plan.key}")
    for member in restore.members:
        out(f"  instance      {member['DBInstanceIdentifier']} {member['DBInstanceClass']}")
    for note in plan.notes:
        out(f"  note          {note}")
    blocking = [m for m in restore.missing if m.blocking]
    out(f"  missing in {settings.target_region}: {len(blocking) or 'nothing'}")
    for missing in restore.missing:
        mark = "MISSING" if missing.blocking else "note"
        out(f"    {mark}: {missing.what}")
        out(f"      fix: {missing.fix}")


def _what(plan: Plan) -> str:
    if plan.restore.kind is Kind.INSTANCE:
        return f"DB instance, {plan.engine}"
    return f"{'Aurora' if plan.aurora else 'Multi-AZ'} DB cluster, {plan.engine}"


def _recorded(m: RestoreManifest) -> str:
    parts = [f"{m.engine} {m.engine_version}".strip()]
    if m.instance_class:
        parts.append(m.instance_class)
    if m.storage_type:
        size = f" {m.allocated_storage} GiB" if m.allocated_storage else ""
        iops = f" {m.iops} IOPS" if m.iops else ""
        parts.append(f"{m.storage_type}{size}{iops}")
    if m.port:
        parts.append(f"port {m.port}")
    parts.append("Multi-AZ" if m.multi_az else "single-AZ")
    parts.append(f"IAM auth {'on' if m.iam_auth else 'off'}")
    parts.append("encrypted" if m.storage_encrypted else "not encrypted")
    if m.members:
        parts.append(
            "instances "
            + ", ".join(
                f"{x.identifier} {x.instance_class}{' (writer)' if x.writer else ''}"
                for x in m.members
            )
        )
    return ", ".join(parts)


def _source_groups(m: RestoreManifest) -> str:
    parts = [
        f"{label} {value}"
        for label, value in (
            ("parameter", m.parameter_group),
            ("cluster parameter", m.cluster_parameter_group),
            ("option", m.option_group),
            ("subnet", m.subnet_group),
        )
        if value
    ]
    if m.security_groups:
        parts.append(f"security groups {', '.join(m.security_groups)}")
    return "; ".join(parts) or "none recorded"


def _target_groups(request: Mapping[str, Any]) -> list[tuple[str, str]]:
    groups = [
        ("DBSubnetGroupName", "DB subnet group", "RESTORE_SUBNET_GROUP", "the default VPC's"),
        (
            "VpcSecurityGroupIds",
            "security groups",
            "RESTORE_SECURITY_GROUP_IDS",
            "the VPC's default",
        ),
        (
            "DBParameterGroupName",
            "DB parameter group",
            "RESTORE_PARAMETER_GROUP",
            "the engine's default",
        ),
        (
            "DBClusterParameterGroupName",
            "DB cluster parameter group",
            "RESTORE_CLUSTER_PARAMETER_GROUP",
            "the engine's default",
        ),
        ("OptionGroupName", "option group", "RESTORE_OPTION_GROUP", "the engine's default"),
    ]
    cluster = "DBClusterIdentifier" in request
    rows = []
    for key, label, setting, default in groups:
        if (key == "DBParameterGroupName" and cluster) or (
            key == "DBClusterParameterGroupName" and not cluster
        ):
            continue
        value = request.get(key)
        shown = ", ".join(value) if isinstance(value, list) else str(value or "")
        rows.append((label, f"{shown} ({setting})" if shown else f"{default} ({setting} unset)"))
    return rows


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else "(unknown)"


def _duration(span: timedelta) -> str:
    seconds = max(int(span.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {minutes} min"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s"


# --- the restore ------------------------------------------------------------------------------


def run_restore(
    settings: Settings, aws: Aws, request: Request, out: Print, waiter: Waiter | None = None
) -> dict[str, Any]:
    """The plan, then (unless a dry run or something blocking is missing) the restore,
    followed until available. The summary ``--output json`` prints."""
    waiter = waiter or Waiter()
    plan = make_plan(settings, aws, request, clock.now())
    render_plan(settings, plan, out)
    summary = _summary(settings, plan, request)
    if plan.restore.blocked:
        count = sum(m.blocking for m in plan.restore.missing)
        summary["error"] = (
            f"not restored: {settings.target_region} lacks {count} thing(s) the restore needs "
            "(MISSING above, each with its fix); nothing was changed"
        )
        return summary
    if request.dry_run:
        out("dry run: nothing was changed (run it again without --dry-run to restore)")
        return summary
    started = waiter.monotonic()
    outcome = restores.start_restore(settings, aws, plan.restore, STEP, exclusive=True)
    if outcome == "exists":  # created by someone else since the plan was made
        raise UnknownValue(
            f"{plan.restore.identifier} already exists in {settings.target_region}: choose "
            "another name with --as"
        )
    out(f"restoring {plan.restore.identifier} from {plan.restore.copy.identifier} ...")
    summary["restored"] = True
    try:
        record = _follow(settings, aws, plan, out, waiter, started)
    except KeyboardInterrupt as interrupted:
        raise OperatorError(
            f"interrupted; the restore of {plan.restore.identifier} goes on in RDS: follow it "
            f"with {_describe_command(settings, plan)}",
            Exit.INTERRUPTED,
        ) from interrupted
    elapsed = waiter.monotonic() - started
    summary.update(_endpoint(record, plan))
    summary["elapsed_seconds"] = round(elapsed, 1)
    summary["next"] = next_steps(settings, plan, summary)
    out(
        f"available after {_duration(timedelta(seconds=elapsed))}: endpoint "
        f"{summary['endpoint']}:{summary['port']}"
        + (f" (readers: {summary['reader_endpoint']})" if summary.get("reader_endpoint") else "")
    )
    out("next:")
    for number, line in enumerate(summary["next"], start=1):
        out(f"  {number}. {line}")
    return summary


def _follow(
    settings: Settings, aws: Aws, plan: Plan, out: Print, waiter: Waiter, started: float
) -> dict[str, Any]:
    """Poll until the database (and a cluster's instances) are available; a line whenever a
    status changes. A status RDS does not recover from ends it (RDS User Guide, "Viewing
    Amazon RDS DB instance status")."""
    region, restore = settings.target_region, plan.restore
    last = ""
    while True:
        record = restores.describe_database(aws, region, restore.kind, restore.identifier, STEP)
        if record is None:
            raise OperatorError(
                f"{restore.identifier} vanished from {region} while restoring: see its events "
                f"(aws rds describe-events --source-identifier {restore.identifier} --region "
                f"{region})"
            )
        statuses = {restore.identifier: _status(record)}
        if restore.kind is Kind.CLUSTER:
            statuses.update(_members(aws, region, restore.identifier))
        line = ", ".join(f"{name} {status}" for name, status in statuses.items())
        elapsed = waiter.monotonic() - started
        if line != last:
            out(f"  {_duration(timedelta(seconds=elapsed)):>14}  {line}")
            last = line
        if failed := {n: s for n, s in statuses.items() if s in FAILED_STATES}:
            raise OperatorError(
                f"the restore ended in {', '.join(f'{n} {s}' for n, s in failed.items())}: see "
                f"its events (aws rds describe-events --source-identifier {restore.identifier} "
                f"--region {region}); {restore.identifier} is left as it is"
            )
        expected = len(restore.members) + 1
        if all(s == "available" for s in statuses.values()) and len(statuses) >= expected:
            return record
        if elapsed >= waiter.timeout:
            raise OperatorError(
                f"{restore.identifier} still {line} after {_duration(timedelta(seconds=elapsed))};"
                f" the restore goes on in RDS: follow it with {_describe_command(settings, plan)}"
            )
        waiter.sleep(waiter.poll)


def _status(record: Mapping[str, Any]) -> str:
    return str(record.get("DBInstanceStatus") or record.get("Status") or "").lower()


def _members(aws: Aws, region: str, cluster: str) -> dict[str, str]:
    try:
        answer = aws.rds(region).describe_db_instances(
            Filters=[{"Name": "db-cluster-id", "Values": [cluster]}]
        )
    except (ClientError, BotoCoreError):
        return {}
    return {str(i["DBInstanceIdentifier"]): _status(i) for i in answer.get("DBInstances", [])}


def _describe_command(settings: Settings, plan: Plan) -> str:
    kind = "cluster" if plan.restore.kind is Kind.CLUSTER else "instance"
    return (
        f"aws rds describe-db-{kind}s --db-{kind}-identifier {plan.restore.identifier} "
        f"--region {settings.target_region}"
    )


def _endpoint(record: Mapping[str, Any], plan: Plan) -> dict[str, Any]:
    if plan.restore.kind is Kind.CLUSTER:
        return {
            "endpoint": record.get("Endpoint"),
            "reader_endpoint": record.get("ReaderEndpoint"),
            "port": record.get("Port"),
        }
    endpoint = record.get("Endpoint") or {}
    return {"endpoint": endpoint.get("Address"), "port": endpoint.get("Port")}


def next_steps(settings: Settings, plan: Plan, summary: Mapping[str, Any]) -> list[str]:
    """What a person changes after the restore (docs/RECOVERY.md, "The day the source region
    is lost")."""
    restore, manifest = plan.restore, plan.restore.manifest
    region = settings.target_region
    kind = "cluster" if restore.kind is Kind.CLUSTER else "instance"
    user = manifest.master_username if manifest and manifest.master_username else "the master user"
    groups = restore.request.get("VpcSecurityGroupIds") or ["the VPC's default security group"]
    steps = [
        f"DNS: point the name the applications use for {restore.database} (a CNAME you "
        f"control, or the connection strings) at {summary.get('endpoint')}, port "
        f"{summary.get('port')}",
        f"secrets: {restore.identifier} keeps the source's {user} and its password as of the "
        "snapshot; update the secret the applications read, or let RDS manage a new one: aws "
        f"rds modify-db-{kind} --db-{kind}-identifier {restore.identifier} "
        f"--manage-master-user-password --apply-immediately --region {region}",
        f"application config: region {region}, and let the applications' security groups "
        f"reach the port through {', '.join(groups)}",
    ]
    defaults = [m.what for m in restore.missing if not m.blocking and "default" in m.what]
    if defaults:
        steps.append("groups: " + "; ".join(defaults))
    steps.append(
        "make it production again: backup retention, deletion protection, Multi-AZ if the "
        "source had it, monitoring and alarms"
    )
    steps.append(
        f"back it up from {region}: redeploy rds-backup with SOURCE_REGION={region} and a new "
        "TARGET_REGION (docs/RECOVERY.md)"
    )
    return steps


def _summary(settings: Settings, plan: Plan, request: Request) -> dict[str, Any]:
    restore = plan.restore
    manifest = restore.manifest
    rpo = plan.rpo
    return {
        "database": restore.database,
        "kind": restore.kind.value,
        "engine": plan.engine,
        "region": settings.target_region,
        "snapshot": {
            "id": restore.copy.identifier,
            "arn": restore.copy.arn,
            "time": restore.snapshot_time.isoformat() if restore.snapshot_time else None,
            "status": restore.copy.status,
        },
        "rpo_seconds": round(rpo.total_seconds()) if rpo is not None else None,
        "identifier": restore.identifier,
        "manifest": plan.manifest_uri if manifest else None,
        "recorded": manifest.model_dump(mode="json") if manifest else None,
        "groups": dict(_target_groups(restore.request)),
        "instances": [
            {"identifier": m["DBInstanceIdentifier"], "class": m["DBInstanceClass"]}
            for m in restore.members
        ],
        "missing": [
            {"what": m.what, "fix": m.fix, "blocking": m.blocking} for m in restore.missing
        ],
        "notes": plan.notes,
        "dry_run": request.dry_run,
        "restored": False,
    }
