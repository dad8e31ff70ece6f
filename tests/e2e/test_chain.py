"""The nightly chain on the local AWS: schedule → snapshot → copy → export(s) → one email,
with the rules, patterns, archive and forwarding read from the generated CloudFormation."""

from __future__ import annotations

import pytest

from rds_backup.local.harness import LocalAws
from rds_backup.local.seed import WorldSpec
from tests.e2e.support import (
    emails_about,
    exports_of,
    handler_errors,
    run_nightly,
    snapshots_of,
)

DATABASES = ("orders", "billing")
SOURCE, TARGET = "us-east-1", "us-west-2"


@pytest.fixture(
    params=[
        pytest.param((False, False), id="target-only-release-source"),
        pytest.param((False, True), id="target-only-keep-source"),
        pytest.param((True, False), id="both-buckets-release-source"),
        pytest.param((True, True), id="both-buckets-keep-source"),
    ]
)
def spec(request: pytest.FixtureRequest) -> WorldSpec:
    store_to_source_s3, keep_source_snapshot = request.param
    return WorldSpec(
        databases=DATABASES,
        store_to_source_s3=store_to_source_s3,
        keep_source_snapshot=keep_source_snapshot,
    )


def test_given_two_databases_when_the_schedule_fires_then_each_chain_ends_in_one_success_email(
    local_aws: LocalAws, spec: WorldSpec
) -> None:
    # when
    run = run_nightly(local_aws)

    # then
    found = local_aws.inventory()
    assert handler_errors(local_aws) == []
    for database in DATABASES:
        snapshots = snapshots_of(found, database, run)
        assert snapshots[TARGET].status == "available"
        assert snapshots[TARGET].role == "copy"
        if spec.keep_source_snapshot:
            assert snapshots[SOURCE].status == "available"
        else:
            assert SOURCE not in snapshots, "the source snapshot is released after the chain"

        exports = {e.region: e for e in exports_of(found, database, run)}
        expected_regions = {TARGET, SOURCE} if spec.store_to_source_s3 else {TARGET}
        assert set(exports) == expected_regions
        assert all(e.status == "COMPLETE" for e in exports.values())
        assert exports[TARGET].s3_uri.startswith(f"s3://{spec.target_bucket}/")
        if spec.store_to_source_s3:
            assert exports[SOURCE].s3_uri.startswith(f"s3://{spec.source_bucket}/")

        emails = emails_about(found, database)
        assert [m.outcome for m in emails] == ["success"]
        assert emails[0].recipients == (spec.admin_email,)
        assert run in emails[0].subject
    assert len(found.emails) == len(DATABASES)
    calls = local_aws.timeline.api_calls
    exports_per_database = 2 if spec.store_to_source_s3 else 1
    assert calls["RDS:CreateDBSnapshot"] == len(DATABASES)
    assert calls["RDS:CopyDBSnapshot"] == len(DATABASES)
    assert calls["RDS:StartExportTask"] == len(DATABASES) * exports_per_database
    assert calls["SES:SendEmail"] == len(DATABASES)
