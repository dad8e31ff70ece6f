"""VAULT_* settings: off by default, all or nothing, and the vault is another account."""

from __future__ import annotations

import pytest

from rds_backup.settings import ConfigError, parse_settings
from tests.unit.test_settings import VALID

VAULT = "210987654321"
BUS = f"arn:aws:events:eu-central-1:{VAULT}:event-bus/rds-backup-vault"
KEY = f"arn:aws:kms:eu-central-1:{VAULT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _problems(**values: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_settings(VALID | values)
    return raised.value.problems


def test_given_no_vault_variable_when_parsed_then_the_vault_is_off() -> None:
    settings = parse_settings(VALID)

    assert (settings.vault_enabled, settings.vault_account_id) == (False, None)
    assert settings.vault_retention_days == 35


def test_given_a_vault_account_bus_and_key_when_parsed_then_the_vault_is_in_the_target_region() -> (
    None
):
    settings = parse_settings(
        VALID | {"VAULT_ACCOUNT_ID": VAULT, "VAULT_EVENT_BUS_ARN": BUS, "VAULT_KMS_KEY_ID": KEY}
    )

    assert settings.vault_enabled
    assert settings.vault_home == "eu-central-1"


def test_given_a_vault_region_without_an_account_when_parsed_then_the_account_is_asked_for() -> (
    None
):
    [problem] = _problems(VAULT_REGION="eu-west-2")

    assert problem.startswith("VAULT_ACCOUNT_ID: required when VAULT_REGION is set")


def test_given_the_vault_is_our_own_account_without_a_bus_when_parsed_then_both_are_named() -> None:
    problems = _problems(VAULT_ACCOUNT_ID="123456789012")

    assert [p.split(":")[0] for p in problems] == ["VAULT_ACCOUNT_ID", "VAULT_EVENT_BUS_ARN"]
    assert "this stack's own account" in problems[0]


def test_given_a_bus_and_key_of_another_account_or_region_when_parsed_then_each_is_refused() -> (
    None
):
    problems = _problems(
        VAULT_ACCOUNT_ID=VAULT,
        VAULT_EVENT_BUS_ARN=BUS.replace("eu-central-1", "eu-west-1"),
        VAULT_KMS_KEY_ID="alias/rds-backup-vault",
    )

    assert [p.split(":")[0] for p in problems] == ["VAULT_EVENT_BUS_ARN", "VAULT_KMS_KEY_ID"]
    assert "full ARN" in problems[1]


def test_given_a_malformed_account_when_parsed_then_it_is_named() -> None:
    problems = _problems(VAULT_ACCOUNT_ID="2109", VAULT_EVENT_BUS_ARN=BUS)

    assert problems == ["VAULT_ACCOUNT_ID: '2109' is not a 12-digit AWS account id"]
