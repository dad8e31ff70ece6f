"""doctor's restore-groups: each RESTORE_* and DRILL_* group exists in the target region,
with read-only calls, each failure with its fix (in-process moto)."""

from __future__ import annotations

from typing import Any

import pytest

from rds_backup.aws import Aws
from rds_backup.local.seed import RESTORE_GROUP, create_restore_network
from rds_backup.ops import doctor
from rds_backup.settings import parse_settings
from tests.support import CallRecorder

TARGET = "us-west-2"


@pytest.fixture
def network(aws: Aws) -> dict[str, str]:
    return create_restore_network(aws, TARGET)


def restore_groups(world: dict[str, str], aws: Aws, **env: str) -> doctor.Finding:
    return doctor.check_restore_groups(doctor.Target(parse_settings({**world, **env}), aws))


@pytest.fixture
def recorder(aws: Aws) -> CallRecorder:
    found = CallRecorder()
    for service in ("rds", "ec2"):
        found.attach(aws, service, TARGET)
    return found


def test_given_no_restore_group_configured_when_checked_then_ok_saying_what_that_means(world, aws):
    finding = restore_groups(world, aws)

    assert finding.status == "ok"
    assert "none configured" in finding.found
    assert "drills are off" in finding.found


def test_given_every_group_exists_when_checked_then_ok_naming_each_with_read_only_calls(
    world, aws, network, recorder
):
    finding = restore_groups(world, aws, **network)

    assert finding.status == "ok", finding
    assert f"RESTORE_SUBNET_GROUP {RESTORE_GROUP}" in finding.found
    assert network["RESTORE_SECURITY_GROUP_IDS"] in finding.found
    assert f"RESTORE_PARAMETER_GROUP {RESTORE_GROUP}" in finding.found
    assert {name for _, name, _ in recorder.calls} == {
        "DescribeDBSubnetGroups",
        "DescribeDBParameterGroups",
        "DescribeSecurityGroups",
    }


@pytest.mark.parametrize(
    ("variable", "value", "found", "fix"),
    [
        (
            "RESTORE_SUBNET_GROUP",
            "prod-subnets",
            "the DB subnet group 'prod-subnets' (RESTORE_SUBNET_GROUP) does not exist in us-west-2",
            "aws rds create-db-subnet-group --db-subnet-group-name prod-subnets",
        ),
        (
            "RESTORE_PARAMETER_GROUP",
            "prod-pg16",
            "the DB parameter group 'prod-pg16' (RESTORE_PARAMETER_GROUP) does not exist",
            "aws rds create-db-parameter-group --db-parameter-group-name prod-pg16",
        ),
        (
            "RESTORE_CLUSTER_PARAMETER_GROUP",
            "prod-aurora",
            "the DB cluster parameter group 'prod-aurora' (RESTORE_CLUSTER_PARAMETER_GROUP)",
            "aws rds create-db-cluster-parameter-group",
        ),
        (
            "RESTORE_OPTION_GROUP",
            "prod-options",
            "the option group 'prod-options' (RESTORE_OPTION_GROUP) does not exist",
            "aws rds create-option-group --option-group-name prod-options",
        ),
        (
            "RESTORE_SECURITY_GROUP_IDS",
            "sg-0123456789abcdef0",
            "the security group sg-0123456789abcdef0 (RESTORE_SECURITY_GROUP_IDS) does not exist",
            "security groups of the DB subnet group's VPC",
        ),
        (
            "DRILL_SUBNET_GROUP",
            "drill-subnets",
            "the DB subnet group 'drill-subnets' (DRILL_SUBNET_GROUP) does not exist",
            "or set DRILL_SUBNET_GROUP to one that exists there",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and v.isupper() else "",
)
def test_given_a_group_missing_in_the_target_region_when_checked_then_it_fails_with_its_fix(
    world, aws, network, variable, value, found, fix
):
    finding = restore_groups(world, aws, **{**network, variable: value})

    assert finding.status == "fail"
    assert found in finding.found
    assert fix in finding.fix


def test_given_a_security_group_of_another_vpc_when_checked_then_it_fails_naming_both_vpcs(
    world, aws, network
):
    ec2: Any = aws.client("ec2", TARGET)
    other = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    stray = ec2.create_security_group(GroupName="stray", Description="x", VpcId=other)["GroupId"]

    finding = restore_groups(world, aws, **{**network, "RESTORE_SECURITY_GROUP_IDS": stray})

    assert finding.status == "fail"
    assert f"the security group {stray} (RESTORE_SECURITY_GROUP_IDS) is in {other}" in finding.found
    assert f"the DB subnet group {RESTORE_GROUP} is in vpc-" in finding.found
