"""The vault account, both sides (issue 25; docs/VAULT.md): share_vault in the source account
shares each night's copy and tells the vault; the vault copies it with its own key, once,
within its limits, and reports back; the share is then removed. In-process moto with the
local AWS's two accounts (rds_backup/local/accounts.py, sharing.py), real boto3 calls, each
account with its own credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto.rds.models import rds_backends

from events import load_sample
from handlers import notify, share_vault, vault_copy
from rds_backup.aws import Aws, get_aws
from rds_backup.errors import StepFailed
from rds_backup.local import accounts, sharing
from rds_backup.local import limits as local_limits
from rds_backup.local.accounts import SOURCE_ACCOUNT, VAULT_ACCOUNT, Vault, VaultSpec
from rds_backup.local.context import LocalContext
from rds_backup.local.seed import WorldSpec, create_database
from rds_backup.ops.runs_table import recent_runs
from rds_backup.settings import load_settings
from rds_backup.steps.share_vault import KEY_NOT_SHAREABLE
from rds_backup.vault.cleanup import cleanup
from rds_backup.vault.copy import sync
from rds_backup.vault.plan import SOURCE_TAG, VAULT_TAG
from rds_backup.vault.settings import VaultSettings, load_vault_settings, parse_vault_settings
from tests.integration.chain import snapshot_and_copy
from tests.support import rds_event, sent_emails

SOURCE, TARGET = "us-east-1", "us-west-2"
CONTEXT = LocalContext()
RUN = "20261125-0300"
SOURCE_BUS = f"arn:aws:events:{SOURCE}:{SOURCE_ACCOUNT}:event-bus/default"


@dataclass
class Accounts:
    vault: Aws
    seeded: Vault
    settings: VaultSettings

    def copies(self) -> list[dict[str, Any]]:
        return list(
            self.vault.rds(TARGET).describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        )


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=("orders",))


@pytest.fixture
def two(world: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Accounts]:
    sharing.install()
    vault = Aws(accounts.assume(boto3.client("sts", SOURCE), VAULT_ACCOUNT))
    seeded = accounts.seed_vault(
        vault,
        Aws(),
        VaultSpec(allow_detail_types=("Snapshot Shared With Vault",)),
        [world["KMS_KEY_ID"]],
    )
    # The source stack's VaultReportsPolicy (infra/functions/share_vault.yml), as deployed.
    accounts.allow_events(
        Aws().events(SOURCE),
        "default",
        VAULT_ACCOUNT,
        ["Vault Copy Finished"],
        ["rds-backup.vault"],
    )
    monkeypatch.setenv("VAULT_ACCOUNT_ID", VAULT_ACCOUNT)
    monkeypatch.setenv("VAULT_EVENT_BUS_ARN", seeded.bus_arn)
    load_settings.cache_clear()
    get_aws.cache_clear()
    settings = parse_vault_settings(
        {
            "VAULT_REGION": TARGET,
            "VAULT_KMS_KEY_ID": seeded.key_arn,
            "SOURCE_ACCOUNT_ID": SOURCE_ACCOUNT,
            "SHARED_REGION": TARGET,
            "SOURCE_EVENT_BUS_ARN": SOURCE_BUS,
        }
    )
    yield Accounts(vault, seeded, settings)
    local_limits.reset_quotas()


def _shared_event(snapshot: str, **extra: Any) -> dict[str, Any]:
    event = load_sample("snapshot-shared-with-vault")
    arn = f"arn:aws:rds:{TARGET}:{SOURCE_ACCOUNT}:snapshot:{snapshot}"
    event["detail"].update(SnapshotArn=arn, Database=snapshot.split("-")[2], Run=RUN)
    event["resources"] = [arn]
    event.update(extra)
    return event


def _restore_attribute(snapshot: str) -> list[str]:
    answer = Aws().rds(TARGET).describe_db_snapshot_attributes(DBSnapshotIdentifier=snapshot)
    for attribute in answer["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]:
        if attribute["AttributeName"] == "restore":
            return list(attribute.get("AttributeValues", []))
    return []


def _made(identifier: str, when: datetime) -> None:
    """Date a vault copy (moto stamps every snapshot with the moment it was made)."""
    rds_backends[VAULT_ACCOUNT][TARGET].database_snapshots[identifier].created = when


def _vault_copy_finished(snapshot: str, vault_copy: str) -> dict[str, Any]:
    event = load_sample("vault-copy-finished")
    event["detail"]["SnapshotArn"] = f"arn:aws:rds:{TARGET}:{SOURCE_ACCOUNT}:snapshot:{snapshot}"
    event["detail"]["VaultCopyArn"] = vault_copy
    return event


def _the_vault_gets(two: Accounts, event: dict[str, Any]) -> dict[str, Any]:
    """The vault's handler, as its stack runs it: its settings, the vault's credentials."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "VAULT_REGION": TARGET,
            "VAULT_KMS_KEY_ID": two.seeded.key_arn,
            "SOURCE_ACCOUNT_ID": SOURCE_ACCOUNT,
            "SHARED_REGION": TARGET,
            "SOURCE_EVENT_BUS_ARN": SOURCE_BUS,
        }.items():
            patch.setenv(key, value)
        load_vault_settings.cache_clear()
        get_aws.cache_clear()
        patch.setattr("handlers.vault_copy.get_aws", lambda: two.vault)
        result: dict[str, Any] = vault_copy.handler(event, CONTEXT)
        load_vault_settings.cache_clear()
        get_aws.cache_clear()
        return result


def test_given_a_copy_on_a_shareable_key_when_available_then_it_is_shared_vaulted_and_unshared(
    two: Accounts,
) -> None:
    # given: tonight's copy in the target region
    snapshot_and_copy()
    name = f"rds-backup-orders-{RUN}"

    # when: its copy-finished event reaches share_vault; the vault hears of it
    shared = share_vault.handler(rds_event("RDS-EVENT-0060", TARGET, name), CONTEXT)
    first = _the_vault_gets(two, _shared_event(name))
    second = _the_vault_gets(two, load_sample("scheduled"))  # reconcile: the copy is done

    # then: shared, copied on the vault key, tagged as the vault's own, reported
    assert shared["shared"].endswith(f":snapshot:{name}")
    assert first["instance"]["started"] == [f"vault-copy {name}"]
    [copy] = two.copies()
    assert copy["DBSnapshotArn"] == f"arn:aws:rds:{TARGET}:{VAULT_ACCOUNT}:snapshot:{name}"
    assert copy["KmsKeyId"] == two.seeded.key_arn
    tags = {t["Key"]: t["Value"] for t in copy["TagList"]}
    assert tags[VAULT_TAG] == "rds-backup-vault"
    assert tags[SOURCE_TAG] == shared["shared"]
    assert second["reported"] == 1

    # when: the vault's report reaches share_vault
    unshared = share_vault.handler(_vault_copy_finished(name, copy["DBSnapshotArn"]), CONTEXT)

    # then: the share is gone, the vault keeps its copy, the next pass reports nothing, and
    # status says where the vault keeps it
    assert unshared["unshared"] == shared["shared"]
    assert _restore_attribute(name) == []
    [row] = recent_runs(load_settings(), Aws(), datetime(2026, 11, 25, 6, tzinfo=UTC), 2)
    assert row.as_dict()["vault"] == (
        f"in the vault: account {VAULT_ACCOUNT}, region {TARGET}, copy {name}"
    )
    assert _the_vault_gets(two, load_sample("scheduled"))["reported"] == 0
    assert len(two.copies()) == 1


def test_given_a_copy_on_the_default_key_when_available_then_it_is_refused_with_the_fix_once(
    two: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the copies are encrypted with the account's default key aws/rds
    monkeypatch.setenv("KMS_KEY_ID", "alias/aws/rds")
    load_settings.cache_clear()
    snapshot_and_copy()
    name = f"rds-backup-orders-{RUN}"

    # when
    with pytest.raises(StepFailed) as refused:
        share_vault.handler(rds_event("RDS-EVENT-0060", TARGET, name), CONTEXT)

    # then: not shared, and the failure names the fix
    failure = refused.value
    assert failure.code == KEY_NOT_SHAREABLE
    assert "aws/rds" in failure.cause
    assert "TARGET_KMS_KEY_ID" in failure.remedy
    assert _restore_attribute(name) == []

    # when: Lambda's on-failure record reaches notify twice (a duplicated event)
    record = json.dumps(failure.record())  # what rds_backup.errors.reported leaves Lambda
    event = load_sample("lambda-invocation-failure")
    event["detail"]["requestContext"]["functionArn"] = (
        f"arn:aws:lambda:{SOURCE}:{SOURCE_ACCOUNT}:function:rds-backup-share_vault:$LATEST"
    )
    event["detail"]["responsePayload"]["errorMessage"] = record
    for _ in range(2):
        notify.handler(event, CONTEXT)

    # then: one email reaches a person, with the fix
    [email] = sent_emails(SOURCE)
    assert "TARGET_KMS_KEY_ID" in str(email.body)


def test_given_duplicated_and_replayed_shared_events_when_the_vault_copies_then_one_copy(
    two: Accounts,
) -> None:
    # given
    snapshot_and_copy()
    name = f"rds-backup-orders-{RUN}"
    share_vault.handler(rds_event("RDS-EVENT-0060", TARGET, name), CONTEXT)

    # when: the same event twice, then replayed from the archive
    results = [
        _the_vault_gets(two, _shared_event(name)),
        _the_vault_gets(two, _shared_event(name)),
        _the_vault_gets(two, _shared_event(name, **{"replay-name": "rds-backup-replay"})),
    ]

    # then: one copy; later passes find it made and report it
    assert [copy["DBSnapshotIdentifier"] for copy in two.copies()] == [name]
    assert results[0]["instance"]["started"] == [f"vault-copy {name}"]
    assert [r["reported"] for r in results[1:]] == [1, 1]


def test_given_the_vault_quota_reached_when_shared_then_copies_wait_and_none_is_lost(
    two: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: three databases' copies shared, room in the vault for one more manual snapshot
    for database in ("billing", "ledger"):
        create_database(Aws(), SOURCE, database, load_settings().keys.source)
    monkeypatch.setenv("DB_IDENTIFIER", "orders,billing,ledger")
    load_settings.cache_clear()
    snapshot_and_copy()
    names = []
    for database in ("orders", "billing", "ledger"):
        name = f"rds-backup-{database}-{RUN}"
        names.append(name)
        share_vault.handler(rds_event("RDS-EVENT-0060", TARGET, name), CONTEXT)
    local_limits.set_quota(TARGET, manual_snapshots=1)  # per account: the vault's has none

    # when
    first = sync(two.settings, two.vault)

    # then: one copy, two wait (still shared with the vault, nothing was dropped)
    assert first["shared"] == 3
    assert len(first["instance"]["started"]) == 1
    assert first["instance"]["waiting"] == 2
    assert len(two.copies()) == 1

    # when: the quota is raised and the reconcile pass runs
    local_limits.set_quota(TARGET, manual_snapshots=100)
    later = sync(two.settings, two.vault)

    # then: every database is in the vault
    assert len(later["instance"]["started"]) == 2
    assert sorted(c["DBSnapshotIdentifier"] for c in two.copies()) == sorted(names)


def test_given_old_vault_copies_and_look_alikes_when_the_vault_cleans_up_then_only_its_own_go(
    two: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the vault's copy of tonight's snapshot, a person's copy and a look-alike with the
    # vault's tag copied onto another id, all older than VAULT_RETENTION_DAYS
    snapshot_and_copy()
    name = f"rds-backup-orders-{RUN}"
    share_vault.handler(rds_event("RDS-EVENT-0060", TARGET, name), CONTEXT)
    sync(two.settings, two.vault)
    rds = two.vault.rds(TARGET)
    arn = f"arn:aws:rds:{TARGET}:{SOURCE_ACCOUNT}:snapshot:{name}"
    for other, tags in (
        ("orders-by-hand", []),
        (f"{name}-keep", [{"Key": VAULT_TAG, "Value": "rds-backup-vault"},
                          {"Key": SOURCE_TAG, "Value": arn}]),
    ):  # fmt: skip
        rds.copy_db_snapshot(
            SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier=other,
            KmsKeyId=two.seeded.key_arn, Tags=tags,
        )  # fmt: skip
    later = datetime(2027, 3, 1, tzinfo=UTC)  # past 35 days for every one of them
    monkeypatch.setattr("rds_backup.clock.now", lambda: later)

    # when: a second vaulted night makes the first one deletable (MIN_KEEP keeps the newest)
    rds.copy_db_snapshot(
        SourceDBSnapshotIdentifier=arn,
        TargetDBSnapshotIdentifier="rds-backup-orders-20270228-0300",
        KmsKeyId=two.seeded.key_arn,
        Tags=[{"Key": VAULT_TAG, "Value": "rds-backup-vault"},
              {"Key": SOURCE_TAG, "Value": arn.replace(RUN, "20270228-0300")}],
    )  # fmt: skip
    _made(name, datetime(2026, 11, 25, 3, 30))
    _made("rds-backup-orders-20270228-0300", datetime(2027, 2, 28, 3, 30))
    dry = cleanup(two.settings, two.vault, dry_run=True)
    done = cleanup(two.settings, two.vault)

    # then: only the vault's own expired copy, never the person's or the look-alike
    assert dry["deleted"] == done["deleted"] == [name]
    left = sorted(c["DBSnapshotIdentifier"] for c in two.copies())
    assert left == sorted(["orders-by-hand", f"{name}-keep", "rds-backup-orders-20270228-0300"])


def test_given_a_lost_shared_event_when_the_reconcile_pass_runs_then_the_copy_is_made(
    two: Accounts,
) -> None:
    # given: shared, but the "shared" event never reached the vault
    snapshot_and_copy()
    name = f"rds-backup-orders-{RUN}"
    share_vault.handler(rds_event("RDS-EVENT-0060", TARGET, name), CONTEXT)

    # when: the vault's schedule fires
    result = _the_vault_gets(two, load_sample("scheduled"))

    # then: it listed what is shared with it and copied it
    assert result["shared"] == 1
    assert result["instance"]["started"] == [f"vault-copy {name}"]
    assert [c["DBSnapshotIdentifier"] for c in two.copies()] == [name]


def test_given_a_vault_copy_that_failed_when_reported_then_the_share_stays_and_a_person_is_told(
    two: Accounts,
) -> None:
    # given: the vault's copy ended failed
    snapshot_and_copy()
    name = f"rds-backup-orders-{RUN}"
    share_vault.handler(rds_event("RDS-EVENT-0060", TARGET, name), CONTEXT)
    sync(two.settings, two.vault)
    rds_backends[VAULT_ACCOUNT][TARGET].database_snapshots[name].status = "failed"

    # when: the next pass reports it, and the report reaches share_vault
    result = sync(two.settings, two.vault)
    report = load_sample("vault-copy-finished")
    report["detail"].update(
        SnapshotArn=f"arn:aws:rds:{TARGET}:{SOURCE_ACCOUNT}:snapshot:{name}",
        Outcome="failed",
        Cause="the vault copy is failed",
    )
    with pytest.raises(StepFailed) as told:
        share_vault.handler(report, CONTEXT)

    # then: the failure names the vault's cause; the share is kept for the retry
    assert result["failed"] == [name]
    assert told.value.code == "VaultCopyFailed"
    assert "the vault copy is failed" in told.value.cause
    assert _restore_attribute(name) == [VAULT_ACCOUNT]
