"""The commands and links an email shows: a replay that works when pasted, console links by
partition, a restore command that names the copy in the target region."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rds_backup.model import console

ERROR = datetime(2026, 11, 25, 3, 7, 45, tzinfo=UTC)


def test_given_an_email_sent_at_the_error_when_the_window_is_made_then_it_has_ended() -> None:
    since, until = console.replay_window(ERROR, "20261125-0300", now=ERROR)

    assert since == datetime(2026, 11, 25, 2, 59, tzinfo=UTC)
    assert until <= ERROR  # a window in the future would be refused (or replay nothing yet)


def test_given_a_later_email_when_the_window_is_made_then_it_ends_just_after_the_error() -> None:
    _, until = console.replay_window(ERROR, None, now=ERROR + timedelta(hours=2))

    assert until == ERROR + timedelta(minutes=1)


def test_given_a_stack_and_region_when_the_replay_is_made_then_both_are_in_the_command() -> None:
    since, until = console.replay_window(ERROR, "20261125-0300", now=ERROR + timedelta(hours=1))

    command = console.replay_command("rds-backup-prod", "eu-west-1", since, until)

    assert command == (
        "rds-backup replay --stack rds-backup-prod --region eu-west-1 "
        "--since 2026-11-25T02:59:00Z --until 2026-11-25T03:08:45Z"
    )


def test_given_each_partition_when_linked_then_the_console_host_is_that_partitions() -> None:
    assert console.snapshot_url("eu-west-1", "s-1").startswith(
        "https://eu-west-1.console.aws.amazon.com/rds/home?region=eu-west-1#db-snapshot:id=s-1"
    )
    assert console.snapshot_url("cn-north-1", "s-1").startswith("https://console.amazonaws.cn/")
    assert console.s3_url("us-gov-west-1", "b", "p/x").startswith(
        "https://console.amazonaws-us-gov.com/s3/buckets/b?region=us-gov-west-1&prefix=p%2Fx%2F"
    )


def test_given_a_copy_when_the_restore_is_made_then_it_restores_in_the_target_region() -> None:
    command = console.restore_command("eu-central-1", "rds-backup-orders-20261125-0300", "Orders")

    assert command == (
        "aws rds restore-db-instance-from-db-snapshot --region eu-central-1 "
        "--db-snapshot-identifier rds-backup-orders-20261125-0300 "
        "--db-instance-identifier orders-restored"
    )
