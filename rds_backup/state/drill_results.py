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


def _read_key(
    settings: Settings, aws: Aws, database: str, key: str, step: str
) -> DrillResult | None:
    day = date(int(key[-13:-9]), int(key[-9:-7]), int(key[-7:-5]))
    return read_result(settings, aws, database, day, step)


def _keys(settings: Settings, aws: Aws, database: str, step: str) -> list[str]:
    keys: list[str] = []
    try:
        pages = (
            aws.s3(settings.target_region)
            .get_paginator("list_objects_v2")
            .paginate(Bucket=settings.target_bucket, Prefix=_folder(settings, database))
        )
        keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
    except (ClientError, BotoCoreError) as error:
        raise step_failed(step, error, database=database, region=settings.target_region) from error
    return [key for key in keys if key.endswith(".json")]


def _folder(settings: Settings, database: str) -> str:
    return f"{settings.export_s3_prefix}/{FOLDER}/{database.lower()}/"
