"""Settings: one validated model; every problem reported at once with its variable."""

from __future__ import annotations

import re

import pytest

from rds_backup.settings import ConfigError, parse_settings

VALID = {
    "SOURCE_REGION": "eu-west-1",
    "TARGET_REGION": "eu-central-1",
    "DB_IDENTIFIER": "orders",
    "SOURCE_BUCKET": "acme-backups-euw1",
    "TARGET_BUCKET": "acme-backups-euc1",
    "KMS_KEY_ID": "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "EXPORT_ROLE_ARN": "arn:aws:iam::123456789012:role/rds-s3-export",
    "ADMIN_EMAIL": "dba@example.com",
}
MRK = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"


def test_given_the_old_lambdas_variables_when_parsed_then_defaults_match_the_old_behaviour():
    settings = parse_settings(VALID)

    assert settings.db_identifiers == ["orders"]
    assert settings.keep_source_snapshot is False
    assert settings.store_to_source_s3 is False
    assert settings.retention_days == 15
    assert settings.sender == "dba@example.com"
    assert settings.keys.target == VALID["KMS_KEY_ID"]


def test_given_every_required_variable_missing_when_parsed_then_one_error_names_them_all():
    with pytest.raises(ConfigError) as raised:
        parse_settings({})

    message = str(raised.value)
    for name in (
        "SOURCE_REGION",
        "TARGET_REGION",
        "DB_IDENTIFIER",
        "SOURCE_BUCKET",
        "TARGET_BUCKET",
        "KMS_KEY_ID",
        "EXPORT_ROLE_ARN",
        "ADMIN_EMAIL",
    ):
        assert f"{name}: required but not set" in message
    assert len(raised.value.problems) == 8


def test_given_several_bad_values_when_parsed_then_each_bad_variable_is_named_once():
    env = VALID | {
        "SOURCE_REGION": "Ireland",
        "DB_IDENTIFIER": "orders,9bad--name",
        "TARGET_BUCKET": "Not_A_Bucket",
        "KEEP_SOURCE_SNAPSHOT": "maybe",
        "RETENTION_DAYS": "zero",
        "ADMIN_EMAIL": "not-an-email",
    }

    with pytest.raises(ConfigError) as raised:
        parse_settings(env)

    named = {problem.split(":")[0].split(".")[0] for problem in raised.value.problems}
    assert named == {
        "SOURCE_REGION",
        "DB_IDENTIFIER",
        "TARGET_BUCKET",
        "KEEP_SOURCE_SNAPSHOT",
        "RETENTION_DAYS",
        "ADMIN_EMAIL",
    }
    assert "Traceback" not in str(raised.value)


def test_given_the_same_region_twice_when_parsed_then_the_error_explains_why_it_is_refused():
    with pytest.raises(ConfigError, match="TARGET_REGION: must differ from SOURCE_REGION"):
        parse_settings(VALID | {"TARGET_REGION": "eu-west-1", "KMS_KEY_ID": MRK})


def test_given_a_comma_list_of_databases_when_parsed_then_each_is_kept_in_order():
    settings = parse_settings(VALID | {"DB_IDENTIFIER": " orders, billing ,ledger"})

    assert settings.db_identifiers == ["orders", "billing", "ledger"]


def test_given_a_multi_region_key_when_resolved_then_each_region_gets_its_replica_arn():
    settings = parse_settings(VALID | {"KMS_KEY_ID": MRK, "STORE_TO_SOURCE_S3": "true"})

    assert settings.keys.source == MRK
    assert settings.keys.target == MRK.replace("eu-west-1", "eu-central-1")


def test_given_a_regular_key_in_the_wrong_region_when_parsed_then_the_fix_is_named():
    env = VALID | {"KMS_KEY_ID": VALID["KMS_KEY_ID"].replace("eu-central-1", "eu-west-1")}

    with pytest.raises(ConfigError, match="set TARGET_KMS_KEY_ID"):
        parse_settings(env)


def test_given_source_exports_without_a_source_key_when_parsed_then_source_kms_key_is_asked_for():
    with pytest.raises(ConfigError, match="SOURCE_KMS_KEY_ID: STORE_TO_SOURCE_S3=true needs"):
        parse_settings(VALID | {"STORE_TO_SOURCE_S3": "true"})


def test_given_a_key_per_region_when_resolved_then_each_region_uses_its_own():
    source_key = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-12ab-34cd-56ef-1234567890ab"
    settings = parse_settings(VALID | {"SOURCE_KMS_KEY_ID": source_key, "STORE_TO_SOURCE_S3": "1"})

    assert settings.key_for("eu-west-1") == source_key
    assert settings.key_for("eu-central-1") == VALID["KMS_KEY_ID"]


def test_given_bad_variables_and_equal_regions_when_parsed_then_the_cross_field_rule_is_named_too():
    # given several single variables wrong AND the same region twice
    env = {
        "SOURCE_REGION": "eu-west-1",
        "TARGET_REGION": "eu-west-1",
        "DB_IDENTIFIER": "orders",
        "SOURCE_BUCKET": "Not_A_Bucket",
        "TARGET_BUCKET": "b2-bucket",
        "KMS_KEY_ID": "mrk-00000000000000000000000000000000",
        "EXPORT_ROLE_ARN": "not-an-arn",
        "ADMIN_EMAIL": "dba@example.com",
    }

    # when / then: one message names the single fields and the rule between two
    with pytest.raises(ConfigError) as raised:
        parse_settings(env)
    named = {problem.split(":", 1)[0] for problem in raised.value.problems}
    assert {"SOURCE_BUCKET", "EXPORT_ROLE_ARN", "TARGET_REGION"} <= named


def test_given_mixed_case_databases_when_parsed_then_they_are_lowered_once_and_deduplicated():
    # RDS stores identifiers in lower case; IAM compares ARNs case-sensitively
    settings = parse_settings(VALID | {"DB_IDENTIFIER": "Orders, ORDERS,Billing"})

    assert settings.db_identifiers == ["orders", "billing"]


@pytest.mark.parametrize(
    ("source", "target", "says"),
    [
        ("cn-north-1", "cn-northwest-1", "China Regions"),
        ("eu-west-1", "cn-north-1", "China Regions"),
        ("cn-northwest-1", "eu-west-1", "China Regions"),
        ("us-gov-west-1", "us-east-1", "only between GovCloud (US) Regions"),
        ("us-east-1", "us-gov-east-1", "only between GovCloud (US) Regions"),
        ("us-gov-west-1", "us-gov-east-1", "cannot export snapshots to S3 in the GovCloud"),
        ("us-iso-east-1", "us-iso-west-1", "isolated AWS partition"),
        ("us-east-1", "us-isob-east-1", "isolated AWS partition"),
    ],
)
def test_given_a_region_pair_rds_cannot_copy_between_when_parsed_then_it_is_refused_with_why(
    source, target, says
):
    env = VALID | {
        "SOURCE_REGION": source,
        "TARGET_REGION": target,
        "KMS_KEY_ID": "mrk-" + "0" * 32,
    }

    with pytest.raises(ConfigError, match=re.escape(says)) as raised:
        parse_settings(env)

    assert f"{source} -> {target}" in str(raised.value)
    assert "Copying a DB snapshot" in str(raised.value) or "isolated" in str(raised.value)


def test_given_a_china_region_and_another_bad_variable_when_parsed_then_both_are_named():
    env = VALID | {"SOURCE_REGION": "cn-north-1", "SOURCE_BUCKET": "Not_A_Bucket"}

    with pytest.raises(ConfigError) as raised:
        parse_settings(env)

    assert "SOURCE_BUCKET" in str(raised.value)
    assert "China Regions" in str(raised.value)


@pytest.mark.parametrize(
    ("given", "normalised"),
    [("rds-backup", "rds-backup"), ("/rds-backup/", "rds-backup"), ("a//b/", "a/b")],
)
def test_given_an_export_prefix_with_stray_slashes_when_parsed_then_it_is_normalised_once(
    given, normalised
):
    assert parse_settings(VALID | {"EXPORT_S3_PREFIX": given}).export_s3_prefix == normalised


@pytest.mark.parametrize("given", ["", "/", "//"])
def test_given_an_empty_export_prefix_when_parsed_then_it_is_refused_because_iam_scopes_to_it(
    given,
):
    with pytest.raises(ConfigError, match="EXPORT_S3_PREFIX: must not be empty"):
        parse_settings(VALID | {"EXPORT_S3_PREFIX": given})


def test_given_database_keys_when_parsed_then_they_are_a_list_and_must_be_in_the_source_region():
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    settings = parse_settings(VALID | {"DB_KMS_KEY_IDS": f"{key}, mrk-{'1' * 32}"})
    assert settings.db_kms_key_ids == [key, f"mrk-{'1' * 32}"]
    assert parse_settings(VALID).db_kms_key_ids == []

    elsewhere = key.replace("eu-west-1", "eu-central-1")
    with pytest.raises(ConfigError, match="DB_KMS_KEY_IDS: key ARN is in eu-central-1"):
        parse_settings(VALID | {"DB_KMS_KEY_IDS": elsewhere})


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SES_CONFIGURATION_SET", "has spaces"), ("EVENT_BUS_NAME", "bus/with/slashes")],
)
def test_given_a_malformed_name_when_parsed_then_the_variable_is_named(variable, value):
    with pytest.raises(ConfigError, match=variable):
        parse_settings(VALID | {variable: value})


def test_given_a_select_tag_and_no_names_when_parsed_then_the_tag_alone_selects():
    settings = parse_settings(VALID | {"DB_IDENTIFIER": "", "DB_SELECT_TAG": "backup=nightly"})

    assert settings.db_identifiers == []
    assert settings.select_tag == ("backup", "nightly")


def test_given_a_tag_value_with_an_equals_sign_when_parsed_then_only_the_first_splits():
    settings = parse_settings(VALID | {"DB_SELECT_TAG": "team=a=b"})

    assert settings.select_tag == ("team", "a=b")


def test_given_neither_names_nor_a_tag_when_parsed_then_the_error_says_to_set_one():
    with pytest.raises(ConfigError, match=r"DB_IDENTIFIER: required but not set .*DB_SELECT_TAG"):
        parse_settings(VALID | {"DB_IDENTIFIER": " "})


@pytest.mark.parametrize("value", ["nightly", "=nightly", "aws:cloudformation:stack=x"])
def test_given_a_malformed_select_tag_when_parsed_then_it_is_refused_by_name(value):
    with pytest.raises(ConfigError) as raised:
        parse_settings(VALID | {"DB_SELECT_TAG": value})

    assert [p.split(":")[0] for p in raised.value.problems] == ["DB_SELECT_TAG"]
