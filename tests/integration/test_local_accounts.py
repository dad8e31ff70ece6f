"""Snapshots shared between the local AWS's two accounts behave as RDS does
(rds_backup/local/sharing.py, accounts.py): in-process moto, real boto3, each account acting
with its own credentials (STS AssumeRole)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from rds_backup.aws import Aws
from rds_backup.local import accounts, sharing
from rds_backup.local.accounts import SOURCE_ACCOUNT, VAULT_ACCOUNT, Vault, VaultSpec
from rds_backup.local.seed import create_cluster, create_database

SOURCE, TARGET = "us-east-1", "us-west-2"


@dataclass
class TwoAccounts:
    source: Aws  # the harness's own credentials: the source account
    vault: Aws  # the vault account's admin role
    seeded: Vault
    env: dict[str, str]

    @property
    def source_key(self) -> str:
        return self.env["SOURCE_KMS_KEY_ID"]


@pytest.fixture
def vault_spec() -> VaultSpec:
    return VaultSpec()


@pytest.fixture
def two(world: dict[str, str], vault_spec: VaultSpec) -> Iterator[TwoAccounts]:
    sharing.install()
    session = accounts.assume(boto3.client("sts", SOURCE), VAULT_ACCOUNT)
    vault = Aws(session)
    keys = [world["KMS_KEY_ID"], world["SOURCE_KMS_KEY_ID"]]
    seeded = accounts.seed_vault(vault, Aws(), vault_spec, keys)
    yield TwoAccounts(Aws(), vault, seeded, world)
    sharing.allow_cluster_one_step(False)


def _snapshot(two: TwoAccounts, database: str = "orders", name: str = "orders-night") -> str:
    created = two.source.rds(SOURCE).create_db_snapshot(
        DBInstanceIdentifier=database, DBSnapshotIdentifier=name
    )
    return str(created["DBSnapshot"]["DBSnapshotArn"])


def _share(two: TwoAccounts, name: str, *accounts_: str) -> dict[str, Any]:
    answer = two.source.rds(SOURCE).modify_db_snapshot_attribute(
        DBSnapshotIdentifier=name, AttributeName="restore", ValuesToAdd=list(accounts_)
    )
    result: dict[str, Any] = answer["DBSnapshotAttributesResult"]
    return result


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _copy(two: TwoAccounts, arn: str, **extra: Any) -> dict[str, Any]:
    answer = two.vault.rds(TARGET).copy_db_snapshot(
        SourceDBSnapshotIdentifier=arn,
        TargetDBSnapshotIdentifier="orders-night-vault",
        SourceRegion=SOURCE,
        **extra,
    )
    snapshot: dict[str, Any] = answer["DBSnapshot"]
    return snapshot


def test_given_the_vault_session_when_it_asks_who_it_is_then_it_is_the_vault_account(
    two: TwoAccounts,
):
    # when
    vault = two.vault.client("sts", SOURCE).get_caller_identity()["Account"]
    source = two.source.client("sts", SOURCE).get_caller_identity()["Account"]

    # then
    assert (source, vault) == (SOURCE_ACCOUNT, VAULT_ACCOUNT)
    key = two.vault.client("kms", TARGET).describe_key(KeyId=two.seeded.key_arn)["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER"
    assert two.seeded.key_arn.split(":")[3:5] == [TARGET, VAULT_ACCOUNT]
    assert two.vault.events(TARGET).describe_event_bus(Name=two.seeded.bus_name)["Arn"] == (
        two.seeded.bus_arn
    )


def test_given_a_snapshot_on_the_default_key_when_shared_then_rds_refuses_it(two: TwoAccounts):
    # given: encrypted without a KmsKeyId, i.e. with the account's aws/rds key
    rds = two.source.rds(SOURCE)
    rds.create_db_instance(
        DBInstanceIdentifier="legacy",
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        MasterUsername="app",
        MasterUserPassword="local-only-password",
        StorageEncrypted=True,
    )
    _snapshot(two, "legacy", "legacy-night")

    # when
    with pytest.raises(ClientError) as refused:
        _share(two, "legacy-night", VAULT_ACCOUNT)

    # then
    assert _code(refused) == "InvalidParameterValue"
    assert "default KMS key" in refused.value.response["Error"]["Message"]
    attributes = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier="legacy-night")
    assert (
        attributes["DBSnapshotAttributesResult"]["DBSnapshotAttributes"][0]["AttributeValues"] == []
    )


def test_given_a_snapshot_on_the_alias_of_the_default_key_when_shared_then_refused(
    two: TwoAccounts,
):
    # given
    create_database(two.source, SOURCE, "aliased", "alias/aws/rds")
    _snapshot(two, "aliased", "aliased-night")

    # when
    with pytest.raises(ClientError) as refused:
        _share(two, "aliased-night", VAULT_ACCOUNT)

    # then
    assert _code(refused) == "InvalidParameterValue"


def test_given_an_encrypted_snapshot_when_made_public_then_rds_refuses_it(two: TwoAccounts):
    # given
    _snapshot(two)

    # when
    with pytest.raises(ClientError) as refused:
        _share(two, "orders-night", "all")

    # then
    assert _code(refused) == "InvalidParameterValue"


def test_given_twenty_accounts_when_a_21st_is_added_then_the_share_quota_refuses_it(
    two: TwoAccounts,
):
    # given
    _snapshot(two)
    twenty = [f"{100000000000 + n}" for n in range(20)]
    assert len(_share(two, "orders-night", *twenty)["DBSnapshotAttributes"][0][
        "AttributeValues"
    ]) == 20  # fmt: skip

    # when
    with pytest.raises(ClientError) as refused:
        _share(two, "orders-night", VAULT_ACCOUNT)

    # then
    assert _code(refused) == "SharedSnapshotQuotaExceeded"


def test_given_a_snapshot_not_shared_when_the_vault_copies_it_then_it_is_not_found(
    two: TwoAccounts,
):
    # given
    arn = _snapshot(two)

    # when
    with pytest.raises(ClientError) as refused:
        _copy(two, arn, KmsKeyId=two.seeded.key_arn)

    # then: the vault cannot tell it from a snapshot that does not exist
    assert _code(refused) == "DBSnapshotNotFound"
    missing = arn.replace("orders-night", "no-such-snapshot")
    with pytest.raises(ClientError) as absent:
        _copy(two, missing, KmsKeyId=two.seeded.key_arn)
    assert _code(absent) == _code(refused)
    assert two.vault.rds(TARGET).describe_db_snapshots()["DBSnapshots"] == []


def test_given_a_shared_snapshot_when_the_vault_copies_it_then_the_copy_is_the_vaults_own(
    two: TwoAccounts,
):
    # given
    arn = _snapshot(two)
    _share(two, "orders-night", VAULT_ACCOUNT)

    # when: across account and region in one step, with the vault's key
    copy = _copy(two, arn, KmsKeyId=two.seeded.key_arn, CopyTags=True)

    # then
    assert copy["DBSnapshotArn"] == (
        f"arn:aws:rds:{TARGET}:{VAULT_ACCOUNT}:snapshot:orders-night-vault"
    )
    assert copy["KmsKeyId"] == two.seeded.key_arn
    assert copy["Encrypted"] is True

    # when the source stops sharing, then the vault keeps its copy
    two.source.rds(SOURCE).modify_db_snapshot_attribute(
        DBSnapshotIdentifier="orders-night", AttributeName="restore", ValuesToRemove=[VAULT_ACCOUNT]
    )
    kept = two.vault.rds(TARGET).describe_db_snapshots(DBSnapshotIdentifier="orders-night-vault")
    assert [s["DBSnapshotArn"] for s in kept["DBSnapshots"]] == [copy["DBSnapshotArn"]]
    with pytest.raises(ClientError) as unshared:
        _copy(two, arn, KmsKeyId=two.seeded.key_arn)
    assert _code(unshared) == "DBSnapshotNotFound"


def test_given_the_vaults_copy_when_the_source_account_deletes_it_then_it_is_not_found(
    two: TwoAccounts,
):
    # given
    arn = _snapshot(two)
    _share(two, "orders-night", VAULT_ACCOUNT)
    copy = _copy(two, arn, KmsKeyId=two.seeded.key_arn)
    source = two.source.rds(TARGET)

    # when / then: by its id and by its ARN, it is not in the caller's account
    for name in ("orders-night-vault", copy["DBSnapshotArn"]):
        with pytest.raises(ClientError) as refused:
            source.delete_db_snapshot(DBSnapshotIdentifier=name)
        assert _code(refused) == "DBSnapshotNotFound"
    with pytest.raises(ClientError) as unshare:
        source.modify_db_snapshot_attribute(
            DBSnapshotIdentifier="orders-night-vault", AttributeName="restore",
            ValuesToAdd=[SOURCE_ACCOUNT],
        )  # fmt: skip
    assert _code(unshare) == "DBSnapshotNotFound"
    kept = two.vault.rds(TARGET).describe_db_snapshots(DBSnapshotIdentifier="orders-night-vault")
    assert len(kept["DBSnapshots"]) == 1


def test_given_a_shared_encrypted_snapshot_when_copied_without_a_key_then_rds_refuses_it(
    two: TwoAccounts,
):
    # given
    arn = _snapshot(two)
    _share(two, "orders-night", VAULT_ACCOUNT)

    # when
    with pytest.raises(ClientError) as refused:
        _copy(two, arn)

    # then: a shared encrypted snapshot is copied only with a key the vault names
    assert _code(refused) == "KMSKeyNotAccessibleFault"
    assert "target KMS key [None]" in refused.value.response["Error"]["Message"]


@pytest.mark.parametrize("vault_spec", [VaultSpec(source_keys_allow_vault=False)])
def test_given_a_source_key_not_allowing_the_vault_when_it_copies_then_the_key_is_refused(
    two: TwoAccounts,
):
    # given
    arn = _snapshot(two)
    _share(two, "orders-night", VAULT_ACCOUNT)

    # when
    with pytest.raises(ClientError) as refused:
        _copy(two, arn, KmsKeyId=two.seeded.key_arn)

    # then
    assert _code(refused) == "KMSKeyNotAccessibleFault"
    assert (
        f"source snapshot KMS key [{two.source_key}]"
        in (refused.value.response["Error"]["Message"])
    )

    # when the source key's policy lets the vault use it, then the copy is made
    accounts.allow_key_use(two.source.client("kms", SOURCE), two.source_key, VAULT_ACCOUNT)
    assert _copy(two, arn, KmsKeyId=two.seeded.key_arn)["KmsKeyId"] == two.seeded.key_arn


def test_given_shared_snapshots_when_the_vault_lists_them_then_it_sees_them_in_their_region(
    two: TwoAccounts,
):
    # given
    arn = _snapshot(two)
    _snapshot(two, "billing", "billing-night")  # not shared
    _share(two, "orders-night", VAULT_ACCOUNT)
    vault = two.vault.rds(SOURCE)

    # when
    shared = vault.describe_db_snapshots(SnapshotType="shared")["DBSnapshots"]
    included = vault.describe_db_snapshots(IncludeShared=True)["DBSnapshots"]
    by_arn = vault.describe_db_snapshots(DBSnapshotIdentifier=arn)["DBSnapshots"]
    elsewhere = two.vault.rds(TARGET).describe_db_snapshots(SnapshotType="shared")["DBSnapshots"]
    own_only = vault.describe_db_snapshots()["DBSnapshots"]

    # then
    assert [s["DBSnapshotArn"] for s in shared] == [arn]
    assert [s["DBSnapshotArn"] for s in included] == [arn]
    assert [s["DBSnapshotArn"] for s in by_arn] == [arn]
    assert (elsewhere, own_only) == ([], [])
    billing = arn.replace("orders-night", "billing-night")
    with pytest.raises(ClientError) as hidden:
        vault.describe_db_snapshots(DBSnapshotIdentifier=billing)
    assert _code(hidden) == "DBSnapshotNotFound"


def test_given_shared_snapshots_when_restored_in_the_vault_then_only_an_unencrypted_one_is(
    two: TwoAccounts,
):
    # given
    rds = two.source.rds(SOURCE)
    create_database(two.source, SOURCE, "plain")
    plain = _snapshot(two, "plain", "plain-night")
    encrypted = _snapshot(two)
    for name in ("plain-night", "orders-night"):
        _share(two, name, VAULT_ACCOUNT)
    vault = two.vault.rds(SOURCE)

    # when
    restored = vault.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="plain-drill", DBSnapshotIdentifier=plain
    )["DBInstance"]
    with pytest.raises(ClientError) as refused:
        vault.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="orders-drill", DBSnapshotIdentifier=encrypted
        )

    # then
    assert restored["DBInstanceArn"].split(":")[4] == VAULT_ACCOUNT
    assert restored["Engine"] == "postgres"
    assert _code(refused) == "InvalidParameterCombination"
    assert [d["DBInstanceIdentifier"] for d in vault.describe_db_instances()["DBInstances"]] == [
        "plain-drill"
    ]
    assert len(rds.describe_db_instances()["DBInstances"]) == 3  # orders, billing, plain


def _cluster_snapshot(two: TwoAccounts, key: str | None) -> str:
    """An Aurora cluster's manual snapshot, on ``key`` (None: encrypted with aws/rds)."""
    if key is None:
        two.source.rds(SOURCE).create_db_cluster(
            DBClusterIdentifier="ledger", Engine="aurora-postgresql", MasterUsername="app",
            MasterUserPassword="local-only-password", StorageEncrypted=True,
        )  # fmt: skip
    else:
        create_cluster(two.source, SOURCE, "ledger", key=key)
    created = two.source.rds(SOURCE).create_db_cluster_snapshot(
        DBClusterIdentifier="ledger", DBClusterSnapshotIdentifier="ledger-night"
    )
    return str(created["DBClusterSnapshot"]["DBClusterSnapshotArn"])


def _share_cluster(two: TwoAccounts) -> None:
    two.source.rds(SOURCE).modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="ledger-night",
        AttributeName="restore",
        ValuesToAdd=[VAULT_ACCOUNT],
    )


def test_given_a_cluster_snapshot_on_the_default_key_when_shared_then_rds_refuses_it(
    two: TwoAccounts,
):
    # given
    _cluster_snapshot(two, key=None)

    # when
    with pytest.raises(ClientError) as refused:
        _share_cluster(two)

    # then
    assert _code(refused) == "InvalidParameterValue"


def test_given_a_shared_cluster_snapshot_when_the_vault_copies_it_then_only_in_its_region(
    two: TwoAccounts,
):
    # given
    arn = _cluster_snapshot(two, key=two.source_key)
    _share_cluster(two)
    vault_key = two.vault.client("kms", SOURCE).create_key()["KeyMetadata"]["Arn"]

    # when: cross-account and cross-region in one step
    with pytest.raises(ClientError) as refused:
        two.vault.rds(TARGET).copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=arn,
            TargetDBClusterSnapshotIdentifier="ledger-night-vault",
            KmsKeyId=two.seeded.key_arn,
            SourceRegion=SOURCE,
        )
    here = two.vault.rds(SOURCE).copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=arn,
        TargetDBClusterSnapshotIdentifier="ledger-night-vault",
        KmsKeyId=vault_key,
    )["DBClusterSnapshot"]
    there = two.vault.rds(TARGET).copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=here["DBClusterSnapshotArn"],
        TargetDBClusterSnapshotIdentifier="ledger-night-vault",
        KmsKeyId=two.seeded.key_arn,
        SourceRegion=SOURCE,
    )["DBClusterSnapshot"]

    # then: refused in one step, made in two (each in the vault account)
    assert _code(refused) == "InvalidParameterCombination"
    assert here["DBClusterSnapshotArn"].split(":")[3:5] == [SOURCE, VAULT_ACCOUNT]
    assert there["DBClusterSnapshotArn"].split(":")[3:5] == [TARGET, VAULT_ACCOUNT]
    assert there["KmsKeyId"] == two.seeded.key_arn


def test_given_one_step_cluster_copies_allowed_when_the_vault_copies_then_it_is_made(
    two: TwoAccounts,
):
    # given: the current API reference's reading
    arn = _cluster_snapshot(two, key=two.source_key)
    _share_cluster(two)
    sharing.allow_cluster_one_step(True)

    # when
    copy = two.vault.rds(TARGET).copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=arn,
        TargetDBClusterSnapshotIdentifier="ledger-night-vault",
        KmsKeyId=two.seeded.key_arn,
        SourceRegion=SOURCE,
    )["DBClusterSnapshot"]

    # then
    assert copy["DBClusterSnapshotArn"].split(":")[3:5] == [TARGET, VAULT_ACCOUNT]


def test_given_a_shared_cluster_snapshot_when_the_vault_restores_it_then_a_cluster_is_made(
    two: TwoAccounts,
):
    # given
    arn = _cluster_snapshot(two, key=two.source_key)
    _share_cluster(two)

    # when
    cluster = two.vault.rds(SOURCE).restore_db_cluster_from_snapshot(
        DBClusterIdentifier="ledger-drill", SnapshotIdentifier=arn, Engine="aurora-postgresql"
    )["DBCluster"]

    # then
    assert cluster["DBClusterArn"].split(":")[4] == VAULT_ACCOUNT
    assert cluster["DBClusterMembers"] == []
