"""Test helpers: build RDS events for a snapshot, record API calls, poke moto's backends
for states moto cannot reach by itself (a failed export, a snapshot still creating)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

from moto.rds.models import rds_backends

from events import load_sample
from rds_backup.aws import Aws
from rds_backup.errors import StepFailed

ACCOUNT = "123456789012"
SAMPLE_SNAPSHOT = "rds-backup-orders-20261125-0300"

SAMPLES_BY_EVENT_ID = {
    "RDS-EVENT-0042": "rds-0042-snapshot-created",
    "RDS-EVENT-0060": "rds-0060-copy-finished",
    "RDS-EVENT-0061": "rds-0061-copy-canceled",
    "RDS-EVENT-0159": "rds-0159-export-failed",
    "RDS-EVENT-0160": "rds-0160-export-canceled",
    "RDS-EVENT-0161": "rds-0161-export-completed",
}


def rds_event(
    event_id: str, region: str, snapshot: str = SAMPLE_SNAPSHOT, **extra: Any
) -> dict[str, Any]:
    """The sample event for ``event_id``, re-aimed at ``snapshot`` in ``region``."""
    event = load_sample(SAMPLES_BY_EVENT_ID[event_id])
    arn = f"arn:aws:rds:{region}:{ACCOUNT}:snapshot:{snapshot}"
    event["region"] = region
    event["resources"] = [arn]
    event["detail"]["SourceArn"] = arn
    event["detail"]["SourceIdentifier"] = snapshot
    event.update(extra)
    return event


class CallRecorder:
    """Counts (and keeps the parameters of) every API call made through an Aws factory."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def attach(self, aws: Aws, service: str, region: str) -> CallRecorder:
        client = aws.client(service, region)
        client.meta.events.register(f"provide-client-params.{service}.*", self._record(region))
        return self

    def _record(self, region: str) -> Any:
        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.calls.append((region, model.name, dict(params)))

        return record

    def of(self, operation: str) -> list[tuple[str, dict[str, Any]]]:
        return [(region, params) for region, name, params in self.calls if name == operation]

    @property
    def counts(self) -> Counter[str]:
        return Counter(name for _, name, _ in self.calls)


def backend(region: str) -> Any:
    return rds_backends[ACCOUNT][region]


def fail_export(region: str, export_id: str, cause: str, status: str = "failed") -> None:
    task = backend(region).export_tasks[export_id]
    task.status = status
    task.failure_cause = cause


def set_snapshot_status(region: str, snapshot: str, status: str) -> None:
    backend(region).database_snapshots[snapshot].status = status


def sent_emails(region: str = "us-east-1") -> list[Any]:
    """Messages SES (moto) accepted, oldest first: .subject, .body (HTML), .destinations."""
    from moto.ses.models import ses_backends

    return list(ses_backends[ACCOUNT][region].sent_messages)


def atomic_moto(monkeypatch: Any, backend: type, *methods: str) -> None:
    """Make moto's in-process create/write calls atomic, as AWS's are.

    AWS refuses a second resource with the same identifier (and evaluates a DynamoDB
    condition) atomically; moto in-process checks, then writes, without a lock, so two
    threads can both pass the check. The lock gives moto AWS's atomicity; what a
    concurrency test then checks is how the handlers take the refusal.
    """
    lock = threading.Lock()
    for name in methods:
        original = getattr(backend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(backend, name, locked)


def failure_record(
    step: str,
    code: str,
    cause: str = "refused",
    *,
    database: str | None = None,
    snapshot: str | None = None,
    region: str | None = None,
    parts: Sequence[StepFailed] = (),
) -> str:
    """The errorMessage a handler's StepFailed leaves Lambda with (rds_backup.errors.reported)."""
    failure = StepFailed(
        step, cause, database=database, snapshot=snapshot, region=region, code=code, parts=parts
    )
    return json.dumps(failure.record())
