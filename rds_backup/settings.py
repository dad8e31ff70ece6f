"""The one validated model of the environment.

Every handler and the CLI read configuration through :func:`load_settings`; nothing else
touches ``os.environ``. A bad environment fails with one :class:`ConfigError` that names
every bad variable at once, so an operator fixes the stack in one deploy.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from rds_backup.arns import KMS_ARN, parse_kms_arn

REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
# RDS instance/cluster identifiers: letter first, letters/digits/hyphens, no "--", no
# trailing hyphen, at most 63 characters.
DB_ID = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$")
BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
KMS_KEY = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f-]{36}|alias/[\w/-]+)$")
PREFIX = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,30}[a-z0-9]$")
# SES configuration set names: letters, digits, underscores and hyphens, at most 64.
CONFIGURATION_SET = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ACCOUNT = re.compile(r"^\d{12}$")
BUS_ARN = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._/-]{1,256}$")
S3_PREFIX = re.compile(r"^[\w!.*'()/-]{0,200}$")
TRUE = {"true", "1", "yes", "on"}
NOTIFY_MODES = ("per-database", "digest", "failures")
FALSE = {"false", "0", "no", "off", ""}


class ConfigError(Exception):
    """The environment is wrong; the message names every variable to fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"rds-backup configuration is invalid ({len(problems)} problems):\n{lines}"
        )


def _optional_matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and not pattern.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _strict_bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise ValueError(f"{value!r} is not a boolean (use true or false)")
    return value


def _notify_mode(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower() or NOTIFY_MODES[0]
        if lowered not in NOTIFY_MODES:
            raise ValueError(f"{value!r} is not one of {', '.join(NOTIFY_MODES)}")
        return lowered
    return value


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _lower_unique(values: list[str]) -> list[str]:
    """RDS stores DB identifiers in lower case (``db:Orders`` is ``db:orders`` in ARNs, and
    IAM compares ARNs case-sensitively): lower them once here, so names, tags and IAM agree;
    ``Orders,orders`` is one database."""
    return list(dict.fromkeys(value.lower() for value in values))


def normalise_s3_prefix(value: str) -> str:
    """The export key prefix as every consumer uses it: no leading, trailing or doubled
    slashes (``/rds-backup//x/`` is ``rds-backup/x``). infra/iam.js ``exportS3Prefix``
    does the same for IAM and the bucket lifecycle, so code and IAM name the same keys."""
    return "/".join(part for part in value.split("/") if part)


def _s3_prefix(value: str) -> str:
    if not S3_PREFIX.match(value):
        raise ValueError(
            f"{value!r} is not an S3 key prefix (letters, digits and !.*'()/_- only, "
            "at most 200 characters)"
        )
    normalised = normalise_s3_prefix(value)
    if not normalised:
        raise ValueError("must not be empty: IAM scopes the exports to it")
    return normalised


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to (China, GovCloud, or the commercial one)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def copy_pair_problem(source: str, target: str) -> str | None:
    """Why RDS cannot copy a snapshot from ``source`` to ``target``, or None.

    RDS User Guide, "Copying a DB snapshot", Limitations: "You can't copy a snapshot to or
    from the China (Beijing) Region or the China (Ningxia) Region", and GovCloud (US)
    Regions copy only between each other, never with a Region outside GovCloud (US); and a
    pair within GovCloud (US) cannot run the chain either: "Exporting snapshots to S3 is
    available in all AWS Regions except ... AWS GovCloud (US-East), AWS GovCloud (US-West)"
    (Aurora and RDS User Guides, "Supported Regions ... for exporting snapshot data to Amazon
    S3"), and every run exports its copy. The isolated partitions (``us-iso-*``,
    ``us-isob-*``, ``*-iso*``: aws-iso, aws-iso-b, ...) have no public documentation of RDS
    cross-Region copies or exports, so the stack refuses them rather than fail each night.
    """
    for name, region in (("SOURCE_REGION", source), ("TARGET_REGION", target)):
        if "-iso" in region:
            return (
                f"{name}: {region} is in an isolated AWS partition ({source} -> {target}): "
                "RDS's cross-Region snapshot copy and export to S3 are not documented there, "
                "so this stack does not run in it; choose a source and a target in the "
                "commercial partition"
            )
    for name, region in (("SOURCE_REGION", source), ("TARGET_REGION", target)):
        if region.startswith("cn-"):
            return (
                f"{name}: RDS cannot copy a snapshot to or from the China Regions "
                f"({source} -> {target}): choose a source and a target outside China "
                "(RDS User Guide, Copying a DB snapshot, Limitations)"
            )
    if (partition_of(source) == "aws-us-gov") != (partition_of(target) == "aws-us-gov"):
        return (
            f"TARGET_REGION: RDS copies GovCloud (US) snapshots only between GovCloud (US) "
            f"Regions ({source} -> {target}): use us-gov-west-1 and us-gov-east-1 together "
            "(RDS User Guide, Copying a DB snapshot, Limitations)"
        )
    if partition_of(source) == "aws-us-gov":
        return (
            f"SOURCE_REGION: RDS cannot export snapshots to S3 in the GovCloud (US) Regions "
            f"({source} -> {target}), and every run exports its copy (User Guide, Supported "
            "Regions for exporting snapshot data to Amazon S3; Copying a DB snapshot: GovCloud "
            "copies stay within GovCloud): this stack cannot back up a GovCloud database"
        )
    return None


Region = Annotated[str, _matching(REGION, "an AWS region name such as eu-west-1")]
Bucket = Annotated[str, _matching(BUCKET, "a valid S3 bucket name")]
Email = Annotated[str, _matching(EMAIL, "an email address")]
DbId = Annotated[str, _matching(DB_ID, "a valid RDS DB identifier")]
Flag = Annotated[bool, BeforeValidator(_strict_bool)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_is_none)]


def _kms_key(value: str) -> str:
    if not (KMS_KEY.match(value) or KMS_ARN.match(value)):
        raise ValueError(
            f"{value!r} is not a KMS key id, key ARN, alias, or multi-Region key (mrk-...)"
        )
    return value


KmsKey = Annotated[str, AfterValidator(_kms_key)]
NO_DATABASES = (
    "DB_IDENTIFIER: required but not set (or select databases by tag: DB_SELECT_TAG=key=value)"
)


def _tag(value: str | None) -> str | None:
    # An RDS tag key is 1-128 Unicode characters and cannot start with "aws:" or "rds:"
    # (RDS User Guide, "Tagging Amazon RDS resources"); the value is 0-256 characters.
    if value is None:
        return None
    key, sep, tag_value = value.partition("=")
    if not sep or not key.strip() or len(key) > 128 or len(tag_value) > 256:
        raise ValueError(f"{value!r} is not key=value (e.g. backup=nightly)")
    if key.lower().startswith(("aws:", "rds:")):
        raise ValueError(f"{key!r}: tag keys starting with aws: or rds: are reserved by AWS")
    return value


SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
# RDS DB subnet, parameter and option group names: letters, digits, hyphens (and periods
# and underscores for subnet groups), at most 255 characters.
GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,254}$")
INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9-]+\.[a-z0-9-]+$")
Group = Annotated[
    str | None, BeforeValidator(_blank_is_none), _optional_matching(GROUP_NAME, "an RDS group name")
]


def _security_groups(value: Any) -> Any:
    values = _split_list(value)
    if isinstance(values, list):
        for item in values:
            if not SECURITY_GROUP.match(str(item)):
                raise ValueError(f"{item!r} is not a VPC security group id (sg-...)")
    return values


SecurityGroups = Annotated[list[str], BeforeValidator(_security_groups), Field(max_length=5)]


class SqlCheck(BaseModel):
    """One SQL check a restore drill runs on the restored database (DRILL_CHECKS): the
    statement's first column of its first row is the value, judged by ``min``/``max`` (a
    number), ``equals``, or ``max_age_seconds`` (a timestamp: how old the newest data may be
    at the snapshot's time). docs/RECOVERY.md, "Adding SQL checks"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    sql: str = Field(min_length=1, max_length=2000)
    databases: list[str] = Field(default_factory=lambda: ["*"])  # which databases; * = all
    dbname: str | None = Field(default=None, max_length=63)  # the database to connect to
    min: float | None = None
    max: float | None = None
    equals: str | float | None = None
    max_age_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_rule(self) -> SqlCheck:
        rules = (self.min, self.max, self.equals, self.max_age_seconds)
        if all(rule is None for rule in rules):
            raise ValueError(f"check {self.name!r}: give min, max, equals or max_age_seconds")
        return self

    def applies_to(self, database: str) -> bool:
        return "*" in self.databases or database.lower() in {d.lower() for d in self.databases}


def _sql_checks(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return []
        import json

        try:
            return json.loads(value)
        except ValueError as error:
            raise ValueError(f"is not JSON (a list of checks): {error}") from None
    return value


@dataclass(frozen=True)
class RegionKeys:
    """The KMS key to use in each region, as RDS must be given it there."""

    source: str | None
    target: str


class Settings(BaseModel):
    """The environment, with the names users already know (see README, Configuration)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False)

    source_region: Region = Field(alias="SOURCE_REGION")
    target_region: Region = Field(alias="TARGET_REGION")
    # Databases by name (instances or clusters) and/or by tag (rds_backup/state/selection.py):
    # at least one of the two; both are resolved against RDS at each run.
    db_identifiers: Annotated[
        list[DbId],
        BeforeValidator(_split_list),
        AfterValidator(_lower_unique),
        Field(max_length=500),
    ] = Field(default_factory=list, alias="DB_IDENTIFIER")
    db_select_tag: Annotated[str | None, BeforeValidator(_blank_is_none), AfterValidator(_tag)] = (
        Field(default=None, alias="DB_SELECT_TAG")
    )
    source_bucket: Bucket = Field(alias="SOURCE_BUCKET")
    target_bucket: Bucket = Field(alias="TARGET_BUCKET")
    kms_key_id: KmsKey = Field(alias="KMS_KEY_ID")
    source_kms_key_id: Annotated[KmsKey | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="SOURCE_KMS_KEY_ID"
    )
    target_kms_key_id: Annotated[KmsKey | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="TARGET_KMS_KEY_ID"
    )
    # Customer-managed keys the databases themselves are encrypted with (source region): the
    # copying roles get kms:CreateGrant/DescribeKey on them through RDS (infra/iam.js).
    # Empty: the databases use aws/rds, or the keys' policies grant the roles (DEPLOY.md).
    db_kms_key_ids: Annotated[list[KmsKey], BeforeValidator(_split_list), Field(max_length=20)] = (
        Field(default_factory=list, alias="DB_KMS_KEY_IDS")
    )
    export_role_arn: Annotated[str, _matching(ROLE_ARN, "an IAM role ARN")] = Field(
        alias="EXPORT_ROLE_ARN"
    )
    admin_emails: Annotated[
        list[Email], BeforeValidator(_split_list), Field(min_length=1, max_length=50)
    ] = Field(alias="ADMIN_EMAIL")
    sender_email: Annotated[Email | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="SENDER_EMAIL"
    )
    keep_source_snapshot: Flag = Field(default=False, alias="KEEP_SOURCE_SNAPSHOT")
    store_to_source_s3: Flag = Field(default=False, alias="STORE_TO_SOURCE_S3")
    retention_days: int = Field(default=15, ge=1, le=3650, alias="RETENTION_DAYS")
    # Generations kept past retention (0 = none): the newest snapshot of each of the last
    # N days / ISO weeks / months. MIN_KEEP completed copies per database always stay.
    keep_daily: int = Field(default=0, ge=0, le=3650, alias="KEEP_DAILY")
    keep_weekly: int = Field(default=0, ge=0, le=520, alias="KEEP_WEEKLY")
    keep_monthly: int = Field(default=0, ge=0, le=120, alias="KEEP_MONTHLY")
    min_keep: int = Field(default=1, ge=1, le=1000, alias="MIN_KEEP")
    delete_old_exports: Flag = Field(default=False, alias="DELETE_OLD_EXPORTS")
    # A database that left the selection (tag removed, name dropped, now a cluster member) but
    # still exists: cleanup deletes none of its snapshots while true; false applies retention
    # as to any other (its newest snapshot and MIN_KEEP copies stay either way).
    keep_unselected: Flag = Field(default=True, alias="KEEP_UNSELECTED")
    # reconcile: re-drive a step whose event is this late; report a step stuck this long.
    reconcile_grace_minutes: int = Field(
        default=30, ge=5, le=24 * 60, alias="RECONCILE_GRACE_MINUTES"
    )
    step_deadline_hours: int = Field(default=12, ge=1, le=72, alias="STEP_DEADLINE_HOURS")
    # A running export is reported only past this (exports of large databases take hours:
    # RDS restores the whole snapshot first). Counted from the export task's start.
    export_deadline_hours: int = Field(default=48, ge=1, le=14 * 24, alias="EXPORT_DEADLINE_HOURS")
    # Export each database every N nights (copies stay nightly): spreads a fleet whose
    # exports cannot fit 5 slots x 24 h into one night (rds_backup/model/capacity.py).
    export_every_days: int = Field(default=1, ge=1, le=31, alias="EXPORT_EVERY_DAYS")
    # Planning only (warnings at packaging and in start_backup's log): the account's manual
    # snapshot quota per region, and how long one export usually takes. At run time the
    # quota is read from RDS (DescribeAccountAttributes).
    manual_snapshot_quota: int = Field(default=100, ge=1, le=100_000, alias="MANUAL_SNAPSHOT_QUOTA")
    export_hours_estimate: float = Field(default=1.5, gt=0, le=72, alias="EXPORT_HOURS_ESTIMATE")
    snapshot_prefix: Annotated[
        str, _matching(PREFIX, "a lower-case prefix of letters, digits and single hyphens")
    ] = Field(default="rds-backup", alias="SNAPSHOT_PREFIX")
    stack_name: Annotated[
        str, _matching(PREFIX, "a lower-case name of letters, digits and single hyphens")
    ] = Field(default="rds-backup", alias="STACK_NAME")
    export_s3_prefix: Annotated[str, AfterValidator(_s3_prefix)] = Field(
        default="rds-backup", alias="EXPORT_S3_PREFIX"
    )
    target_option_group: OptionalText = Field(default=None, alias="TARGET_OPTION_GROUP")
    idempotency_table: OptionalText = Field(default=None, alias="IDEMPOTENCY_TABLE")
    # Who gets which email (rds_backup/mail/digest.py): one per database and run outcome
    # ("per-database"), one digest per run ("digest"), or failures only ("failures").
    notify_mode: Annotated[str, BeforeValidator(_notify_mode)] = Field(
        default="per-database", alias="NOTIFY_MODE"
    )
    # digest: sent when every database of the run has an outcome, or by reconcile this long
    # after the run began (databases still running are named as such).
    digest_cutoff_hours: int = Field(default=20, ge=1, le=72, alias="DIGEST_CUTOFF_HOURS")
    # Dead-man's switch: a database's alarm fires after this long without a successful backup
    # (read at packaging into each database's alarm and the fleet's; 1 h periods, at most 7
    # days); reconcile counts the selected databases without a copy this recent.
    backup_alarm_hours: int = Field(default=26, ge=2, le=168, alias="BACKUP_ALARM_HOURS")
    # An existing bus (the stack never creates or deletes it): "Backup Requested" goes there.
    event_bus_name: str = Field(
        default="default", alias="EVENT_BUS_NAME", pattern=r"^[A-Za-z0-9._-]{1,256}$"
    )
    # Optional SES configuration set every email is sent with (event publishing, IP pools).
    ses_configuration_set: Annotated[
        str | None,
        BeforeValidator(_blank_is_none),
        _optional_matching(CONFIGURATION_SET, "an SES configuration set name"),
    ] = Field(default=None, alias="SES_CONFIGURATION_SET")
    # Cluster copies have no "finished" event: a one-time EventBridge Scheduler schedule in
    # this group, run with this role (events:PutEvents on the default bus), checks them
    # (rds_backup/state/copy_checks.py). Set by serverless.yml; needed once a cluster is copied.
    copy_check_role_arn: Annotated[
        str | None, BeforeValidator(_blank_is_none), _optional_matching(ROLE_ARN, "an IAM role ARN")
    ] = Field(default=None, alias="COPY_CHECK_ROLE_ARN")
    copy_check_group: str = Field(
        default="default", alias="COPY_CHECK_GROUP", pattern=r"^[0-9a-zA-Z._-]{1,64}$"
    )

    # Recovery (docs/RECOVERY.md). What a restore in TARGET_REGION uses there: the groups a
    # snapshot does not carry (rds_backup/model/manifest.py), by their target-region names.
    restore_subnet_group: Group = Field(default=None, alias="RESTORE_SUBNET_GROUP")
    restore_security_group_ids: SecurityGroups = Field(
        default_factory=list, alias="RESTORE_SECURITY_GROUP_IDS"
    )
    restore_parameter_group: Group = Field(default=None, alias="RESTORE_PARAMETER_GROUP")
    restore_cluster_parameter_group: Group = Field(
        default=None, alias="RESTORE_CLUSTER_PARAMETER_GROUP"
    )
    restore_option_group: Group = Field(default=None, alias="RESTORE_OPTION_GROUP")
    # Restore drills: every selected database restored once every DRILL_EVERY_DAYS into a
    # drill instance in the drill network, checked, and deleted. Off while no subnet group
    # for them is known (DRILL_SUBNET_GROUP, else RESTORE_SUBNET_GROUP).
    drill_every_days: int = Field(default=7, ge=1, le=90, alias="DRILL_EVERY_DAYS")
    drill_subnet_group: Group = Field(default=None, alias="DRILL_SUBNET_GROUP")
    drill_security_group_ids: SecurityGroups = Field(
        default_factory=list, alias="DRILL_SECURITY_GROUP_IDS"
    )
    drill_instance_class: Annotated[
        str, _matching(INSTANCE_CLASS, "a DB instance class such as db.t4g.micro")
    ] = Field(default="db.t4g.micro", alias="DRILL_INSTANCE_CLASS")
    drill_cluster_instance_class: Annotated[
        str, _matching(INSTANCE_CLASS, "a DB instance class such as db.t4g.medium")
    ] = Field(default="db.t4g.medium", alias="DRILL_CLUSTER_INSTANCE_CLASS")
    drill_concurrency: int = Field(default=2, ge=1, le=20, alias="DRILL_CONCURRENCY")
    drill_max_hours: int = Field(default=6, ge=1, le=72, alias="DRILL_MAX_HOURS")
    drill_checks: Annotated[list[SqlCheck], BeforeValidator(_sql_checks), Field(max_length=50)] = (
        Field(default_factory=list, alias="DRILL_CHECKS")
    )
    # The drill's probe function in TARGET_REGION, in the drill network (the target-region
    # stack's probe_drill; set by serverless.yml).
    drill_probe_function: OptionalText = Field(default=None, alias="DRILL_PROBE_FUNCTION")

    # The vault account (docs/VAULT.md): off while VAULT_ACCOUNT_ID is unset. Each night's
    # copy is shared with that account and announced on its bus (VAULT_EVENT_BUS_ARN); the
    # vault's own stack (infra/vault/) copies it with its key and keeps it for its retention.
    vault_account_id: Annotated[
        str | None,
        BeforeValidator(_blank_is_none),
        _optional_matching(ACCOUNT, "a 12-digit AWS account id"),
    ] = Field(default=None, alias="VAULT_ACCOUNT_ID")
    # Where the vault keeps its copies (default TARGET_REGION, where the shared copy lives).
    vault_region: Annotated[Region | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="VAULT_REGION"
    )
    # The vault account's customer managed key, in VAULT_REGION (doctor checks it exists).
    vault_kms_key_id: Annotated[KmsKey | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="VAULT_KMS_KEY_ID"
    )
    # The vault's retention, GFS as the main chain's (read by the vault's stack).
    vault_retention_days: int = Field(default=35, ge=1, le=3650, alias="VAULT_RETENTION_DAYS")
    vault_keep_daily: int = Field(default=0, ge=0, le=3650, alias="VAULT_KEEP_DAILY")
    vault_keep_weekly: int = Field(default=0, ge=0, le=520, alias="VAULT_KEEP_WEEKLY")
    vault_keep_monthly: int = Field(default=0, ge=0, le=120, alias="VAULT_KEEP_MONTHLY")
    # The vault's custom bus ("Snapshot Shared With Vault" goes there).
    vault_event_bus_arn: Annotated[
        str | None, BeforeValidator(_blank_is_none), _optional_matching(BUS_ARN, "an event bus ARN")
    ] = Field(default=None, alias="VAULT_EVENT_BUS_ARN")

    @model_validator(mode="after")
    def _regions_and_keys_agree(self) -> Settings:
        problems = []
        if not self.db_identifiers and self.db_select_tag is None:
            problems.append(NO_DATABASES)
        if self.source_region == self.target_region:
            problems.append(
                "TARGET_REGION: must differ from SOURCE_REGION "
                f"(both are {self.source_region}); a same-region copy survives no region loss"
            )
        elif pair := copy_pair_problem(self.source_region, self.target_region):
            problems.append(pair)
        problems.extend(self._key_problems())
        problems.extend(self._vault_problems())
        if problems:
            raise ValueError("\n".join(problems))  # one problem a line (";" occurs in them)
        return self

    def _key_problems(self) -> list[str]:
        problems = []
        for name, key, region in (
            ("KMS_KEY_ID", self.kms_key_id, None),
            ("SOURCE_KMS_KEY_ID", self.source_kms_key_id, self.source_region),
            ("TARGET_KMS_KEY_ID", self.target_kms_key_id, self.target_region),
        ):
            arn = parse_kms_arn(key) if key else None
            if arn and region and arn.region != region and not arn.multi_region:
                problems.append(f"{name}: key ARN is in {arn.region}, expected {region}")
        if self.target_kms_key_id is None:
            arn = parse_kms_arn(self.kms_key_id)
            if arn and not arn.multi_region and arn.region != self.target_region:
                problems.append(
                    f"KMS_KEY_ID: key ARN is in {arn.region} but copies and exports are "
                    f"encrypted in TARGET_REGION {self.target_region}; set TARGET_KMS_KEY_ID "
                    "or use a multi-Region key (mrk-...)"
                )
        for key in self.db_kms_key_ids:
            arn = parse_kms_arn(key)
            if arn and not arn.multi_region and arn.region != self.source_region:
                problems.append(
                    f"DB_KMS_KEY_IDS: key ARN is in {arn.region}, but the databases are in "
                    f"SOURCE_REGION {self.source_region}"
                )
        if self.store_to_source_s3 and self.keys.source is None:
            problems.append(
                "SOURCE_KMS_KEY_ID: STORE_TO_SOURCE_S3=true needs a key in SOURCE_REGION "
                f"{self.source_region}; set SOURCE_KMS_KEY_ID or use a multi-Region key"
            )
        return problems

    def _vault_problems(self) -> list[str]:
        """VAULT_*: all or nothing, and the vault is another account (docs/VAULT.md)."""
        if self.vault_account_id is None:
            named = [
                name
                for name, value in (
                    ("VAULT_REGION", self.vault_region),
                    ("VAULT_KMS_KEY_ID", self.vault_kms_key_id),
                    ("VAULT_EVENT_BUS_ARN", self.vault_event_bus_arn),
                )
                if value is not None
            ]
            if not named:
                return []
            return [
                f"VAULT_ACCOUNT_ID: required when {', '.join(named)} is set (the vault is off "
                "without it; unset those, or name the vault account)"
            ]
        problems = []
        if self.vault_account_id == self.account_id:
            problems.append(
                f"VAULT_ACCOUNT_ID: {self.vault_account_id} is this stack's own account; a vault "
                "must be another account, or one credential can still delete every copy"
            )
        if self.vault_event_bus_arn is None:
            problems.append(
                "VAULT_EVENT_BUS_ARN: required with VAULT_ACCOUNT_ID (the vault account gets no "
                "event when a snapshot is shared with it; the chain tells it on this bus: "
                "the vault stack's output VaultEventBusArn)"
            )
        else:
            parts = self.vault_event_bus_arn.split(":")
            if parts[4] != self.vault_account_id or parts[3] != self.vault_home:
                problems.append(
                    f"VAULT_EVENT_BUS_ARN: {self.vault_event_bus_arn} is not in the vault "
                    f"account {self.vault_account_id} and VAULT_REGION {self.vault_home}"
                )
        if self.vault_kms_key_id is not None:
            arn = parse_kms_arn(self.vault_kms_key_id)
            if arn is None:
                problems.append(
                    "VAULT_KMS_KEY_ID: give the vault key's full ARN (an id or alias would be "
                    "looked up in this account, not the vault's)"
                )
            elif arn.account != self.vault_account_id or (
                arn.region != self.vault_home and not arn.multi_region
            ):
                problems.append(
                    f"VAULT_KMS_KEY_ID: key ARN is in account {arn.account} region "
                    f"{arn.region}, expected the vault account {self.vault_account_id} in "
                    f"VAULT_REGION {self.vault_home}"
                )
        return problems

    @property
    def vault_enabled(self) -> bool:
        return self.vault_account_id is not None

    @property
    def vault_home(self) -> str:
        """The vault's region: VAULT_REGION, else TARGET_REGION (where the shared copy is)."""
        return self.vault_region or self.target_region

    @property
    def drill_subnet(self) -> str | None:
        """The DB subnet group drills restore into (DRILL_SUBNET_GROUP, else
        RESTORE_SUBNET_GROUP); None: drills are off."""
        return self.drill_subnet_group or self.restore_subnet_group

    @property
    def drills_enabled(self) -> bool:
        return self.drill_subnet is not None

    @property
    def option_group_in_target(self) -> str | None:
        """The option group restores and copies use in TARGET_REGION."""
        return self.restore_option_group or self.target_option_group

    @property
    def select_tag(self) -> tuple[str, str] | None:
        """DB_SELECT_TAG as (key, value), or None when databases are only named."""
        if self.db_select_tag is None:
            return None
        key, _, value = self.db_select_tag.partition("=")
        return key, value

    @property
    def account_id(self) -> str:
        """This stack's account: the export role must live in it (iam:PassRole)."""
        return self.export_role_arn.split(":")[4]

    @property
    def sender(self) -> str:
        return self.sender_email or self.admin_emails[0]

    @property
    def keys(self) -> RegionKeys:
        """Resolve the configured keys to what RDS accepts in each region.

        A multi-Region key (``mrk-…``) has a replica with the same id in every region, so
        it is rewritten to that region's ARN; a regular key only works where it lives.
        """
        return RegionKeys(
            source=self.source_kms_key_id or _key_in_region(self.kms_key_id, self.source_region),
            target=self.target_kms_key_id
            or _key_in_region(self.kms_key_id, self.target_region)
            or self.kms_key_id,
        )

    def key_for(self, region: str) -> str:
        key = self.keys.source if region == self.source_region else self.keys.target
        if key is None:
            raise ConfigError([f"SOURCE_KMS_KEY_ID: no KMS key configured for {region}"])
        return key


def _key_in_region(key: str, region: str) -> str | None:
    arn = parse_kms_arn(key)
    if arn is None:
        # A bare multi-Region key id names the replica in every region; a bare regular id
        # or alias is taken as living in the region it is used in only when it is an mrk.
        return key if key.startswith("mrk-") else None
    if arn.multi_region:
        return arn.in_region(region)
    return key if arn.region == region else None


def _describe(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            problems.append(f"{loc}: required but not set")
        elif loc:
            problems.append(f"{loc}: {message}")
        else:
            problems.extend(part.strip() for part in message.split("\n"))
    return problems


def parse_settings(environ: Mapping[str, str]) -> Settings:
    """Validate an environment mapping, reporting every problem in one ConfigError: the
    rules between variables too, even while single variables are also wrong (pydantic runs
    the model's own cross-field validator only once every field is valid)."""
    try:
        return Settings.model_validate(dict(environ))
    except ValidationError as error:
        problems = _describe(error)
        for problem in _cross_field_problems(environ):
            if not any(problem.split(":", 1)[0] == p.split(":", 1)[0] for p in problems):
                problems.append(problem)
        raise ConfigError(problems) from None


def _cross_field_problems(environ: Mapping[str, str]) -> list[str]:
    """The rules between variables, read from the raw environment (used when some field is
    invalid, so the model's after-validator could not run)."""
    problems = []
    if (
        not str(environ.get("DB_IDENTIFIER", "")).strip()
        and not str(environ.get("DB_SELECT_TAG", "")).strip()
    ):
        problems.append(NO_DATABASES)
    source = str(environ.get("SOURCE_REGION", "")).strip()
    target = str(environ.get("TARGET_REGION", "")).strip()
    if source and source == target:
        problems.append(
            "TARGET_REGION: must differ from SOURCE_REGION "
            f"(both are {source}); a same-region copy survives no region loss"
        )
    elif source and target and (pair := copy_pair_problem(source, target)):
        problems.append(pair)
    store = str(environ.get("STORE_TO_SOURCE_S3", "")).strip().lower() in TRUE
    key = str(environ.get("KMS_KEY_ID", "")).strip()
    source_key = str(environ.get("SOURCE_KMS_KEY_ID", "")).strip()
    if store and not source_key and key and source and _key_in_region(key, source) is None:
        problems.append(
            "SOURCE_KMS_KEY_ID: STORE_TO_SOURCE_S3=true needs a key in SOURCE_REGION "
            f"{source}; set SOURCE_KMS_KEY_ID or use a multi-Region key"
        )
    return problems


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """The process's settings, validated once per Lambda container."""
    return parse_settings(os.environ)


def main(argv: list[str] | None = None) -> int:
    """``python -m rds_backup.settings --check``: validate this process's environment as
    every handler does at start. Exit 0 when valid; else print the ConfigError (every
    problem at once) on stderr and exit 1. Packaging runs exactly this (infra/checks.js),
    so a setting the handlers would refuse fails ``serverless package`` with the same text.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m rds_backup.settings", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="validate the environment")
    parser.parse_args(argv)
    try:
        parse_settings(os.environ)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
