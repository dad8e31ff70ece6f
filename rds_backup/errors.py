"""Typed errors. AWS faults are translated at the edge and raised, so Lambda retries and,
after the retries, the on-failure path turns them into a failure email.

A failing step's facts (step, database, snapshot, region, code, cause, remedy) travel as
data: :class:`StepFailed` holds them, and at the Lambda edge :func:`reported` makes its text
one JSON document of them (:meth:`StepFailed.record`), the ``errorMessage`` of the on-failure
record (the Lambda Python runtime reports ``str(exception)``, Lambda Developer Guide,
"AWS Lambda function errors in Python"). notify reads that document back through its event
contract (events/lambda_failure.py, ``FailureRecord``); no regular expression over a
message decides which email goes (docs/ARCHITECTURE.md, "Failures as data").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

# What a person should do about a code is not here: the remedy catalogue
# (rds_backup/model/remedies.py, built from botocore's models) words it with the stack's
# settings where the report is made (rds_backup/outcomes/reports.py). A step sets ``remedy``
# only when it knows better than the code (e.g. which manifest could not be written).
# Refusals for an AWS limit. Two of them drain by themselves (a concurrency limit: the step
# waits for a slot, rds_backup/limits/); one does not (the manual snapshot quota shares
# the copy limit's code, SnapshotQuotaExceeded, and is told apart by its message or by
# DescribeAccountAttributes).
EXPORT_LIMIT_CODE = "ExportTaskLimitReachedFault"
SNAPSHOT_QUOTA_CODE = "SnapshotQuotaExceeded"
QUOTA_CODES = frozenset({SNAPSHOT_QUOTA_CODE, EXPORT_LIMIT_CODE})
RETRYABLE = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "SnapshotQuotaExceeded",
    "ExportTaskLimitReachedFault",
    "InvalidDBInstanceState",
    "InvalidDBSnapshotState",
    "InvalidDBClusterStateFault",
    "InvalidDBClusterSnapshotStateFault",
    "InternalFailure",
    "ServiceUnavailable",
}


# The ``kind`` of the JSON document a handler's failure is reported as (the on-failure
# record's errorMessage); events/lambda_failure.py reads documents of this kind.
FAILURE_RECORD = "rds-backup.step-failed"


class BackupError(Exception):
    """Base of every error a handler raises on purpose."""


class InvalidEvent(BackupError):
    """The event does not match its contract; nothing was changed."""


class StepFailed(BackupError):
    """One step of one run failed; carries what the failure email needs."""

    def __init__(
        self,
        step: str,
        cause: str,
        *,
        database: str | None = None,
        snapshot: str | None = None,
        region: str | None = None,
        code: str | None = None,
        remedy: str | None = None,
        operation: str | None = None,
        parts: Sequence[StepFailed] = (),
    ) -> None:
        self.step = step
        self.cause = cause
        self.database = database
        self.snapshot = snapshot
        self.region = region
        self.code = code
        self.remedy = remedy or ""
        # The AWS call that failed (botocore's name, e.g. StartExportTask): the catalogue
        # tells whose permission or which resource from it.
        self.operation = operation
        # The failures this one gathers (one start for several databases, one reconcile
        # pass for several runs): each with its own facts.
        self.parts = tuple(parts)
        where = " ".join(
            part
            for part in (
                f"database={database}" if database else "",
                f"snapshot={snapshot}" if snapshot else "",
                f"region={region}" if region else "",
            )
            if part
        )
        self.message = f"{step} failed ({where}): {code + ': ' if code else ''}{cause}"
        super().__init__(self.message)

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE

    def facts(self) -> dict[str, Any]:
        """The failure as data: what the on-failure record carries (:meth:`record`)."""
        facts: dict[str, Any] = {
            "step": self.step,
            "cause": self.cause,
            "code": self.code,
            "database": self.database,
            "snapshot": self.snapshot,
            "region": self.region,
            "operation": self.operation,
            "remedy": self.remedy,
        }
        if self.parts:
            facts["parts"] = [part.facts() for part in self.parts]
        return facts

    def record(self) -> dict[str, Any]:
        """The document a handler's failure is reported as: its facts, the human one-line
        ``message``, and ``kind`` FAILURE_RECORD (events/lambda_failure.py reads it)."""
        return {"kind": FAILURE_RECORD, "message": self.message, **self.facts()}


Handler = TypeVar("Handler", bound=Callable[..., Any])


def reported(handler: Handler) -> Handler:
    """The Lambda edge: a StepFailed leaves the handler with its record (:meth:`StepFailed.
    record`) as its text, so the on-failure record's errorMessage holds its facts as data.
    Anything else leaves as it is (its type and text are all a person can be told)."""

    @wraps(handler)
    def edge(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except StepFailed as failure:
            # The same exception, its cause and traceback kept; only its text changes, to
            # the document the on-failure record will carry.
            failure.args = (json.dumps(failure.record()),)
            raise

    return edge  # type: ignore[return-value]


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "Unknown"))
    return type(error).__name__


def step_failed(
    step: str,
    error: ClientError | BotoCoreError,
    *,
    database: str | None = None,
    snapshot: str | None = None,
    region: str | None = None,
    key: str | None = None,
) -> StepFailed:
    """Translate an AWS fault into a :class:`StepFailed` (use as ``raise … from error``).

    ``key``: the KMS key the call used; named in the cause of key faults, since AWS's own
    message often does not say which key, and the person must fix that key's policy.
    """
    if isinstance(error, ClientError):
        message = str(error.response.get("Error", {}).get("Message", "")) or str(error)
    else:
        message = str(error)
    if key and "KMS" in error_code(error).upper():
        message = f"{message} (KMS key {key} in {region or 'the target region'})"
    return StepFailed(
        step,
        message,
        database=database,
        snapshot=snapshot,
        region=region,
        code=error_code(error),
        operation=error.operation_name if isinstance(error, ClientError) else None,
    )


def is_code(error: ClientError, *codes: str) -> bool:
    return error_code(error) in codes
