"""The local AWS with a vault account (rds_backup/local/accounts.py): the harness acts in
either account, a night's snapshots can be shared with the vault and copied there with its
own key, RDS tells the vault of its copies on its own bus, and the source account cannot
touch what the vault holds. Over the wire, through the moto server, as the chain would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rds_backup.local.accounts import ADMIN_ROLE, SOURCE_ACCOUNT, VAULT_ACCOUNT, VaultSpec
from rds_backup.local.harness import LocalAws
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import LocalServer
from rds_backup.model.naming import snapshot_id
from tests.e2e.conftest import timed_local
from tests.e2e.support import PREFIX, run_nightly

SOURCE, TARGET = "us-east-1", "us-west-2"
SHARED = "Vault Snapshot Shared"


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(
        databases=("orders",),
        keep_source_snapshot=True,
        vault=VaultSpec(allow_detail_types=(SHARED,)),
    )


def _watch_vault_bus(local: LocalAws) -> str:
    """A rule on the vault's default bus in its region sending RDS's events to a queue."""
    assert local.vault is not None
    vault = local.aws_for(VAULT_ACCOUNT)
    url = vault.client("sqs", TARGET).create_queue(QueueName="vault-rds-events")["QueueUrl"]
    events = vault.events(TARGET)
    events.put_rule(Name="rds-events", EventPattern=json.dumps({"source": ["aws.rds"]}))
    events.put_targets(
        Rule="rds-events",
        Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{TARGET}:{VAULT_ACCOUNT}:vault-rds-events"}],
    )
    return str(url)


def _received(local: LocalAws, url: str) -> list[dict[str, Any]]:
    sqs = local.aws_for(VAULT_ACCOUNT).client("sqs", TARGET)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_given_a_vault_world_when_the_harness_acts_in_each_account_then_each_is_its_own(
    local_aws: LocalAws,
) -> None:
    # when
    vault = local_aws.aws_for(VAULT_ACCOUNT)
    who = vault.client("sts", TARGET).get_caller_identity()
    source_who = local_aws.server.client("sts", SOURCE).get_caller_identity()

    # then
    assert (source_who["Account"], who["Account"]) == (SOURCE_ACCOUNT, VAULT_ACCOUNT)
    seeded = local_aws.vault
    assert seeded is not None
    assert seeded.role_arn == f"arn:aws:iam::{VAULT_ACCOUNT}:role/{ADMIN_ROLE}"
    for aws in (vault, local_aws.aws_for(SOURCE_ACCOUNT)):
        assert aws.client("iam", TARGET).get_role(RoleName=ADMIN_ROLE)["Role"]["RoleName"]
    key = vault.client("kms", TARGET).describe_key(KeyId=seeded.key_arn)["KeyMetadata"]
    assert (key["KeyManager"], key["Arn"].split(":")[3:5]) == ("CUSTOMER", [TARGET, VAULT_ACCOUNT])
    policy = json.loads(vault.events(TARGET).describe_event_bus(Name=seeded.bus_name)["Policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{SOURCE_ACCOUNT}:root"}
    assert statement["Condition"] == {"StringEquals": {"events:detail-type": [SHARED]}}
    # the source account's own view holds nothing of the vault's
    aliases = local_aws.server.client("kms", TARGET).list_aliases()["Aliases"]
    assert "alias/rds-backup-vault" not in {a["AliasName"] for a in aliases}


def test_given_a_nights_snapshots_shared_when_the_vault_copies_them_then_they_are_its_own(
    local_aws: LocalAws,
) -> None:
    # given: a night of the chain, its source snapshot kept and its copy in the target region
    run = run_nightly(local_aws)
    assert local_aws.vault is not None
    name = snapshot_id(PREFIX, "orders", run)
    source_rds = {r: local_aws.server.client("rds", r) for r in (SOURCE, TARGET)}
    arns = {
        r: source_rds[r].describe_db_snapshots(DBSnapshotIdentifier=name)["DBSnapshots"][0][
            "DBSnapshotArn"
        ]
        for r in (SOURCE, TARGET)
    }
    for rds in source_rds.values():
        rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier=name, AttributeName="restore", ValuesToAdd=[VAULT_ACCOUNT]
        )
    watched = _watch_vault_bus(local_aws)
    vault_rds = local_aws.aws_for(VAULT_ACCOUNT).rds(TARGET)

    # when: the source-region snapshot across account and region, the copy across account
    far = vault_rds.copy_db_snapshot(
        SourceDBSnapshotIdentifier=arns[SOURCE], TargetDBSnapshotIdentifier=f"{name}-far",
        KmsKeyId=local_aws.vault.key_arn, SourceRegion=SOURCE, CopyTags=True,
    )["DBSnapshot"]  # fmt: skip
    near = vault_rds.copy_db_snapshot(
        SourceDBSnapshotIdentifier=arns[TARGET], TargetDBSnapshotIdentifier=name,
        KmsKeyId=local_aws.vault.key_arn,
    )["DBSnapshot"]  # fmt: skip
    local_aws.run_until_quiet()

    # then: both are the vault's, on its key; RDS told the vault (not the source) of the
    # cross-Region copy on its own bus
    for copy in (far, near):
        assert copy["DBSnapshotArn"].split(":")[3:5] == [TARGET, VAULT_ACCOUNT]
        assert copy["KmsKeyId"] == local_aws.vault.key_arn
    finished = [
        e for e in _received(local_aws, watched) if e["detail"]["EventID"] == "RDS-EVENT-0060"
    ]
    assert [e["detail"]["SourceArn"] for e in finished] == [far["DBSnapshotArn"]]

    # when the source stops sharing and tries to delete the vault's copies
    for rds in source_rds.values():
        rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier=name, AttributeName="restore", ValuesToRemove=[VAULT_ACCOUNT]
        )
    refusals = []
    for identifier in (f"{name}-far", near["DBSnapshotArn"], far["DBSnapshotArn"]):
        with pytest.raises(ClientError) as refused:
            source_rds[TARGET].delete_db_snapshot(DBSnapshotIdentifier=identifier)
        refusals.append(refused.value.response["Error"]["Code"])

    # then: not in the caller's account, as RDS answers; the vault keeps both
    assert refusals == ["DBSnapshotNotFound"] * 3
    kept = vault_rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert sorted(s["DBSnapshotIdentifier"] for s in kept) == sorted([name, f"{name}-far"])
    assert vault_rds.describe_db_snapshots(SnapshotType="shared")["DBSnapshots"] == []


def test_given_timed_mode_when_the_vault_copies_a_shared_snapshot_then_it_takes_its_time(
    spec: WorldSpec, local_server: LocalServer, templates: dict[str, dict[str, Any]]
) -> None:
    # given: the night's source snapshot, shared with the vault, on the virtual clock
    start = datetime(2026, 1, 5, 2, 55, tzinfo=UTC)
    with timed_local(spec, local_server, templates, start, ("start_backup",)) as local:
        local.run_until(start + timedelta(minutes=6))
        local.run_until_quiet()
        assert local.vault is not None
        rds = local.server.client("rds", SOURCE)
        [night] = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier=night["DBSnapshotIdentifier"], AttributeName="restore",
            ValuesToAdd=[VAULT_ACCOUNT],
        )  # fmt: skip
        watched = _watch_vault_bus(local)
        vault_rds = local.aws_for(VAULT_ACCOUNT).rds(TARGET)

        # when
        born = vault_rds.copy_db_snapshot(
            SourceDBSnapshotIdentifier=night["DBSnapshotArn"], TargetDBSnapshotIdentifier="vault",
            KmsKeyId=local.vault.key_arn, SourceRegion=SOURCE,
        )["DBSnapshot"]  # fmt: skip
        assert local.clock is not None
        asked = local.clock.now()
        local.run_until_quiet()

        # then: in progress first, available after its copy time, and RDS told the vault
        assert born["Status"] == "creating"
        [copy] = vault_rds.describe_db_snapshots(DBSnapshotIdentifier="vault")["DBSnapshots"]
        assert copy["Status"] == "available"
        [event] = _received(local, watched)
        assert event["detail"]["EventID"] == "RDS-EVENT-0060"
        assert event["detail"]["SourceArn"] == copy["DBSnapshotArn"]
        assert local.clock.now() > asked
