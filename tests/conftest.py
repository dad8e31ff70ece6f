"""Shared fixtures: an isolated environment, in-process moto with a seeded world, and a
Lambda context. No test reaches the network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from rds_backup.aws import Aws, get_aws
from rds_backup.local import eventbridge as local_eventbridge
from rds_backup.local import limits as local_limits
from rds_backup.local.context import LocalContext
from rds_backup.local.seed import WorldSpec, seed_world
from rds_backup.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_SAMPLES = ROOT.parent / "shared" / "aws-samples"

# Names the project reads; cleared before each test so the developer's shell leaks nothing in.
PROJECT_VARS = [
    "SOURCE_REGION",
    "TARGET_REGION",
    "DB_IDENTIFIER",
    "DB_SELECT_TAG",
    "SOURCE_BUCKET",
    "TARGET_BUCKET",
    "KMS_KEY_ID",
    "SOURCE_KMS_KEY_ID",
    "TARGET_KMS_KEY_ID",
    "EXPORT_ROLE_ARN",
    "ADMIN_EMAIL",
    "SENDER_EMAIL",
    "KEEP_SOURCE_SNAPSHOT",
    "STORE_TO_SOURCE_S3",
    "RETENTION_DAYS",
    "SNAPSHOT_PREFIX",
    "STACK_NAME",
    "EXPORT_S3_PREFIX",
    "TARGET_OPTION_GROUP",
    "IDEMPOTENCY_TABLE",
    "EVENT_BUS_NAME",
    "KEEP_DAILY",
    "KEEP_WEEKLY",
    "KEEP_MONTHLY",
    "MIN_KEEP",
    "KEEP_UNSELECTED",
    "DELETE_OLD_EXPORTS",
    "RECONCILE_GRACE_MINUTES",
    "STEP_DEADLINE_HOURS",
    "EXPORT_DEADLINE_HOURS",
    "EXPORT_EVERY_DAYS",
    "MANUAL_SNAPSHOT_QUOTA",
    "EXPORT_HOURS_ESTIMATE",
    "DB_KMS_KEY_IDS",
    "SES_CONFIGURATION_SET",
    "NOTIFY_MODE",
    "DIGEST_CUTOFF_HOURS",
    "BACKUP_ALARM_HOURS",
    "COPY_CHECK_ROLE_ARN",
    "COPY_CHECK_GROUP",
    "RESTORE_SUBNET_GROUP",
    "RESTORE_SECURITY_GROUP_IDS",
    "RESTORE_PARAMETER_GROUP",
    "RESTORE_CLUSTER_PARAMETER_GROUP",
    "RESTORE_OPTION_GROUP",
    "DRILL_SUBNET_GROUP",
    "DRILL_SECURITY_GROUP_IDS",
    "AWS_ENDPOINT_URL",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in PROJECT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "RdsBackup")
    load_settings.cache_clear()
    get_aws.cache_clear()
    yield
    load_settings.cache_clear()
    get_aws.cache_clear()


@pytest.fixture
def spec() -> WorldSpec:
    """Override in a test module (or parametrize) to change the seeded world."""
    return WorldSpec()


@pytest.fixture
def world(spec: WorldSpec, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """In-process moto with the seeded world; its environment is exported for handlers.
    AWS's RDS limits and DescribeAccountAttributes are added to moto (rds_backup/local/limits)."""
    local_limits.install()
    local_eventbridge.install()
    local_limits.reset_quotas()
    with mock_aws():
        env = seed_world(Aws(), spec)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        load_settings.cache_clear()
        get_aws.cache_clear()
        yield env


@pytest.fixture
def settings(world: dict[str, str]) -> Settings:
    return load_settings()


@pytest.fixture
def aws(world: dict[str, str]) -> Aws:
    return get_aws()


@pytest.fixture
def context() -> LocalContext:
    return LocalContext()


def env_var(name: str) -> str:
    return os.environ[name]
