"""The demo's vault night (``rds-backup demo --vault``): the source stack's share_vault runs
as any handler of the local AWS (its rules come from the generated template); the vault's
side runs its own step, rds_backup/vault/copy.py ``sync``, with the vault account's
credentials, for each "Snapshot Shared With Vault" the vault bus delivered (to a queue, as
the vault stack's rule would) and once more as its reconcile schedule would (a same-Region
copy has no RDS event). What it reports is then measured in the local AWS, never assumed:
the vault copy's account and key, the share left on the source copy, and whether the source
account can delete the vault's copy (it tries, with its own credentials).

The vault stack itself (infra/vault/serverless.yml) is not loaded into the local AWS: its
rules are mimicked here by one rule on the vault bus (the shared event) and by calling the
pass for the schedule.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from events.vault import SHARED, VAULT_COPY_FINISHED, VAULT_SOURCE
from rds_backup.aws import Aws
from rds_backup.local.accounts import SOURCE_ACCOUNT, VaultSpec, allow_events
from rds_backup.local.harness import LocalAws
from rds_backup.model.naming import snapshot_id
from rds_backup.vault.copy import sync
from rds_backup.vault.settings import VaultSettings, parse_vault_settings

SPEC = VaultSpec(allow_detail_types=(SHARED,))
QUEUE = "rds-backup-vault-shared"
PASSES = 4  # shared → copy → (reconcile) report → unshare, with room for a late one


def vault_environment(spec: VaultSpec = SPEC) -> dict[str, str]:
    """The source stack's VAULT_* settings for the seeded vault account."""
    return {
        "VAULT_ACCOUNT_ID": spec.account,
        "VAULT_REGION": spec.region,
        "VAULT_EVENT_BUS_ARN": f"arn:aws:events:{spec.region}:{spec.account}:event-bus/"
        f"{spec.bus_name}",
    }


def prepare(local: LocalAws) -> str:
    """What the deployed stacks would hold: the source default bus's VaultReportsPolicy, and
    the vault stack's rule from its bus to vault_copy (here: a queue). Returns its URL."""
    vault = local.vault
    assert vault is not None
    source_region = local.regions[0]
    allow_events(
        Aws().events(source_region), "default", vault.account, [VAULT_COPY_FINISHED], [VAULT_SOURCE]
    )
    aws = local.aws_for(vault.account)
    url = str(aws.client("sqs", vault.region).create_queue(QueueName=QUEUE)["QueueUrl"])
    events = aws.events(vault.region)
    events.put_rule(
        Name="rds-backup-vault-shared",
        EventBusName=vault.bus_name,
        EventPattern=json.dumps(
            {"source": ["rds-backup"], "detail-type": [SHARED], "account": [SOURCE_ACCOUNT]}
        ),
    )
    events.put_targets(
        Rule="rds-backup-vault-shared",
        EventBusName=vault.bus_name,
        Targets=[
            {"Id": "vault_copy", "Arn": f"arn:aws:sqs:{vault.region}:{vault.account}:{QUEUE}"}
        ],
    )
    return url


def settings_of(local: LocalAws) -> VaultSettings:
    vault = local.vault
    assert vault is not None
    source_region, target_region = local.regions
    return parse_vault_settings(
        {
            "VAULT_REGION": vault.region,
            "VAULT_KMS_KEY_ID": vault.key_arn,
            "SOURCE_ACCOUNT_ID": SOURCE_ACCOUNT,
            "SHARED_REGION": target_region,
            "SOURCE_EVENT_BUS_ARN": f"arn:aws:events:{source_region}:{SOURCE_ACCOUNT}:"
            "event-bus/default",
        }
    )


def run_vault(local: LocalAws, url: str) -> dict[str, Any]:
    """The vault's passes after the source's night: one per delivered "shared" event, then
    the reconcile's, each followed by the source chain running until quiet."""
    vault = local.vault
    assert vault is not None
    aws = local.aws_for(vault.account)
    settings = settings_of(local)
    sqs = aws.client("sqs", vault.region)
    delivered = 0
    passes = []
    for _ in range(PASSES):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        delivered += len(messages)
        passes.append(sync(settings, aws))  # the event's pass, or the schedule's
        local.run_until_quiet()
    return {"shared_events_delivered": delivered, "passes": passes}


def vault_entries(
    local: LocalAws, databases: list[str], run: str, prefix: str
) -> list[dict[str, Any]]:
    """One entry per database, measured in the local AWS."""
    vault = local.vault
    assert vault is not None
    target = local.regions[1]
    aws = local.aws_for(vault.account)
    source = Aws()
    entries = []
    for database in databases:
        identifier = snapshot_id(prefix, database, run)
        entry: dict[str, Any] = {"database": database, "account": vault.account}
        found = aws.rds(vault.region).describe_db_snapshots(
            DBSnapshotIdentifier=identifier, SnapshotType="manual"
        )["DBSnapshots"] if _exists(aws, vault.region, identifier) else []  # fmt: skip
        if not found:
            entries.append({**entry, "vault_copy": None, "why": "no vault copy"})
            continue
        copy = found[0]
        entry.update(
            vault_copy=copy["DBSnapshotArn"],
            region=vault.region,
            status=copy["Status"],
            kms_key_id=copy.get("KmsKeyId"),
            key_is_vault_key=copy.get("KmsKeyId") == vault.key_arn,
            shared_after=_shared_with(source, target, identifier),
        )
        entry.update(_source_delete(source, vault.region, copy["DBSnapshotArn"]))
        entries.append(entry)
    return entries


def _exists(aws: Aws, region: str, identifier: str) -> bool:
    try:
        aws.rds(region).describe_db_snapshots(DBSnapshotIdentifier=identifier)
    except ClientError:
        return False
    return True


def _shared_with(source: Aws, region: str, identifier: str) -> list[str]:
    """The accounts the source's copy is still shared with (its restore attribute)."""
    try:
        answer = source.rds(region).describe_db_snapshot_attributes(DBSnapshotIdentifier=identifier)
    except ClientError:
        return []  # the source copy is gone (released): shared with nobody
    for attribute in answer["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]:
        if attribute["AttributeName"] == "restore":
            return list(attribute.get("AttributeValues", []))
    return []


def _source_delete(source: Aws, region: str, arn: str) -> dict[str, Any]:
    """Try DeleteDBSnapshot on the vault's copy with the source account's credentials."""
    try:
        source.rds(region).delete_db_snapshot(DBSnapshotIdentifier=arn)
    except ClientError as error:
        return {
            "source_can_delete": False,
            "source_delete_refused": str(error.response["Error"]["Code"]),
        }
    return {"source_can_delete": True}
