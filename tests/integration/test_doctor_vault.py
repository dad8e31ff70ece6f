"""doctor's vault check (docs/VAULT.md): off without a vault; with one, the copies' key must
be customer managed and allow the vault account, and the default bus must admit its
reports. In-process moto, the seeded world."""

from __future__ import annotations

import json

from rds_backup.aws import Aws
from rds_backup.local import sharing
from rds_backup.local.accounts import VAULT_ACCOUNT, allow_events, allow_key_use
from rds_backup.ops import doctor
from rds_backup.settings import Settings, parse_settings

BUS = f"arn:aws:events:us-west-2:{VAULT_ACCOUNT}:event-bus/rds-backup-vault"


def _with_vault(world: dict[str, str], **extra: str) -> Settings:
    return parse_settings(
        world | {"VAULT_ACCOUNT_ID": VAULT_ACCOUNT, "VAULT_EVENT_BUS_ARN": BUS} | extra
    )


def test_given_no_vault_when_doctor_checks_then_it_is_ok(settings: Settings, aws: Aws) -> None:
    finding = doctor.check_vault(doctor.Target(settings, aws))

    assert (finding.status, finding.found) == ("ok", "no vault account (VAULT_ACCOUNT_ID unset)")


def test_given_a_key_and_bus_not_ready_when_doctor_checks_then_it_names_both_fixes(
    world: dict[str, str], aws: Aws
) -> None:
    finding = doctor.check_vault(doctor.Target(_with_vault(world), aws))

    assert finding.status == "fail"
    assert f"does not allow account {VAULT_ACCOUNT}" in finding.found
    assert "does not admit the vault's reports" in finding.found
    assert "docs/VAULT.md" in (finding.fix or "")


def test_given_the_default_key_when_doctor_checks_then_it_says_it_cannot_be_shared(
    world: dict[str, str], aws: Aws
) -> None:
    sharing.install()  # aws/rds reads as AWS managed, as on AWS
    finding = doctor.check_vault(doctor.Target(_with_vault(world, KMS_KEY_ID="alias/aws/rds"), aws))

    assert "AWS managed aws/rds key" in finding.found
    assert "TARGET_KMS_KEY_ID" in (finding.fix or "")


def test_given_the_key_policy_and_bus_policy_in_place_when_doctor_checks_then_it_is_ok(
    world: dict[str, str], aws: Aws
) -> None:
    allow_key_use(aws.client("kms", "us-west-2"), world["KMS_KEY_ID"], VAULT_ACCOUNT)
    allow_events(aws.events("us-east-1"), "default", VAULT_ACCOUNT, ["Vault Copy Finished"])

    finding = doctor.check_vault(doctor.Target(_with_vault(world), aws))

    assert finding.status == "ok", finding
    assert json.dumps(finding.found).count(VAULT_ACCOUNT) == 1
