"""``rds-backup doctor``: a read-only pre-flight of a deployed stack (or of the local AWS).

Each check is a small function registered with :func:`check`; it looks at AWS with read-only
calls only (Describe*/Get*/List*/Head*) and answers one :class:`Check`: ``ok``, ``warn`` or
``fail``, what it found, and the fix. A check that cannot look (an API error, a missing
permission) fails and says why: doctor never vouches for what it could not see. Adding a
check (Aurora clusters, …) is one more decorated function; docs/DEPLOY.md, "Before the first
night: run doctor", explains each one, and ``rds-backup local up --misconfigure`` seeds a fault
for each (rds_backup/local/misconfigure.py).

Facts the checks rest on (sources named where they are used):
- Snapshot export engines: RDS User Guide, "Supported Regions and DB engines for exporting
  snapshots to S3 in Amazon RDS" (MariaDB, MySQL, PostgreSQL) and "Exporting DB snapshot data
  to Amazon S3" ("Exporting snapshots from DB instances that use magnetic storage isn't
  supported"); StartExportTask API reference ("You can't export snapshot data from Db2 or RDS
  Custom DB instances").
- The export role: StartExportTask API reference, IamRoleArn: s3:PutObject*, s3:GetObject*,
  s3:ListBucket, s3:DeleteObject*, s3:GetBucketLocation on the bucket and its objects; RDS
  User Guide: the role trusts ``export.rds.amazonaws.com``.
- SES sandbox: SES Developer Guide, "Request production access": per region, only verified
  addresses receive mail, at most 200 messages per 24 hours and 1 per second. SESv2
  GetAccount's ``ProductionAccessEnabled`` says it; where GetAccount is unavailable (moto lacks
  it, or no permission) the v1 send quota tells the sandbox by those numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from rds_backup.aws import Aws
from rds_backup.errors import StepFailed
from rds_backup.limits import manual_snapshot_usage
from rds_backup.model import capacity, key_policy
from rds_backup.ops import policy
from rds_backup.ops.errors import signed_out
from rds_backup.ops.target import archive_name, operator_settings
from rds_backup.settings import ConfigError, Settings
from rds_backup.state import restores

Status = Literal["ok", "warn", "fail"]
STEP = "doctor"
# RDS for MariaDB, MySQL and PostgreSQL export snapshots; Oracle, SQL Server, Db2 and RDS
# Custom do not (module docstring). Aurora instances are backed up through their cluster.
EXPORT_ENGINES = frozenset({"mariadb", "mysql", "postgres"})
# DB cluster snapshots that export: Aurora MySQL and Aurora PostgreSQL ("Supported Regions
# and Aurora DB engines for exporting snapshot data to Amazon S3"); Multi-AZ DB clusters
# (mysql, postgres): their snapshot page recommends exporting snapshot data, and
# StartExportTask excludes only exporting *cluster data* from them. Both accepted.
CLUSTER_EXPORT_ENGINES = frozenset({"aurora-mysql", "aurora-postgresql", "mysql", "postgres"})
MAGNETIC = "standard"  # StorageType of magnetic storage
EXPORT_SERVICE = "export.rds.amazonaws.com"
# What CopyDBSnapshot needs of its caller on an encrypted source snapshot's key (RDS uses the
# key through a grant it creates for the caller; the stack asks the same on the target key).
COPY_KEY_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey")
EXPORT_BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation")
EXPORT_OBJECT_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:DeleteObject")
SANDBOX_DAILY = 200.0  # SES sandbox: 200 messages per 24 hours, 1 per second
SANDBOX_RATE = 1.0
# The main stack's rules, after "<stack>-" (infra/functions/*.yml; a test compares this with
# the packaged template). The forwarder lives in the target region.
CHAIN_RULES = (
    "nightly",
    "backup-requested",
    "snapshot-created",
    "copy-finished",
    "run-outcome",
    "snapshot-quota",
    "handler-failed",
    "reconcile",
    "cleanup",
    # DB clusters: 0075, our cluster copy events, 0162-0164 (rds_backup/steps/check_copy.py)
    "cluster-snapshot-created",
    "cluster-copy-finished",
    "cluster-run-outcome",
    "cluster-copy-check",
    # restore drills: the schedule, RDS restore/instance events, one-time checks, the finish
    # (rds_backup/steps/start_drill.py, check_drill.py; infra/functions/*_drill.yml)
    "drills",
    "drill-events",
    "drill-check",
    "drill-finished",
    # the vault account (docs/VAULT.md; infra/functions/share_vault.yml): deployed always,
    # share_vault does nothing while VAULT_ACCOUNT_ID is unset
    "vault-share",
    "vault-copied",
)
FORWARD_RULE = "forward-to-source"
# The target stack's second forwarder: RDS events of drill instances restored there
# (infra/target-region/serverless.yml ForwardDrillEventsRule).
FORWARD_DRILLS_RULE = "forward-drills-to-source"
# The functions that call CopyDBSnapshot (reconcile re-drives copies).
COPYING_FUNCTIONS = ("copy_snapshot", "reconcile")


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: Status
    found: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Target:
    """What the checks look at, with the few look-ups several checks share (cached)."""

    settings: Settings
    aws: Aws
    _instances: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    _policies: dict[str, list[policy.Statement]] = field(default_factory=dict)
    _roles: dict[str, str | None] = field(default_factory=dict)

    @property
    def stack(self) -> str:
        return self.settings.stack_name

    @property
    def partition(self) -> str:
        return self.settings.export_role_arn.split(":")[1]

    @property
    def account(self) -> str:
        return self.settings.account_id

    def databases(self) -> list[str]:
        return capacity.databases(self.settings)

    def instance(self, database: str) -> dict[str, Any] | None:
        """DescribeDBInstances of ``database`` in the source region, else DescribeDBClusters
        (an Aurora or Multi-AZ DB cluster: its record has ``DBClusterArn``); None when
        neither exists."""
        if database not in self._instances:
            rds = self.aws.rds(self.settings.source_region)
            found: list[Any]
            try:
                found = rds.describe_db_instances(DBInstanceIdentifier=database)["DBInstances"]
            except ClientError as error:
                if _code(error) not in ("DBInstanceNotFound", "DBInstanceNotFoundFault"):
                    raise
                found = []
            if not found:
                try:
                    found = rds.describe_db_clusters(DBClusterIdentifier=database)["DBClusters"]
                except ClientError as error:
                    if _code(error) not in ("DBClusterNotFoundFault", "DBClusterNotFound"):
                        raise
                    found = []
            self._instances[database] = dict(found[0]) if found else None
        return self._instances[database]

    def existing(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for database in self.databases():
            found = self.instance(database)
            if found is not None:
                yield database, found

    def function_role(self, short_name: str) -> str | None:
        """The role ARN of this stack's function ``short_name``; None if not deployed."""
        if short_name not in self._roles:
            name = f"{self.stack}-{short_name}"
            try:
                config = self.aws.client(
                    "lambda", self.settings.source_region
                ).get_function_configuration(FunctionName=name)
                self._roles[short_name] = str(config["Role"])
            except ClientError as error:
                if _code(error) != "ResourceNotFoundException":
                    raise
                self._roles[short_name] = None
        return self._roles[short_name]

    def role_policy(self, role_arn: str) -> list[policy.Statement]:
        """Every statement of the role's inline and attached policies."""
        if role_arn not in self._policies:
            iam = self.aws.client("iam", self.settings.source_region)
            name = role_arn.rsplit("/", 1)[-1]
            found: list[policy.Statement] = []
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy_name in page.get("PolicyNames", []):
                    document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)
                    found.extend(policy.statements(document["PolicyDocument"]))
            pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
            for page in pages:
                for attached in page.get("AttachedPolicies", []):
                    arn = attached["PolicyArn"]
                    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)
                    found.extend(policy.statements(document["PolicyVersion"]["Document"]))
            self._policies[role_arn] = found
        return self._policies[role_arn]


@dataclass(frozen=True)
class Finding:
    """What a check function answers; the runner names it."""

    status: Status
    found: str
    fix: str = ""


def ok(found: str) -> Finding:
    return Finding("ok", found)


def warn(found: str, fix: str) -> Finding:
    return Finding("warn", found, fix)


def fail(found: str, fix: str) -> Finding:
    return Finding("fail", found, fix)


CheckFunction = Callable[[Target], Finding]
CHECKS: list[tuple[str, str, CheckFunction]] = []  # (name, what it means, function)
# Nothing answers at the endpoint (a connect timeout is one too): no check can look, so the
# run ends in ops/errors.py's one line and exit 255, as every operator command does.
UNREACHABLE = EndpointConnectionError


def check(name: str, meaning: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check (in report order) under ``name``, with a line on what it means."""

    def register(function: CheckFunction) -> CheckFunction:
        CHECKS.append((name, meaning, function))
        return function

    return register


# --- running ------------------------------------------------------------------------------


def run_doctor(aws: Aws, stack: str | None, region: str | None) -> list[Check]:
    """Every check against the stack (``--stack/--region``) or this shell's variables. An
    invalid configuration is the one failing line (the other checks need it)."""
    try:
        settings = operator_settings(aws, stack, region)
    except ConfigError as error:
        return [
            Check(
                "config",
                "fail",
                "; ".join(error.problems),
                "change the named variables (deploy parameters, infra/config.yml) and redeploy: "
                "the handlers refuse this configuration too",
            )
        ]
    return run_checks(Target(settings, aws))


def run_checks(target: Target) -> list[Check]:
    results = []
    for name, _, function in CHECKS:
        try:
            finding = function(target)
            results.append(Check(name, finding.status, finding.found, finding.fix))
        except (ClientError, BotoCoreError, StepFailed) as error:
            if signed_out(error) or isinstance(error, UNREACHABLE):
                raise  # no check can look: one line for the run (ops/errors.py), not 16
            results.append(
                Check(
                    name,
                    "fail",
                    f"could not check: {_describe(error)}",
                    "give the caller read access (docs/DEPLOY.md, 'Before the first night') "
                    "and check --region",
                )
            )
    return results


def render(results: list[Check]) -> str:
    width = max(len(r.name) for r in results)
    lines = []
    for result in results:
        line = f"{result.status:<4}  {result.name:<{width}}  {result.found}"
        if result.fix and result.status != "ok":
            line += f" | fix: {result.fix}"
        lines.append(line)
    failed = sum(r.status == "fail" for r in results)
    warned = sum(r.status == "warn" for r in results)
    lines.append(f"{len(results)} checks: {failed} failed, {warned} warnings")
    return "\n".join(lines)


def summary(results: list[Check]) -> dict[str, Any]:
    return {
        "ok": not any(r.status == "fail" for r in results),
        "checks": [r.as_dict() for r in results],
    }


def dumps(results: list[Check]) -> str:
    return json.dumps(summary(results), indent=2)


# --- the checks, in report order -----------------------------------------------------------


@check("config", "the settings pass the validation every handler runs (one source of truth)")
def check_config(target: Target) -> Finding:
    s = target.settings
    return ok(
        f"stack {s.stack_name}: {len(target.databases())} databases, "
        f"{s.source_region} -> {s.target_region}",
    )


@check("db-exists", "each DB_IDENTIFIER is a DB instance or a DB cluster in SOURCE_REGION")
def check_databases_exist(target: Target) -> Finding:
    missing = [db for db in target.databases() if target.instance(db) is None]
    region = target.settings.source_region
    if missing:
        return fail(
            f"no DB instance or DB cluster {', '.join(missing)} in {region}",
            "correct DB_IDENTIFIER (as `aws rds describe-db-instances` lists them) or "
            "SOURCE_REGION, and redeploy",
        )
    return ok(f"{', '.join(target.databases())} in {region}")


@check("db-engine", "each database's engine and storage support snapshot export to S3")
def check_engines(target: Target) -> Finding:
    problems, engines = [], set()
    for database, found in target.existing():
        engine = str(found.get("Engine", "")).lower()
        engines.add(engine)
        if "DBClusterArn" in found and not engine.startswith("aurora"):
            # RDS User Guide, "Limitations of Multi-AZ DB clusters": no snapshot copy at all
            problems.append(
                f"{database} is a Multi-AZ DB cluster ({engine}): AWS cannot copy its "
                "snapshots to another region, so start_backup refuses it"
            )
        elif "DBClusterArn" in found:  # a DB cluster: Aurora MySQL/PostgreSQL export
            if engine not in CLUSTER_EXPORT_ENGINES:
                problems.append(f"{database} is a {engine} cluster, which cannot export")
        elif engine.startswith("aurora"):
            problems.append(f"{database} is an Aurora instance ({engine}): back up its cluster")
        elif engine not in EXPORT_ENGINES:
            problems.append(f"{database} runs {engine}, which cannot export snapshots")
        elif str(found.get("StorageType", "")).lower() == MAGNETIC:
            problems.append(f"{database} uses magnetic storage, which cannot export snapshots")
    if problems:
        return fail(
            "; ".join(problems),
            "snapshot export supports RDS for MariaDB, MySQL and PostgreSQL on SSD storage "
            "(not Oracle, SQL Server, Db2 or RDS Custom): remove those from DB_IDENTIFIER or "
            "move them to gp3 storage",
        )
    return ok(f"engines {', '.join(sorted(engines)) or 'none'} export")


@check("db-encrypted", "each database is encrypted at rest (KMS)")
def check_encrypted(target: Target) -> Finding:
    plain = [db for db, found in target.existing() if not found.get("StorageEncrypted")]
    if plain:
        return fail(
            f"not encrypted: {', '.join(plain)} (its snapshots in "
            f"{target.settings.source_region} are readable by anyone who may restore them)",
            "RDS cannot encrypt a running instance: snapshot it, copy the snapshot with a KMS "
            "key, restore the copy and switch over (RDS User Guide, 'Encrypting Amazon RDS "
            "resources'); or remove it from DB_IDENTIFIER",
        )
    keys = {found.get("KmsKeyId") for _, found in target.existing()}
    return ok(f"encrypted with {len(keys)} key(s)")


@check(
    "db-key-access",
    "the copying roles (copy_snapshot, reconcile) may use each database's KMS key: key policy, "
    "grant, or IAM when the key policy delegates to the account",
)
def check_database_keys(target: Target) -> Finding:
    region = target.settings.source_region
    kms = target.aws.client("kms", region)
    roles = {name: target.function_role(name) for name in COPYING_FUNCTIONS}
    problems: list[str] = []
    ways: list[str] = []
    fixes: dict[str, None] = {}  # ordered, without repeats
    keys: dict[str, list[str]] = {}
    for database, found in target.existing():
        if found.get("StorageEncrypted") and found.get("KmsKeyId"):
            keys.setdefault(str(found["KmsKeyId"]), []).append(database)
    for key, databases in keys.items():
        meta = kms.describe_key(KeyId=key)["KeyMetadata"]
        who = ", ".join(databases)
        if meta.get("KeyState") != "Enabled":
            problems.append(f"the key of {who} is {meta.get('KeyState')}")
            fixes[f"enable {meta['Arn']} (aws kms enable-key)"] = None
        elif meta.get("KeyManager") == "AWS":
            ways.append(f"{who}: AWS managed key (same-account copies re-encrypt with ours)")
        elif missing := [name for name, role in roles.items() if role is None]:
            return warn(
                f"{', '.join(f'{target.stack}-{m}' for m in missing)} not found in {region}: "
                f"cannot tell whether the copying roles may use the key of {who}",
                "deploy the stack, then run doctor with --stack",
            )
        else:
            access = _KeyAccess(target, kms, meta["Arn"])
            found_ways = {name: access.way(str(role)) for name, role in roles.items()}
            refused = [name for name, way in found_ways.items() if way is None]
            if not refused:
                ways.append(f"{who}: {'; '.join(sorted({str(w) for w in found_ways.values()}))}")
                continue
            roles_named = " and ".join(refused) + (" roles" if len(refused) > 1 else " role")
            problems.append(f"the {roles_named} may not use the key of {who} ({meta['Arn']})")
            fixes[access.fix([str(roles[name]) for name in refused])] = None
    if problems:
        return fail("; ".join(problems), "; ".join(fixes))
    unused = _unused_database_keys(target, kms, keys)
    if unused:
        return warn(
            f"{'; '.join(ways) or 'no encrypted database'}; DB_KMS_KEY_IDS names "
            f"{', '.join(unused)}, which no configured database uses",
            "remove it from DB_KMS_KEY_IDS (the copying roles need no more than their "
            "databases' keys)",
        )
    return ok("; ".join(ways) or "no encrypted database")


class _KeyAccess:
    """How (if at all) a role may use a customer-managed key for CopyDBSnapshot: the key
    policy names it, a grant lets it, or the key policy delegates to the account and the
    role's IAM policy (DB_KMS_KEY_IDS: the stack's ``database-keys`` policy) allows it."""

    def __init__(self, target: Target, kms: Any, key_arn: str) -> None:
        self.target, self.kms, self.key = target, kms, key_arn
        self.key_policy = policy.statements(
            kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
        )
        account = policy.for_principal(self.key_policy, policy.account_principals(target.account))
        self.delegates = any(policy.allows(account, a, key_arn) for a in COPY_KEY_ACTIONS)
        self.grants = [
            grant
            for page in kms.get_paginator("list_grants").paginate(KeyId=key_arn)
            for grant in page.get("Grants", [])
        ]

    def _allowed(self, statements: list[policy.Statement]) -> bool:
        return all(policy.allows(statements, action, self.key) for action in COPY_KEY_ACTIONS)

    def way(self, role: str) -> str | None:
        if self._allowed(policy.for_principal(self.key_policy, [role])):
            return "its key policy names the copying roles"
        if any(
            g.get("GranteePrincipal") == role and "CreateGrant" in g.get("Operations", [])
            for g in self.grants
        ):
            return "grants let the copying roles use it"
        if self.delegates and self._allowed(self.target.role_policy(role)):
            return "the key policy delegates to IAM and DB_KMS_KEY_IDS grants the roles"
        return None

    def fix(self, roles: list[str]) -> str:
        actions = " and ".join(COPY_KEY_ACTIONS)
        if self.delegates:
            return (
                f"add {self.key} to DB_KMS_KEY_IDS and redeploy (its key policy delegates to "
                f"the account), or name {', '.join(roles)} in its key policy with {actions}"
            )
        return (
            f"add to the key policy of {self.key} a statement allowing {', '.join(roles)} "
            f"{actions} (its policy does not delegate to the account, so DB_KMS_KEY_IDS "
            "cannot help), or create a grant for them"
        )


def _unused_database_keys(target: Target, kms: Any, used: dict[str, list[str]]) -> list[str]:
    """DB_KMS_KEY_IDS entries that are none of the configured databases' keys."""
    configured = target.settings.db_kms_key_ids
    if not configured:
        return []
    arns = set()
    for key in used:
        arns.add(kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"])
    unused = []
    for key in configured:
        try:
            arn = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
        except ClientError as error:
            if _code(error) != "NotFoundException":
                raise
            arn = None
        if arn not in arns:
            unused.append(key)
    return unused


@check("target-key", "the KMS key for copies and exports exists and is enabled in its region")
def check_target_key(target: Target) -> Finding:
    s = target.settings
    wanted = [(s.target_region, s.keys.target)]
    if s.store_to_source_s3 and s.keys.source:
        wanted.append((s.source_region, s.keys.source))
    problems, found = [], []
    for region, key in wanted:
        try:
            meta = target.aws.client("kms", region).describe_key(KeyId=key)["KeyMetadata"]
        except ClientError as error:
            if _code(error) != "NotFoundException":
                raise
            problems.append(f"{key} does not exist in {region}")
            continue
        if meta.get("KeyState") != "Enabled":
            problems.append(f"{key} in {region} is {meta.get('KeyState')}")
        else:
            found.append(f"{meta.get('KeyId')} enabled in {region}")
    if problems:
        return fail(
            "; ".join(problems),
            "enable the key (aws kms enable-key --key-id KEY --region REGION; a key pending "
            "deletion: cancel-key-deletion first) or set KMS_KEY_ID / TARGET_KMS_KEY_ID to an "
            "enabled key in that region, and redeploy",
        )
    return ok("; ".join(found))


@check("export-role-trust", "EXPORT_ROLE_ARN exists and trusts export.rds.amazonaws.com")
def check_export_role_trust(target: Target) -> Finding:
    arn = target.settings.export_role_arn
    role = _export_role(target)
    if role is None:
        return fail(
            f"no role {arn}",
            "create it (or leave EXPORT_ROLE_ARN unset: the stack creates one) and redeploy",
        )
    trust = policy.statements(role.get("AssumeRolePolicyDocument", {}))
    trusted = [
        s
        for s in trust
        if s.get("Effect") == "Allow"
        and EXPORT_SERVICE in policy.services(s)
        and policy.allows([{**s, "Resource": "*"}], "sts:AssumeRole", "*")
    ]
    if not trusted:
        services = sorted({svc for s in trust for svc in policy.services(s)})
        return fail(
            f"{arn} trusts {', '.join(services) or 'no service'}, not {EXPORT_SERVICE}",
            f"add to its trust policy: Allow Principal Service {EXPORT_SERVICE} sts:AssumeRole",
        )
    return ok(f"{arn} trusts {EXPORT_SERVICE}")


@check("export-role-access", "the export role has the documented S3 actions on the buckets")
def check_export_role_access(target: Target) -> Finding:
    s = target.settings
    arn = s.export_role_arn
    if _export_role(target) is None:
        return fail(f"no role {arn}", "create it, see above")
    statements = target.role_policy(arn)
    buckets = [s.target_bucket] + ([s.source_bucket] if s.store_to_source_s3 else [])
    prefix = s.export_s3_prefix.strip("/")
    missing = []
    for bucket in buckets:
        bucket_arn = f"arn:{target.partition}:s3:::{bucket}"
        objects = f"{bucket_arn}/{prefix + '/' if prefix else ''}export-task/file.parquet"
        missing += [
            f"{a} on {bucket}"
            for a in EXPORT_BUCKET_ACTIONS
            if not policy.allows(statements, a, bucket_arn)
        ]
        missing += [
            f"{a} on {bucket}/{prefix + '/' if prefix else ''}*"
            for a in EXPORT_OBJECT_ACTIONS
            if not policy.allows(statements, a, objects)
        ]
    if missing:
        return fail(
            f"{arn} lacks {'; '.join(missing)}",
            "allow s3:ListBucket, s3:GetBucketLocation on each bucket and s3:PutObject*, "
            "s3:GetObject*, s3:DeleteObject* on its objects (StartExportTask, IamRoleArn)",
        )
    return ok(f"S3 actions allowed on {', '.join(buckets)}")


@check("buckets", "TARGET_BUCKET (and SOURCE_BUCKET) exist in their regions")
def check_buckets(target: Target) -> Finding:
    s = target.settings
    problems, warnings, found = [], [], []
    for bucket, region, used in (
        (s.target_bucket, s.target_region, True),
        (s.source_bucket, s.source_region, s.store_to_source_s3),
    ):
        problem = _bucket_problem(target.aws, bucket, region)
        if problem is None:
            found.append(f"{bucket} in {region}")
        elif used:
            problems.append(problem)
        else:
            warnings.append(f"{problem} (unused while STORE_TO_SOURCE_S3=false)")
    fix = (
        "an export needs its bucket in the snapshot's region (RDS User Guide): create the "
        "bucket there, or point TARGET_BUCKET/SOURCE_BUCKET at one that is, and redeploy"
    )
    if problems:
        return fail("; ".join(problems + warnings), fix)
    if warnings:
        return warn("; ".join(warnings + found), fix)
    return ok("; ".join(found))


def _bucket_problem(aws: Aws, bucket: str, region: str) -> str | None:
    try:
        answer = aws.s3(region).get_bucket_location(Bucket=bucket)
    except ClientError as error:
        if _code(error) in ("NoSuchBucket", "404"):
            return f"no bucket {bucket}"
        return f"{bucket}: {_describe(error)}"
    actual = answer.get("LocationConstraint") or "us-east-1"
    actual = "eu-west-1" if actual == "EU" else actual  # the legacy name GetBucketLocation keeps
    if actual != region:
        return f"{bucket} is in {actual}, not {region}"
    return None


@check("ses-sender", "the sender address (SENDER_EMAIL or the first ADMIN_EMAIL) is verified")
def check_ses_sender(target: Target) -> Finding:
    s = target.settings
    if _verified(target.aws, s.source_region, s.sender):
        return ok(f"{s.sender} verified in {s.source_region}")
    return fail(
        f"{s.sender} is not verified in SES in {s.source_region} (nor its domain): no email "
        "can be sent",
        f"aws ses verify-email-identity --email-address {s.sender} --region {s.source_region} "
        "and follow the link, or verify its domain",
    )


@check("ses-recipients", "SES production access, or (in the sandbox) every recipient verified")
def check_ses_recipients(target: Target) -> Finding:
    s = target.settings
    sandbox, how = _sandbox(target.aws, s.source_region)
    if sandbox is False:
        return ok(f"production access in {s.source_region} ({how})")
    unverified = [a for a in s.admin_emails if not _verified(target.aws, s.source_region, a)]
    place = f"the SES sandbox in {s.source_region} ({how})"
    if unverified:
        return fail(
            f"{place}: only verified addresses receive mail, and {', '.join(unverified)} "
            "is not verified",
            "verify each ADMIN_EMAIL (aws ses verify-email-identity) or request production "
            "access (SES console, Account dashboard)",
        )
    return ok(f"{place}; every ADMIN_EMAIL is verified")


def _verified(aws: Aws, region: str, address: str) -> bool:
    domain = address.rsplit("@", 1)[-1]
    answer = aws.ses(region).get_identity_verification_attributes(Identities=[address, domain])
    attributes: dict[str, Any] = dict(answer.get("VerificationAttributes", {}))
    return any(
        attributes.get(identity, {}).get("VerificationStatus") == "Success"
        for identity in (address, domain)
    )


def _sandbox(aws: Aws, region: str) -> tuple[bool | None, str]:
    """(in the sandbox?, how it was told). SESv2 GetAccount says it; else the v1 quota."""
    try:
        account = aws.client("sesv2", region).get_account()
        return (not account.get("ProductionAccessEnabled", False), "GetAccount")
    except (ClientError, BotoCoreError):
        pass  # moto lacks GetAccount; a caller may lack ses:GetAccount
    quota = aws.ses(region).get_send_quota()
    daily = float(quota.get("Max24HourSend", 0))
    rate = float(quota.get("MaxSendRate", 0))
    sandbox = daily <= SANDBOX_DAILY and rate <= SANDBOX_RATE
    return (sandbox, f"send quota {daily:g}/24 h, {rate:g}/s")


@check(
    "snapshot-quota",
    "the manual snapshot quota of each region holds what retention keeps, next to what is there",
)
def check_snapshot_quota(target: Target) -> Finding:
    s = target.settings
    problems: list[str] = []
    found: list[str] = []
    short = 0
    for region in (s.source_region, s.target_region):
        usage = manual_snapshot_usage(target.aws, region, STEP)
        needed = capacity.snapshots_held_in(s, region)
        others = max(0, usage.used - _our_manual_snapshots(target, region))
        line = (
            f"{region}: {others} other + {needed} kept by retention = {others + needed} of "
            f"{usage.max} (used now {usage.used})"
        )
        if others + needed > usage.max:
            problems.append(line)
            short = max(short, others + needed)
        else:
            found.append(line)
    if problems:
        return fail(
            "; ".join(problems),
            f"raise the quota ({capacity.QUOTA_NAME}) to at least {short} and set "
            f"MANUAL_SNAPSHOT_QUOTA={short}, or lower RETENTION_DAYS / KEEP_*: past the quota "
            "every snapshot and copy fails with SnapshotQuotaExceeded",
        )
    return ok("; ".join(found))


def _our_manual_snapshots(target: Target, region: str) -> int:
    prefix = f"{target.settings.snapshot_prefix}-"
    pages = (
        target.aws.rds(region)
        .get_paginator("describe_db_snapshots")
        .paginate(SnapshotType="manual")
    )
    return sum(
        str(snapshot.get("DBSnapshotIdentifier", "")).startswith(prefix)
        for page in pages
        for snapshot in page.get("DBSnapshots", [])
    )


@check("export-capacity", "a night's exports fit the 5 concurrent exports of the account")
def check_export_capacity(target: Target) -> Finding:
    s = target.settings
    hours = capacity.exports_hours_per_night(s)
    room = capacity.EXPORT_CAPACITY_HOURS
    found = (
        f"{hours:g} export hours on the busiest night (EXPORT_EVERY_DAYS={s.export_every_days}, "
        f"EXPORT_HOURS_ESTIMATE={s.export_hours_estimate:g}) of {room} "
        f"({capacity.EXPORT_SLOTS} exports x {capacity.EXPORT_HOURS_PER_SLOT} h)"
    )
    if hours <= room + 1e-9:
        return ok(found)
    recommended = capacity.recommended_export_every_days(s)
    fix = (
        f"set EXPORT_EVERY_DAYS={recommended} (each database exported every {recommended} "
        "nights; copies stay nightly)"
        if recommended <= capacity.MAX_EXPORT_EVERY_DAYS
        else "split the databases over stacks in separate accounts (5 exports per account)"
    )
    return fail(f"{found}: exports fall behind every night", fix)


@check("rules", "the stack's EventBridge rules exist and are enabled in SOURCE_REGION")
def check_rules(target: Target) -> Finding:
    s = target.settings
    events = target.aws.events(s.source_region)
    rules: dict[str, str] = {}
    for bus in dict.fromkeys(("default", s.event_bus_name)):
        for page in events.get_paginator("list_rules").paginate(
            NamePrefix=f"{target.stack}-", EventBusName=bus
        ):
            rules.update({r["Name"]: str(r.get("State", "")) for r in page.get("Rules", [])})
    missing = [f"{target.stack}-{r}" for r in CHAIN_RULES if f"{target.stack}-{r}" not in rules]
    disabled = [
        f"{target.stack}-{r}" for r in CHAIN_RULES if rules.get(f"{target.stack}-{r}") == "DISABLED"
    ]
    if missing or disabled:
        found = "; ".join(
            part
            for part in (
                f"missing: {', '.join(missing)}" if missing else "",
                f"disabled: {', '.join(disabled)}" if disabled else "",
            )
            if part
        )
        return fail(
            f"{found} in {s.source_region}",
            f"enable them (aws events enable-rule --name NAME --region {s.source_region}) or "
            "redeploy the stack (npm run deploy)",
        )
    return ok(f"{len(CHAIN_RULES)} rules enabled in {s.source_region}")


@check(
    "forwarding-rule",
    "the target-region stack forwards RDS events of our snapshots to the source region's bus",
)
def check_forwarding_rule(target: Target) -> Finding:
    return _forwarder(target, FORWARD_RULE, "copies and exports there never reach the handlers")


@check(
    "drill-forwarding-rule",
    "the target-region stack forwards RDS events of drill instances to the source region's bus",
)
def check_drill_forwarding_rule(target: Target) -> Finding:
    return _forwarder(target, FORWARD_DRILLS_RULE, "restore drills there wait for the reaper")


def _forwarder(target: Target, suffix: str, consequence: str) -> Finding:
    s = target.settings
    name = f"{target.stack}-{suffix}"
    bus = f"arn:{target.partition}:events:{s.source_region}:{target.account}:event-bus/default"
    events = target.aws.events(s.target_region)
    fix = (
        f"deploy the target-region stack (infra/target-region; npm run deploy does both) in "
        f"{s.target_region}, or enable its rule: {consequence}"
    )
    try:
        rule = events.describe_rule(Name=name)
    except ClientError as error:
        if _code(error) != "ResourceNotFoundException":
            raise
        return fail(f"no rule {name} in {s.target_region}", fix)
    targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
    if rule.get("State") != "ENABLED":
        return fail(f"{name} is {rule.get('State')}", fix)
    if not any(t.get("Arn") == bus for t in targets):
        return fail(f"{name} does not target {bus}", fix)
    return ok(f"{name} in {s.target_region} -> {bus}")


@check("archive", "the archive of chain events (for replay) exists on the source bus")
def check_archive(target: Target) -> Finding:
    s = target.settings
    name = archive_name(s)
    events = target.aws.events(s.source_region)
    fix = "redeploy the stack (infra/resources/archive.yml): without it `rds-backup replay` cannot"
    try:
        archive = events.describe_archive(ArchiveName=name)
    except ClientError as error:
        if _code(error) != "ResourceNotFoundException":
            raise
        return fail(f"no archive {name} in {s.source_region}", fix)
    state = archive.get("State", "")
    if state not in ("ENABLED", "CREATING", "UPDATING"):
        return fail(f"archive {name} is {state}", fix)
    return ok(f"{name} {state.lower()} on {archive.get('EventSourceArn')}")


@check(
    "restore-groups",
    "each RESTORE_* and DRILL_* group exists in TARGET_REGION (none travels with a snapshot), "
    "the security groups in the subnet group's VPC",
)
def check_restore_groups(target: Target) -> Finding:
    s = target.settings
    region = s.target_region
    option = (
        ("RESTORE_OPTION_GROUP", s.restore_option_group)
        if s.restore_option_group
        else ("TARGET_OPTION_GROUP", s.target_option_group)
    )
    restore = [
        restores.Wanted(kind, name, setting)
        for kind, setting, name in (
            ("DB subnet group", "RESTORE_SUBNET_GROUP", s.restore_subnet_group),
            ("DB parameter group", "RESTORE_PARAMETER_GROUP", s.restore_parameter_group),
            (
                "DB cluster parameter group",
                "RESTORE_CLUSTER_PARAMETER_GROUP",
                s.restore_cluster_parameter_group,
            ),
            ("option group", option[0], option[1]),
        )
        if name
    ] + [
        restores.Wanted(restores.SECURITY_GROUP, g, "RESTORE_SECURITY_GROUP_IDS")
        for g in s.restore_security_group_ids
    ]
    drill = []
    if s.drill_subnet_group or s.drill_security_group_ids:
        # The drills' own network; what they take from RESTORE_* is checked above.
        drill = [
            restores.Wanted(
                "DB subnet group",
                str(s.drill_subnet),
                "DRILL_SUBNET_GROUP" if s.drill_subnet_group else "RESTORE_SUBNET_GROUP",
            )
        ] + [
            restores.Wanted(restores.SECURITY_GROUP, g, "DRILL_SECURITY_GROUP_IDS")
            for g in s.drill_security_group_ids or s.restore_security_group_ids
        ]
    if not restore and not drill:
        return ok(
            f"none configured: a restore in {region} uses its default VPC and the engine's "
            "default groups, and the restore drills are off (RESTORE_SUBNET_GROUP, "
            "docs/RECOVERY.md)"
        )
    problems = restores.missing_groups(target.aws, region, restore, STEP)
    if drill:
        seen = {m.what for m in problems}
        problems += [
            m
            for m in restores.missing_groups(target.aws, region, drill, STEP)
            if m.what not in seen
        ]
    if problems:
        return fail(
            "; ".join(m.what for m in problems),
            "; ".join(dict.fromkeys(m.fix for m in problems)),
        )
    named = [f"{w.setting} {w.name}" for w in [*restore, *drill]]
    return ok(f"in {region}: {', '.join(dict.fromkeys(named))}")


# --- helpers -------------------------------------------------------------------------------


def _export_role(target: Target) -> dict[str, Any] | None:
    name = target.settings.export_role_arn.rsplit("/", 1)[-1]
    try:
        role: dict[str, Any] = target.aws.client("iam", target.settings.source_region).get_role(
            RoleName=name
        )["Role"]
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
        return None
    return role


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        message = error.response.get("Error", {}).get("Message", "")
        return f"{_code(error)}: {message}".strip(": ")
    return str(error)


@check(
    "vault",
    "with VAULT_ACCOUNT_ID: the copies' key is customer managed and allows the vault account, "
    "and the default bus lets the vault report back",
)
def check_vault(target: Target) -> Finding:
    s = target.settings
    vault = s.vault_account_id
    if vault is None:
        return ok("no vault account (VAULT_ACCOUNT_ID unset)")
    problems, fixes = [], []
    kms = target.aws.client("kms", s.target_region)
    key = s.keys.target
    try:
        meta = kms.describe_key(KeyId=key)["KeyMetadata"]
        shareable = meta.get("KeyManager") != "AWS"
        allowed = shareable and key_policy.allows_account(
            kms.get_key_policy(KeyId=meta["Arn"], PolicyName="default")["Policy"], vault
        )
    except ClientError as error:
        if _code(error) != "NotFoundException":
            raise
        meta, shareable, allowed = {}, False, False
        problems.append(f"{key} does not exist in {s.target_region}")
    if meta and not shareable:
        problems.append(f"{key} is the AWS managed aws/rds key: a copy on it cannot be shared")
        fixes.append(
            f"set TARGET_KMS_KEY_ID (or KMS_KEY_ID) to a customer managed key in "
            f"{s.target_region} and redeploy"
        )
    elif meta and not allowed:
        problems.append(f"the policy of {meta.get('Arn', key)} does not allow account {vault}")
        fixes.append("add the two key policy statements of docs/VAULT.md ('Key policies')")
    policy_text = (
        target.aws.events(s.source_region).describe_event_bus(Name="default").get("Policy", "")
    )
    if vault not in policy_text or "Vault Copy Finished" not in policy_text:
        problems.append(f"the default bus in {s.source_region} does not admit the vault's reports")
        fixes.append(
            "deploy the source stack with VAULT_ACCOUNT_ID set (its VaultReportsPolicy lets the "
            "vault account put 'Vault Copy Finished')"
        )
    if problems:
        return fail("; ".join(problems), "; ".join(fixes) or "see docs/VAULT.md")
    return ok(f"{meta.get('KeyId')} allows {vault}; the default bus admits its reports")
