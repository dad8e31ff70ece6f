"""The vault account with a DB cluster (docs/VAULT.md): the cluster copy's "Cluster Copy
Finished" (available) makes share_vault share it with ModifyDBClusterSnapshotAttribute, and
the vault copies it in the Region it is shared from, on the vault key. In-process moto, the
local AWS's two accounts."""

from __future__ import annotations

import pytest

from handlers import copy_snapshot, share_vault, start_backup
from rds_backup.local.accounts import SOURCE_ACCOUNT, VAULT_ACCOUNT
from rds_backup.local.context import LocalContext
from rds_backup.local.seed import WorldSpec
from rds_backup.vault.copy import sync
from tests.integration.test_clusters import (
    COPY_ARN,
    SNAPSHOT,
    SOURCE_ARN,
    cluster_event,
    finished_event,
    scheduled,
)
from tests.integration.test_vault_chain import TARGET, Accounts, two  # noqa: F401 - fixture

CONTEXT = LocalContext()


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=(), clusters=("analytics",))


def test_given_a_cluster_copy_available_when_shared_then_the_vault_copies_it_on_its_key(
    two: Accounts,  # noqa: F811 - the fixture imported above
) -> None:
    # given: tonight's cluster copy in the target region
    start_backup.handler(scheduled(), CONTEXT)
    copy_snapshot.handler(cluster_event("RDS-EVENT-0075", SOURCE_ARN), CONTEXT)

    # when: its copy is seen available, and the vault runs its pass
    shared = share_vault.handler(finished_event("available"), CONTEXT)
    first = sync(two.settings, two.vault)

    # then
    assert shared["shared"] == COPY_ARN
    assert first["cluster"]["started"] == [f"vault-copy {SNAPSHOT}"]
    [copy] = two.vault.rds(TARGET).describe_db_cluster_snapshots(SnapshotType="manual")[
        "DBClusterSnapshots"
    ]
    assert copy["DBClusterSnapshotArn"].split(":")[4] == VAULT_ACCOUNT != SOURCE_ACCOUNT
    assert copy["KmsKeyId"] == two.seeded.key_arn
