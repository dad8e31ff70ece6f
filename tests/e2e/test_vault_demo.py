"""``rds-backup demo --vault`` (issue 25): over the wire, through the moto server, the source
stack's share_vault (loaded from the generated template) shares each copy and tells the vault,
the vault's pass copies it with its own key and reports back, the share is removed; and the
source account cannot delete what the vault holds (tried with its own credentials)."""

from __future__ import annotations

import json

from rds_backup.local.accounts import SOURCE_ACCOUNT, VAULT_ACCOUNT
from tests.e2e.support import run_cli


def test_given_a_vault_when_the_demo_runs_a_night_then_each_database_is_vaulted_and_unshared() -> (
    None
):
    # when: as a user runs it, in a process of its own (its own moto, whatever this worker
    # ran before)
    done = run_cli("demo", "--vault", "--output", "json", timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)

    # then: one entry per database, in the vault account, on the vault key, unshared
    entries = {entry["database"]: entry for entry in summary["vault"]}
    assert sorted(entries) == ["billing", "orders"]
    for entry in entries.values():
        arn = entry["vault_copy"]
        assert arn.split(":")[4] == VAULT_ACCOUNT != SOURCE_ACCOUNT
        assert entry["status"] == "available"
        assert entry["key_is_vault_key"] is True
        assert entry["kms_key_id"].split(":")[4] == VAULT_ACCOUNT
        assert entry["shared_after"] == []
        assert entry["source_can_delete"] is False
        assert entry["source_delete_refused"] == "DBSnapshotNotFound"
    # share_vault ran for each share and each report, and nothing failed
    assert summary["totals"]["handler_invocations"]["share_vault"] == 4
    assert summary["totals"]["handler_errors"] == 0
    assert summary["vault_passes"]["shared_events_delivered"] == 2
