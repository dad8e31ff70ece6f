"""Drill results on S3, beside the copies: ``s3://TARGET_BUCKET/<EXPORT_S3_PREFIX>/drills/
<database>/<YYYYMMDD>.json`` (the drill day), one per drill (rds_backup/model/drills.py
``DrillResult``). A result is written when the drill starts and at each step after, so it is
the drill's record: a drill day with a result is not waiting any more, ``status`` shows the
newest per database, and the result outlives the drill instance (deleted at the end)."""

from __future__ import annotations

from datetime import date

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.model.drills import DrillResult
from rds_backup.settings import Settings

FOLDER = "drills"


def result_key(settings: Settings, database: str, day: date) -> str:
    return f"{_folder(settings, database)}{day:%Y%m%d}.json"


def write_result(settings: Settings, aws: Aws, result: DrillResult, step: str) -> None:
    try:
        aws.s3(settings.target_region).put_object(
            Bucket=settings.target_bucket,
            Key=result_key(settings, result.database, result.day),
            Body=result.model_dump_json(indent=2).encode(),
            ContentType="application/json",
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(
            step, error, database=result.database, region=settings.target_region
        ) from error


def read_result(
    settings: Settings, aws: Aws, database: str, day: date, step: str
) -> DrillResult | None:
    try:
        answer = aws.s3(settings.target_region).get_object(
            Bucket=settings.target_bucket, Key=result_key(settings, database, day)
        )
    except ClientError as error:
        if is_code(error, "NoSuchKey", "404", "NotFound"):
            return None
        raise step_failed(step, error, database=database, region=settings.target_region) from error
    except BotoCoreError as error:
        raise step_failed(step, error, database=database, region=settings.target_region) from error
    return DrillResult.model_validate_json(answer["Body"].read())


def latest_result(settings: Settings, aws: Aws, database: str, step: str) -> DrillResult | None:
    """The database's newest drill (its keys sort by day)."""
    keys = _keys(settings, aws, database, step)
    return _read_key(settings, aws, database, max(keys), step) if keys else None


def latest_passed(settings: Settings, aws: Aws, database: str, step: str) -> DrillResult | None:
    """The database's newest drill that passed (newest first, until one did)."""
    for key in sorted(_keys(settings, aws, database, step), reverse=True):
        result = _read_key(settings, aws, database, key, step)
        if result is not None and result.passed:
            return result
    return None


def listing(settings: Settings, aws: Aws, step: str) -> dict[str, list[date]]:
    """Every database's drill days with a result, oldest first, from one listing of the
    drills folder (1,000 keys a page): what a pass over the whole fleet reads instead of a
    listing or a read per database."""
    folder = f"{settings.export_s3_prefix}/{FOLDER}/"
    found: dict[str, list[date]] = {}
    for key in _listed(settings, aws, folder, step, database=None):
        database, _, _ = key.removeprefix(folder).rpartition("/")
        if database and "/" not in database:
            found.setdefault(database, []).append(_day(key))
    return {database: sorted(days) for database, days in found.items()}


def _read_key(
    settings: Settings, aws: Aws, database: str, key: str, step: str
) -> DrillResult | None:
    return read_result(settings, aws, database, _day(key), step)


def _keys(settings: Settings, aws: Aws, database: str, step: str) -> list[str]:
    return _listed(settings, aws, _folder(settings, database), step, database=database)


def _listed(
    settings: Settings, aws: Aws, prefix: str, step: str, database: str | None
) -> list[str]:
    keys: list[str] = []
    try:
        pages = (
            aws.s3(settings.target_region)
            .get_paginator("list_objects_v2")
            .paginate(Bucket=settings.target_bucket, Prefix=prefix)
        )
        keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, database=database, region=settings.target_region) from error
    return [key for key in keys if key.endswith(".json")]


def _day(key: str) -> date:
    return date(int(key[-13:-9]), int(key[-9:-7]), int(key[-7:-5]))


def _folder(settings: Settings, database: str) -> str:
    return f"{settings.export_s3_prefix}/{FOLDER}/{database.lower()}/"
