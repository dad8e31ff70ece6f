"""Exports that end COMPLETE with tables skipped or failed.

RDS can finish an export COMPLETE while leaving tables out: tables with unsupported
characters in column names or slashes in their names, temporary/unlogged tables, rows near
2 GB, or tables the master user may not read (PostgreSQL ``PERMISSIONS_DO_NOT_EXIST``)
(RDS User Guide, "Limitations" of exporting snapshot data to Amazon S3 and "Troubleshooting
PostgreSQL permissions errors"). The task then carries a ``WarningMessage`` (API Reference,
ExportTask), and the per-table status is in the ``export_tables_info_*.json`` files RDS writes
under ``<prefix>/<export-id>/`` next to the data (User Guide, "File naming conventions":
the export's files start at ``export_identifier/``).

File format: ``{"perTableStatus": [{"target": "db.schema.table", "status": "COMPLETE",
"sizeGB": ..., "TableStatistics": {...}, "schemaMetadata": {...}, "warningMessage": ...}]}``.
AWS does not document the per-table fields or their status values in detail; the names here
are those seen in exports' files. So every status other than COMPLETE (any case) counts as
a problem, and ``warningMessage``/``WarningMessage`` and ``target``/``tableName`` are both
read.

Sources: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ExportTask.html
(WarningMessage), https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ExportSnapshot.FileNames.html
(where the files go), https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-export-snapshot.Considerations.html
(tables skipped during export) and .../aurora-export-snapshot.Troubleshooting.html
(PERMISSIONS_DO_NOT_EXIST: some tables were skipped); the RDS User Guide has the same pages
for instances (USER_ExportSnapshot.*).

Reading needs s3:ListBucket and s3:GetObject on the export prefix and kms:Decrypt through S3
on the export's key (the files are encrypted like the data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import error_code
from rds_backup.model.report import TableProblem
from rds_backup.observability import logger

TABLES_INFO = "export_tables_info_"
MAX_FILES = 50  # one file per batch of tables; a large database has a handful


@dataclass(frozen=True)
class ExportWarnings:
    """What an export that ended COMPLETE says it left out."""

    message: str | None = None  # the task's WarningMessage
    tables: tuple[TableProblem, ...] = field(default_factory=tuple)
    unreadable: str | None = None  # why the per-table files could not be read

    @property
    def warned(self) -> bool:
        return bool(self.message or self.tables)


def read(aws: Aws, region: str, task: dict[str, Any], export_id: str) -> ExportWarnings:
    """The warnings of a COMPLETE export task: its WarningMessage and every table whose
    status in the ``export_tables_info_*.json`` files is not COMPLETE."""
    message = str(task.get("WarningMessage") or "").strip() or None
    bucket = str(task.get("S3Bucket") or "")
    if not bucket:
        return ExportWarnings(message, (), "the export task names no bucket")
    prefix = "/".join(p for p in (str(task.get("S3Prefix") or "").strip("/"), export_id) if p)
    s3 = aws.s3(region)
    problems: list[TableProblem] = []
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"{prefix}/{TABLES_INFO}"
        )
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])][:MAX_FILES]
        for key in keys:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            problems.extend(_problems(json.loads(body)))
    except (ClientError, BotoCoreError) as error:
        reason = f"{error_code(error)}: {error}"
        logger.warning("export table status unreadable", export=export_id, cause=reason)
        return ExportWarnings(message, tuple(problems), reason)
    except ValueError as error:
        reason = f"an export_tables_info file is not JSON ({error})"
        logger.warning("export table status unreadable", export=export_id, cause=reason)
        return ExportWarnings(message, tuple(problems), reason)
    if not keys:
        logger.info("no export_tables_info file found", export=export_id, prefix=prefix)
    return ExportWarnings(message, tuple(problems))


def _problems(document: Any) -> list[TableProblem]:
    entries = document.get("perTableStatus", []) if isinstance(document, dict) else []
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        status = str(entry.get("status") or entry.get("Status") or "UNKNOWN").upper()
        if status == "COMPLETE":
            continue
        table = str(entry.get("target") or entry.get("tableName") or "(unnamed table)")
        note = str(entry.get("warningMessage") or entry.get("WarningMessage") or "")
        found.append(TableProblem(table, status, note))
    return found
