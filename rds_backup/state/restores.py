"""Restoring a copy in the target region: the plan (which copy, the request built from its
restore manifest and the target region's groups, what is missing there), starting it, and
the RDS calls a drill makes on what it restored. Shared by ``rds-backup restore``
(rds_backup/ops/restore.py) and the restore drills (rds_backup/drills/).

- A DB instance: ``RestoreDBInstanceFromDBSnapshot`` with the copy's ARN, the instance class,
  port, storage type and IAM authentication the manifest recorded, and the target region's
  subnet group, security groups, parameter and option groups from settings (none of them
  travels with a snapshot; RDS API Reference, RestoreDBInstanceFromDBSnapshot).
- A DB cluster: ``RestoreDBClusterFromSnapshot`` makes a cluster with no instances (Aurora
  User Guide, "Restoring from a DB cluster snapshot"), then one ``CreateDBInstance`` with
  ``DBClusterIdentifier`` per recorded instance (Aurora); a Multi-AZ DB cluster gets its
  instances from RDS and needs ``DBClusterInstanceClass`` instead.
- Credentials: a drill turns on RDS's management of the master user password
  (``ManageMasterUserPassword`` with ``ApplyImmediately``, ModifyDBInstance/ModifyDBCluster):
  RDS generates a new password and keeps it in a Secrets Manager secret of its own, which
  RDS deletes with the instance (RDS User Guide, "Password management with Amazon RDS and
  AWS Secrets Manager"). The production password is never read, and the drill's never
  leaves AWS: the probe reads it from that secret inside the drill network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.model import tags
from rds_backup.model.kinds import Kind
from rds_backup.model.manifest import RestoreManifest
from rds_backup.settings import Settings
from rds_backup.state.inventory import manual_snapshots

INSTANCE_NOT_FOUND = ("DBInstanceNotFound", "DBInstanceNotFoundFault")
CLUSTER_NOT_FOUND = ("DBClusterNotFoundFault", "DBClusterNotFound")
# Storage types whose IOPS a restore may set (gp3's depend on its size: left to RDS).
PROVISIONED_IOPS = frozenset({"io1", "io2"})


@dataclass(frozen=True)
class Target:
    """What a restore uses in the target region, besides what the manifest recorded."""

    subnet_group: str | None
    security_groups: tuple[str, ...] = ()
    parameter_group: str | None = None
    cluster_parameter_group: str | None = None
    option_group: str | None = None
    instance_class: str | None = None  # None: the manifest's
    cluster_instance_class: str | None = None
    drill: bool = False  # small, private, single-AZ, no deletion protection, one instance


def restore_target(settings: Settings) -> Target:
    """``rds-backup restore``: the RESTORE_* groups, the source's own shape."""
    return Target(
        subnet_group=settings.restore_subnet_group,
        security_groups=tuple(settings.restore_security_group_ids),
        parameter_group=settings.restore_parameter_group,
        cluster_parameter_group=settings.restore_cluster_parameter_group,
        option_group=settings.option_group_in_target,
    )


def drill_target(settings: Settings) -> Target:
    """A drill: the drill network, the drill's small classes."""
    return Target(
        subnet_group=settings.drill_subnet,
        security_groups=tuple(
            settings.drill_security_group_ids or settings.restore_security_group_ids
        ),
        parameter_group=settings.restore_parameter_group,
        cluster_parameter_group=settings.restore_cluster_parameter_group,
        option_group=settings.option_group_in_target,
        instance_class=settings.drill_instance_class,
        cluster_instance_class=settings.drill_cluster_instance_class,
        drill=True,
    )


@dataclass(frozen=True)
class Missing:
    """Something the target region lacks for the restore, and the fix."""

    what: str
    fix: str
    blocking: bool = True  # False: the restore works, differently from the source


@dataclass
class RestorePlan:
    database: str
    kind: Kind
    identifier: str
    copy: tags.Owned
    manifest: RestoreManifest | None
    request: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)

    @property
    def snapshot_time(self) -> datetime | None:
        for key in ("OriginalSnapshotCreateTime", "SnapshotCreateTime"):
            value = self.copy.raw.get(key)
            if isinstance(value, datetime):
                return value
        return self.manifest.taken_at if self.manifest else None

    @property
    def blocked(self) -> bool:
        return any(m.blocking for m in self.missing)


def copies_of(settings: Settings, aws: Aws, database: str, step: str) -> list[tags.Owned]:
    """Our available copies of ``database`` in the target region, newest first."""
    found = []
    for raw in manual_snapshots(aws, settings.target_region, step):
        owned = tags.owned(settings, raw, settings.target_region)
        if (
            owned is not None
            and owned.role is tags.Role.COPY
            and owned.database.lower() == database.lower()
            and owned.available
        ):
            found.append(owned)
    return sorted(found, key=lambda o: o.run, reverse=True)


def build_plan(
    settings: Settings,
    copy: tags.Owned,
    manifest: RestoreManifest | None,
    identifier: str,
    target: Target,
    resource_tags: Mapping[str, str],
) -> RestorePlan:
    """The restore of ``copy`` as ``identifier`` (no AWS call)."""
    plan = RestorePlan(copy.database, copy.kind, identifier, copy, manifest, {})
    if manifest is None:
        plan.missing.append(
            Missing(
                "no restore manifest for this snapshot (it predates manifests, or writing it "
                "failed): the instance class, port and groups of the source are unknown",
                "pass them to the restore by hand, or restore a newer copy",
                blocking=False,
            )
        )
    if not target.subnet_group:
        # Without a DB subnet group RDS places the instance in the region's default VPC
        # (RDS User Guide, "Working with a DB instance in a VPC"), where the applications
        # may not reach it; a region without a default VPC refuses the restore.
        plan.missing.append(
            Missing(
                f"no DB subnet group for {settings.target_region} is configured "
                "(RESTORE_SUBNET_GROUP): RDS restores into that region's default VPC, if it "
                "has one",
                "set RESTORE_SUBNET_GROUP (DRILL_SUBNET_GROUP for drills) to a DB subnet "
                f"group in {settings.target_region} that the applications reach",
                blocking=False,
            )
        )
    tag_list = tags.as_list(dict(resource_tags))
    if copy.kind is Kind.CLUSTER:
        plan.request = _cluster_request(settings, copy, manifest, identifier, target, tag_list)
        plan.members = _members(copy, manifest, identifier, target, tag_list)
    else:
        plan.request = _instance_request(copy, manifest, identifier, target, tag_list)
    _note_groups(settings, plan, target)
    return plan


def _instance_request(
    copy: tags.Owned,
    manifest: RestoreManifest | None,
    identifier: str,
    target: Target,
    tag_list: list[Any],
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "DBInstanceIdentifier": identifier,
        "DBSnapshotIdentifier": copy.arn,
        "Tags": tag_list,
        "PubliclyAccessible": False
        if target.drill
        else bool(manifest and manifest.publicly_accessible),
        "MultiAZ": False if target.drill else bool(manifest and manifest.multi_az),
        "DeletionProtection": False
        if target.drill
        else bool(manifest and manifest.deletion_protection),
    }
    instance_class = target.instance_class or (manifest.instance_class if manifest else "")
    if instance_class:
        request["DBInstanceClass"] = instance_class
    if target.subnet_group:
        request["DBSubnetGroupName"] = target.subnet_group
    if target.security_groups:
        request["VpcSecurityGroupIds"] = list(target.security_groups)
    if target.parameter_group:
        request["DBParameterGroupName"] = target.parameter_group
    if target.option_group:
        request["OptionGroupName"] = target.option_group
    if manifest is not None:
        if manifest.port:
            request["Port"] = manifest.port
        if manifest.storage_type:
            request["StorageType"] = manifest.storage_type
        if manifest.storage_type in PROVISIONED_IOPS and manifest.iops:
            request["Iops"] = manifest.iops
        request["EnableIAMDatabaseAuthentication"] = manifest.iam_auth
    return request


def _cluster_request(
    settings: Settings,
    copy: tags.Owned,
    manifest: RestoreManifest | None,
    identifier: str,
    target: Target,
    tag_list: list[Any],
) -> dict[str, Any]:
    engine = str(copy.raw.get("Engine") or (manifest.engine if manifest else ""))
    request: dict[str, Any] = {
        "DBClusterIdentifier": identifier,
        "SnapshotIdentifier": copy.arn,
        "Engine": engine,
        "Tags": tag_list,
        "DeletionProtection": False
        if target.drill
        else bool(manifest and manifest.deletion_protection),
    }
    version = str(copy.raw.get("EngineVersion") or (manifest.engine_version if manifest else ""))
    if version:
        request["EngineVersion"] = version
    if target.subnet_group:
        request["DBSubnetGroupName"] = target.subnet_group
    if target.security_groups:
        request["VpcSecurityGroupIds"] = list(target.security_groups)
    if target.cluster_parameter_group:
        request["DBClusterParameterGroupName"] = target.cluster_parameter_group
    if manifest is not None:
        if manifest.port:
            request["Port"] = manifest.port
        request["EnableIAMDatabaseAuthentication"] = manifest.iam_auth
    if not engine.startswith("aurora"):
        # A Multi-AZ DB cluster: RDS makes its instances; the class is the cluster's.
        cluster_class = target.cluster_instance_class if target.drill else None
        cluster_class = cluster_class or (manifest.instance_class if manifest else "")
        if cluster_class:
            request["DBClusterInstanceClass"] = cluster_class
        if manifest is not None and manifest.storage_type:
            request["StorageType"] = manifest.storage_type
            if manifest.iops:
                request["Iops"] = manifest.iops
        request["PubliclyAccessible"] = (
            False if target.drill else manifest is not None and manifest.publicly_accessible
        )
    del settings
    return request


def _members(
    copy: tags.Owned,
    manifest: RestoreManifest | None,
    identifier: str,
    target: Target,
    tag_list: list[Any],
) -> list[dict[str, Any]]:
    """The CreateDBInstance requests of an Aurora cluster's instances: every recorded one,
    writer first, with its class (a restore) or the drill's small class (a drill: the same
    topology, proven restorable, at the drill's cost); one writer when none was recorded."""
    engine = str(copy.raw.get("Engine") or (manifest.engine if manifest else ""))
    if not engine.startswith("aurora"):
        return []
    recorded = list(manifest.members) if manifest else []
    if not recorded:
        size = target.cluster_instance_class if target.drill else None
        return [
            _member(identifier, f"{identifier}-1", engine, size or "db.r6g.large", tag_list, target)
        ]
    return [
        _member(
            identifier,
            f"{identifier}-{number}",
            engine,
            (target.cluster_instance_class if target.drill else None)
            or member.instance_class
            or "db.r6g.large",
            tag_list,
            target,
            member.promotion_tier,
        )
        for number, member in enumerate(recorded, start=1)
    ]


def _member(
    cluster: str,
    identifier: str,
    engine: str,
    instance_class: str,
    tag_list: list[Any],
    target: Target,
    promotion_tier: int | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "DBInstanceIdentifier": identifier,
        "DBClusterIdentifier": cluster,
        "Engine": engine,
        "DBInstanceClass": instance_class,
        "PubliclyAccessible": False,
        "Tags": tag_list,
    }
    if promotion_tier is not None:
        request["PromotionTier"] = promotion_tier
    del target
    return request


def _note_groups(settings: Settings, plan: RestorePlan, target: Target) -> None:
    """Groups the source used that the target region will not have under their names."""
    manifest = plan.manifest
    if manifest is None:
        return
    used = [
        (
            "DB parameter group",
            manifest.parameter_group,
            target.parameter_group,
            "RESTORE_PARAMETER_GROUP",
        ),
        (
            "DB cluster parameter group",
            manifest.cluster_parameter_group,
            target.cluster_parameter_group,
            "RESTORE_CLUSTER_PARAMETER_GROUP",
        ),
        ("option group", manifest.option_group, target.option_group, "RESTORE_OPTION_GROUP"),
    ]
    for what, source_name, target_name, setting in used:
        if source_name and not source_name.startswith("default") and not target_name:
            plan.missing.append(
                Missing(
                    f"the source used the {what} {source_name!r}; none is configured for "
                    f"{settings.target_region}, so RDS uses the engine's default one",
                    f"create an equivalent {what} in {settings.target_region} and set {setting}",
                    blocking=False,
                )
            )


@dataclass(frozen=True)
class Wanted:
    """A group a restore names in the target region, and the setting that names it."""

    kind: str  # a key of GROUP_LOOKUPS, or "security group"
    name: str
    setting: str


# How each group is looked up (read-only): operation, its argument, the answer's list. A name
# that does not exist is a ``*NotFound*`` error (RDS API Reference, DescribeDBSubnetGroups:
# DBSubnetGroupNotFoundFault; DescribeDBParameterGroups: DBParameterGroupNotFound;
# DescribeOptionGroups: OptionGroupNotFoundFault); an empty list counts the same (moto answers
# DescribeDBParameterGroups for an unknown name with none, docs/LOCAL_AWS.md).
GROUP_LOOKUPS = {
    "DB subnet group": ("describe_db_subnet_groups", "DBSubnetGroupName", "DBSubnetGroups"),
    "DB parameter group": (
        "describe_db_parameter_groups",
        "DBParameterGroupName",
        "DBParameterGroups",
    ),
    "DB cluster parameter group": (
        "describe_db_cluster_parameter_groups",
        "DBClusterParameterGroupName",
        "DBClusterParameterGroups",
    ),
    "option group": ("describe_option_groups", "OptionGroupName", "OptionGroupsList"),
}
SECURITY_GROUP = "security group"


def wanted_by(plan: RestorePlan, drill: bool = False) -> list[Wanted]:
    """The groups ``plan``'s requests name in the target region, with their settings."""
    subnet = "DRILL_SUBNET_GROUP (else RESTORE_SUBNET_GROUP)" if drill else "RESTORE_SUBNET_GROUP"
    security = (
        "DRILL_SECURITY_GROUP_IDS (else RESTORE_SECURITY_GROUP_IDS)"
        if drill
        else "RESTORE_SECURITY_GROUP_IDS"
    )
    request = plan.request
    found = [
        Wanted(kind, str(request[key]), setting)
        for key, kind, setting in (
            ("DBSubnetGroupName", "DB subnet group", subnet),
            ("DBParameterGroupName", "DB parameter group", "RESTORE_PARAMETER_GROUP"),
            (
                "DBClusterParameterGroupName",
                "DB cluster parameter group",
                "RESTORE_CLUSTER_PARAMETER_GROUP",
            ),
            ("OptionGroupName", "option group", "RESTORE_OPTION_GROUP (else TARGET_OPTION_GROUP)"),
        )
        if request.get(key)
    ]
    found += [
        Wanted(SECURITY_GROUP, str(g), security) for g in request.get("VpcSecurityGroupIds") or []
    ]
    return found


def missing_in_target(
    settings: Settings, aws: Aws, plan: RestorePlan, step: str, drill: bool = False
) -> list[Missing]:
    """What the target region lacks of the groups ``plan`` names (read-only calls)."""
    return missing_groups(aws, settings.target_region, wanted_by(plan, drill), step)


def missing_groups(aws: Aws, region: str, wanted: Sequence[Wanted], step: str) -> list[Missing]:
    """Each wanted group that does not exist in ``region``, with its fix; security groups
    outside the VPC of the DB subnet group named with them, too (a DB instance's security
    groups must be of its subnet group's VPC: RDS User Guide, "Working with a DB instance in
    a VPC")."""
    rds = aws.rds(region)
    found: list[Missing] = []
    vpcs: dict[str, str] = {}  # subnet group -> its VPC
    for item in wanted:
        if item.kind == SECURITY_GROUP:
            continue
        operation, argument, key = GROUP_LOOKUPS[item.kind]
        try:
            answer = getattr(rds, operation)(**{argument: item.name})
        except ClientError as error:
            if "NotFound" not in str(error.response.get("Error", {}).get("Code", "")):
                raise step_failed(step, error, region=region) from error
            answer = {}
        except BotoCoreError as error:
            raise step_failed(step, error, region=region) from error
        groups = answer.get(key) or []
        if not groups:
            found.append(
                Missing(
                    f"the {item.kind} {item.name!r} ({item.setting}) does not exist in {region}",
                    f"create it in {region} ({_create_hint(item.kind, item.name, region)}), or set "
                    f"{item.setting.split(' ', 1)[0]} to one that exists there",
                )
            )
        elif item.kind == "DB subnet group" and groups[0].get("VpcId"):
            vpcs[item.name] = str(groups[0]["VpcId"])
    security = [item for item in wanted if item.kind == SECURITY_GROUP]
    known = _security_groups(aws, region, [item.name for item in security], step)
    for item in security:
        vpc = known.get(item.name)
        if vpc is None:
            found.append(
                Missing(
                    f"the security group {item.name} ({item.setting}) does not exist in {region}",
                    f"set {item.setting.split(' ', 1)[0]} to security groups of the DB subnet "
                    f"group's VPC in {region} (aws ec2 describe-security-groups --region "
                    f"{region})",
                )
            )
        elif vpcs and vpc not in vpcs.values():
            subnet = ", ".join(f"{name} is in {v}" for name, v in vpcs.items())
            found.append(
                Missing(
                    f"the security group {item.name} ({item.setting}) is in {vpc}, but the DB "
                    f"subnet group {subnet}",
                    f"set {item.setting.split(' ', 1)[0]} to security groups of that VPC",
                )
            )
    return found


def _create_hint(kind: str, name: str, region: str) -> str:
    commands = {
        "DB subnet group": f"aws rds create-db-subnet-group --db-subnet-group-name {name} "
        f"--db-subnet-group-description ... --subnet-ids SUBNET SUBNET --region {region}, "
        "subnets in at least two Availability Zones",
        "DB parameter group": f"aws rds create-db-parameter-group --db-parameter-group-name {name} "
        f"--db-parameter-group-family FAMILY --description ... --region {region}, then the "
        "source's parameters",
        "DB cluster parameter group": "aws rds create-db-cluster-parameter-group "
        f"--db-cluster-parameter-group-name {name} --db-parameter-group-family FAMILY "
        f"--description ... --region {region}",
        "option group": f"aws rds create-option-group --option-group-name {name} --engine-name "
        f"ENGINE --major-engine-version VERSION --option-group-description ... --region {region}",
    }
    return commands[kind]


def taken(aws: Aws, region: str, plan: RestorePlan, step: str) -> list[str]:
    """The identifiers ``plan`` would create that already exist in ``region``: the DB
    instance or cluster, and a cluster's instances."""
    found = []
    if describe_database(aws, region, plan.kind, plan.identifier, step) is not None:
        kind = "DB cluster" if plan.kind is Kind.CLUSTER else "DB instance"
        found.append(f"{kind} {plan.identifier}")
    for member in plan.members:
        name = str(member["DBInstanceIdentifier"])
        if describe_database(aws, region, Kind.INSTANCE, name, step) is not None:
            found.append(f"DB instance {name}")
    return found


def _security_groups(aws: Aws, region: str, groups: Sequence[str], step: str) -> dict[str, str]:
    """Which of ``groups`` exist in ``region``: group id -> its VPC id."""
    ec2 = aws.client("ec2", region)
    found: dict[str, str] = {}
    for group in groups:
        try:
            answer = ec2.describe_security_groups(GroupIds=[group])
        except ClientError as error:
            if "NotFound" in str(error.response.get("Error", {}).get("Code", "")):
                continue
            raise step_failed(step, error, region=region) from error
        except BotoCoreError as error:
            raise step_failed(step, error, region=region) from error
        found.update(
            {str(g.get("GroupId", "")): str(g.get("VpcId", "")) for g in answer["SecurityGroups"]}
        )
    return found


def start_restore(
    settings: Settings, aws: Aws, plan: RestorePlan, step: str, *, exclusive: bool = False
) -> str:
    """Start the restore: "started", or "exists" when the identifier already exists (a
    duplicate of the same start: derived ids make a second start the work done). With
    ``exclusive`` (``rds-backup restore``: a name a person chose) an existing one is someone
    else's: "exists" is answered at once and none of a cluster's instances is created in it."""
    rds = aws.rds(settings.target_region)
    already = (
        ("DBClusterAlreadyExistsFault",)
        if plan.kind is Kind.CLUSTER
        else (
            "DBInstanceAlreadyExists",
            "DBInstanceAlreadyExistsFault",
        )
    )
    outcome = "started"
    try:
        if plan.kind is Kind.CLUSTER:
            rds.restore_db_cluster_from_snapshot(**plan.request)
        else:
            rds.restore_db_instance_from_db_snapshot(**plan.request)
    except ClientError as error:
        if not is_code(error, *already):
            raise _failed(settings, plan, step, error) from error
        outcome = "exists"
        if exclusive:
            return outcome
    except BotoCoreError as error:
        raise _failed(settings, plan, step, error) from error
    for member in plan.members:
        try:
            rds.create_db_instance(**member)
        except ClientError as error:
            if not is_code(error, "DBInstanceAlreadyExists", "DBInstanceAlreadyExistsFault"):
                raise _failed(settings, plan, step, error) from error
        except BotoCoreError as error:
            raise _failed(settings, plan, step, error) from error
    return outcome


def _failed(
    settings: Settings, plan: RestorePlan, step: str, error: ClientError | BotoCoreError
) -> Exception:
    return step_failed(
        step,
        error,
        database=plan.database,
        snapshot=plan.copy.identifier,
        region=settings.target_region,
        key=str(plan.copy.raw.get("KmsKeyId") or "") or None,
    )


def describe_database(
    aws: Aws, region: str, kind: Kind, identifier: str, step: str
) -> dict[str, Any] | None:
    """The DB instance or DB cluster as RDS describes it (with TagList), or None if gone."""
    rds = aws.rds(region)
    try:
        found: list[Any]
        if kind is Kind.CLUSTER:
            found = list(rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"])
        else:
            answer = rds.describe_db_instances(DBInstanceIdentifier=identifier)
            found = list(answer["DBInstances"])
    except ClientError as error:
        if is_code(error, *INSTANCE_NOT_FOUND, *CLUSTER_NOT_FOUND):
            return None
        raise step_failed(step, error, region=region) from error
    except BotoCoreError as error:
        raise step_failed(step, error, region=region) from error
    return dict(found[0]) if found else None


def manage_password(aws: Aws, region: str, kind: Kind, identifier: str, step: str) -> None:
    """Turn on RDS's management of the master password: a new one, in RDS's own secret."""
    rds = aws.rds(region)
    try:
        if kind is Kind.CLUSTER:
            rds.modify_db_cluster(
                DBClusterIdentifier=identifier, ManageMasterUserPassword=True, ApplyImmediately=True
            )
        else:
            rds.modify_db_instance(
                DBInstanceIdentifier=identifier,
                ManageMasterUserPassword=True,
                ApplyImmediately=True,
            )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=region) from error


def delete_database(
    aws: Aws, region: str, kind: Kind, identifier: str, members: Sequence[str], step: str
) -> None:
    """Delete what a drill restored, without a final snapshot and without keeping automated
    backups (the drill made nothing worth keeping). Gone already is done."""
    rds = aws.rds(region)
    try:
        for member in members:
            try:
                rds.delete_db_instance(
                    DBInstanceIdentifier=member, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
                )
            except ClientError as error:
                if not is_code(
                    error,
                    *INSTANCE_NOT_FOUND,
                    "InvalidDBInstanceState",
                    "InvalidDBInstanceStateFault",
                ):
                    raise
        if kind is Kind.CLUSTER:
            try:
                rds.delete_db_cluster(DBClusterIdentifier=identifier, SkipFinalSnapshot=True)
            except ClientError as error:
                if not is_code(error, *CLUSTER_NOT_FOUND, "InvalidDBClusterStateFault"):
                    raise
        else:
            try:
                rds.delete_db_instance(
                    DBInstanceIdentifier=identifier,
                    SkipFinalSnapshot=True,
                    DeleteAutomatedBackups=True,
                )
            except ClientError as error:
                if not is_code(
                    error,
                    *INSTANCE_NOT_FOUND,
                    "InvalidDBInstanceState",
                    "InvalidDBInstanceStateFault",
                ):
                    raise
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=region) from error


def instance_usage(aws: Aws, region: str, step: str) -> tuple[int, int] | None:
    """``DBInstances`` Used/Max of the region (DescribeAccountAttributes), or None when RDS
    does not report it."""
    try:
        answer = aws.rds(region).describe_account_attributes()
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, region=region) from error
    for quota in answer.get("AccountQuotas", []):
        if quota.get("AccountQuotaName") == "DBInstances":
            return int(quota.get("Used", 0)), int(quota.get("Max", 0))
    return None
