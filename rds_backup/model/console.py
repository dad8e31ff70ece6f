"""What an email points a person at: AWS console links and the commands that act on a
backup (restore the copy, replay a window). Pure string building, no AWS calls.

Console hosts by partition: ``<region>.console.aws.amazon.com`` (aws),
``console.amazonaws.cn`` (aws-cn), ``console.amazonaws-us-gov.com`` (aws-us-gov).
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

ISO = "%Y-%m-%dT%H:%M:%SZ"


def _host(region: str, service_host: str = "") -> str:
    if region.startswith("cn-"):
        return "console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "console.amazonaws-us-gov.com"
    return f"{service_host or region}.console.aws.amazon.com"


def snapshot_url(region: str, snapshot_id: str) -> str:
    """The RDS console page of a manual DB snapshot."""
    return (
        f"https://{_host(region)}/rds/home?region={region}"
        f"#db-snapshot:id={quote(snapshot_id, safe='')}"
    )


def s3_url(region: str, bucket: str, prefix: str) -> str:
    """The S3 console listing of an export's folder."""
    folder = prefix.strip("/") + "/" if prefix.strip("/") else ""
    return (
        f"https://{_host(region, 's3')}/s3/buckets/{quote(bucket, safe='')}"
        f"?region={region}&prefix={quote(folder, safe='')}"
    )


def restore_command(region: str, snapshot_id: str, database: str) -> str:
    """The AWS CLI command that restores the copy as a new instance in ``region``.

    RestoreDBInstanceFromDBSnapshot creates a new instance (the name must be free); the
    subnet, parameter and option groups default unless given (docs/OPERATIONS.md)."""
    return shlex.join(
        [
            "aws",
            "rds",
            "restore-db-instance-from-db-snapshot",
            "--region",
            region,
            "--db-snapshot-identifier",
            snapshot_id,
            "--db-instance-identifier",
            f"{database.lower()}-restored"[:63],
        ]
    )


def restore_ours(stack: str, region: str, database: str, snapshot_id: str) -> str:
    """``rds-backup restore`` of one copy: the plan first (--dry-run), then the restore, with
    the target region's groups from the stack's settings (docs/RECOVERY.md)."""
    return shlex.join(
        [
            "rds-backup",
            "restore",
            "--stack",
            stack,
            "--region",
            region,
            "--db",
            database.lower(),
            "--snapshot",
            snapshot_id,
            "--dry-run",
        ]
    )


def replay_command(stack: str, region: str, since: datetime, until: datetime) -> str:
    """``rds-backup replay`` for this stack, in the region it runs in, over a window that has
    ended (AWS advises replaying archived windows that ended at least 10 minutes ago)."""
    return shlex.join(
        [
            "rds-backup",
            "replay",
            "--stack",
            stack,
            "--region",
            region,
            "--since",
            _utc(since).strftime(ISO),
            "--until",
            _utc(until).strftime(ISO),
        ]
    )


def replay_window(
    error_time: datetime, run: str | None, now: datetime
) -> tuple[datetime, datetime]:
    """From just before the run began (or an hour before the error) to the error itself:
    the events that led to the failure. Never later than ``now`` (the email's time), so the
    window has ended when the command is pasted."""
    error = _utc(error_time)
    start = error - timedelta(hours=1)
    if run:
        try:
            began = datetime.strptime(run, "%Y%m%d-%H%M").replace(tzinfo=UTC)
        except ValueError:
            pass
        else:
            start = min(began - timedelta(minutes=1), error)
    end = min(error + timedelta(minutes=1), max(_utc(now), start + timedelta(minutes=1)))
    return start, end


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
