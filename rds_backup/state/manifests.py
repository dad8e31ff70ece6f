"""Restore manifests on S3, beside the copies: ``s3://TARGET_BUCKET/<EXPORT_S3_PREFIX>/
restore-manifests/<snapshot id>.json`` in the target region, so what a restore needs there
(rds_backup/model/manifest.py) survives the loss of the source region. start_backup writes
one per snapshot; ``rds-backup restore`` and the drills read it."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import is_code, step_failed
from rds_backup.model.manifest import RestoreManifest
from rds_backup.settings import Settings

FOLDER = "restore-manifests"


def manifest_key(settings: Settings, snapshot_id: str) -> str:
    return f"{settings.export_s3_prefix}/{FOLDER}/{snapshot_id.lower()}.json"


def manifest_uri(settings: Settings, snapshot_id: str) -> str:
    return f"s3://{settings.target_bucket}/{manifest_key(settings, snapshot_id)}"


def write_manifest(settings: Settings, aws: Aws, manifest: RestoreManifest, step: str) -> str:
    """Put the manifest in the target region's bucket; its s3:// URI."""
    try:
        aws.s3(settings.target_region).put_object(
            Bucket=settings.target_bucket,
            Key=manifest_key(settings, manifest.snapshot_id),
            Body=manifest.as_json().encode(),
            ContentType="application/json",
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(
            step,
            error,
            database=manifest.database,
            snapshot=manifest.snapshot_id,
            region=settings.target_region,
        ) from error
    return manifest_uri(settings, manifest.snapshot_id)


def read_manifest(
    settings: Settings, aws: Aws, snapshot_id: str, step: str
) -> RestoreManifest | None:
    """The manifest of a snapshot, or None when none was written (a snapshot older than
    manifests, or one whose manifest could not be written: its failure email said so)."""
    try:
        answer = aws.s3(settings.target_region).get_object(
            Bucket=settings.target_bucket, Key=manifest_key(settings, snapshot_id)
        )
    except ClientError as error:
        if is_code(error, "NoSuchKey", "404", "NotFound"):
            return None
        raise step_failed(
            step, error, snapshot=snapshot_id, region=settings.target_region
        ) from error
    except BotoCoreError as error:
        raise step_failed(
            step, error, snapshot=snapshot_id, region=settings.target_region
        ) from error
    return RestoreManifest.from_json(answer["Body"].read())
