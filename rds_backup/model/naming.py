"""Names are derived, never stored: the same run always yields the same ids.

A duplicated or replayed event therefore asks AWS for a resource that already exists,
and ``*AlreadyExists*`` means the work is done.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

EXPORT_ID_MAX = 60  # StartExportTask identifiers: letters, digits, hyphens, ≤ 60
# CreateDBClusterSnapshot / CopyDBClusterSnapshot: "Must contain from 1 to 63 letters,
# numbers, or hyphens" (RDS API Reference). DB snapshot ids may be 255 long; ours keep the
# one limit for both kinds, so an instance and a cluster of one name are named alike.
SNAPSHOT_ID_MAX = 63
HASH_LENGTH = 8
RUN_ID = re.compile(r"^\d{8}-\d{4}$")


def run_id(when: datetime) -> str:
    """The run a scheduled or requested time belongs to, to the minute, in UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y%m%d-%H%M")


def run_time(run: str) -> datetime:
    return datetime.strptime(run, "%Y%m%d-%H%M").replace(tzinfo=UTC)


def snapshot_id(prefix: str, database: str, run: str) -> str:
    """``<prefix>-<db>-<YYYYMMDD-HHMM>``; the copy in the target region keeps the same id.

    A name too long for 63 characters keeps its start and a stable hash of the whole name
    (``<prefix>-<db start>-<hash>-<run>``), as export ids do: the same database always gets
    the same id, two long names never share one, and the run stays last (the tags, not the
    id, say which database a snapshot is of)."""
    database = database.lower()
    full = f"{prefix}-{database}-{run}"
    if len(full) <= SNAPSHOT_ID_MAX:
        return full
    digest = hashlib.sha256(database.encode()).hexdigest()[:HASH_LENGTH]
    keep = SNAPSHOT_ID_MAX - len(prefix) - len(run) - HASH_LENGTH - 3
    start = database[: max(keep, 0)].rstrip("-")
    return f"{prefix}-{start}-{digest}-{run}" if start else f"{prefix}-{digest}-{run}"


def parse_snapshot_id(prefix: str, identifier: str) -> tuple[str, str] | None:
    """(database, run) of one of our derived snapshot ids (:func:`snapshot_id`'s inverse),
    or None when ``identifier`` is not of that shape."""
    if not identifier.lower().startswith(f"{prefix}-"):
        return None
    parts = identifier[len(prefix) + 1 :].rsplit("-", 2)
    if len(parts) != 3 or not parts[0] or not RUN_ID.match("-".join(parts[1:])):
        return None
    return parts[0], "-".join(parts[1:])


def export_id(snapshot: str, region: str, attempt: int = 1) -> str:
    """Export task id for one snapshot in one region; attempts after the first get ``-aN``.

    Long database names are shortened with a stable hash so the id stays within 60
    characters and two long names never collide.
    """
    suffix = f"-{region}" + (f"-a{attempt}" if attempt > 1 else "")
    base = snapshot
    if len(base) + len(suffix) > EXPORT_ID_MAX:
        digest = hashlib.sha256(snapshot.encode()).hexdigest()[:8]
        keep = EXPORT_ID_MAX - len(suffix) - len(digest) - 1
        base = f"{snapshot[:keep].rstrip('-')}-{digest}"
    return base + suffix


def export_uri(bucket: str, prefix: str, export: str) -> str:
    """Where RDS writes an export: ``s3://bucket/prefix/export-id/``."""
    path = "/".join(part for part in (prefix.strip("/"), export) if part)
    return f"s3://{bucket}/{path}/"


# DB instance and DB cluster identifiers (RDS API Reference, RestoreDBInstanceFromDBSnapshot,
# DBInstanceIdentifier; RestoreDBClusterFromSnapshot / CreateDBCluster, DBClusterIdentifier):
# 1 to 63 letters, digits or hyphens (1 to 52 for a Multi-AZ DB cluster), the first a letter,
# no hyphen at the end and no two in a row; stored in lower case.
DB_ID_MAX = 63
MULTI_AZ_CLUSTER_ID_MAX = 52
DB_ID = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


def identifier_problem(identifier: str, limit: int = DB_ID_MAX) -> str | None:
    """Why ``identifier`` cannot name a DB instance or cluster, or None when it can."""
    if not 1 <= len(identifier) <= limit:
        return f"must be 1 to {limit} characters, is {len(identifier)}"
    if not DB_ID.match(identifier):
        return "must start with a letter and hold only letters, digits and hyphens"
    if identifier.endswith("-") or "--" in identifier:
        return "must not end with a hyphen or hold two hyphens in a row"
    return None


def restore_id(database: str, when: datetime, limit: int = DB_ID_MAX) -> str:
    """``<db>-restored-<YYYYMMDD-HHMM>`` (UTC), within ``limit`` characters; a longer one
    keeps a stable hash of the whole (as :func:`export_id`)."""
    stamp = run_id(when)
    full = f"{database.lower()}-restored-{stamp}"
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    tail = f"-{digest}-{stamp}"
    return f"{database.lower()}"[: limit - len(tail)].rstrip("-") + tail
