"""What a Lambda on-failure destination puts on the bus after the async retries.

Its ``source`` is ``aws.lambda`` in today's Lambda Developer Guide ("Capturing records of
Lambda asynchronous invocations", event bus destination) and ``lambda`` in older docs and
in captured events: both are accepted, here, in notify's rule and in the archive pattern
(infra/functions/notify.yml ``handlerFailures``). Matching only the wrong one would mean no
failure email is ever sent.

A failure of one of our steps arrives as data: its ``errorMessage`` is the JSON document
``rds_backup.errors.StepFailed.record()`` writes (kind ``rds-backup.step-failed``: the step, its
database, snapshot, region, code, cause and remedy, and the failures it gathers), read here
as :class:`FailureRecord`. Anything else (a timeout, a bug, a record archived before
records carried facts) is a plain message: notify then knows only the error type and what
the request payload names.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from events.envelope import EventBridgeEvent
from rds_backup.errors import FAILURE_RECORD

DETAIL_TYPE = "Lambda Function Invocation Result - Failure"
# Every documented variant of the record's source (see the module docstring).
SOURCES = ("lambda", "aws.lambda")


class RequestContext(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    request_id: str = Field(alias="requestId", max_length=128)
    function_arn: str = Field(alias="functionArn", max_length=2048)
    condition: str = Field(default="", max_length=64)
    approximate_invoke_count: int = Field(default=1, alias="approximateInvokeCount")


class FailureFacts(BaseModel):
    """One step's failure, as ``StepFailed.facts()`` writes it."""

    step: str = Field(max_length=256)
    cause: str = ""
    code: str | None = Field(default=None, max_length=256)
    database: str | None = None
    snapshot: str | None = Field(default=None, max_length=512)
    region: str | None = Field(default=None, max_length=512)
    operation: str | None = Field(default=None, max_length=256)
    remedy: str = ""
    parts: list[FailureFacts] = Field(default_factory=list)


class FailureRecord(FailureFacts):
    """The document a handler's failure is reported as (rds_backup/errors.py, record())."""

    kind: Literal["rds-backup.step-failed"]
    message: str = ""

    @property
    def facts(self) -> list[FailureFacts]:
        """The failures this record is about: its parts, or itself when it has none."""
        return list(self.parts) or [self]


class ResponsePayload(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    # Any size reaches a person: the whole text is logged by notify, the email bounds it
    # (rds_backup/mail/ CAUSE_MAX). A limit here would refuse the record and lose the email.
    error_message: str = Field(default="", alias="errorMessage")
    error_type: str = Field(default="", alias="errorType", max_length=512)

    @property
    def record(self) -> FailureRecord | None:
        """The failure's facts when one of our steps failed (see the module docstring)."""
        if not self.error_message.startswith("{"):
            return None
        try:
            document = json.loads(self.error_message)
        except ValueError:
            return None
        if not isinstance(document, dict) or document.get("kind") != FAILURE_RECORD:
            return None
        try:
            return FailureRecord.model_validate(document)
        except ValidationError:
            return None


class LambdaFailureDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    version: str = "1.0"
    timestamp: str = ""
    request_context: RequestContext = Field(alias="requestContext")
    request_payload: Any = Field(default=None, alias="requestPayload")
    response_payload: ResponsePayload | None = Field(default=None, alias="responsePayload")

    @property
    def function_name(self) -> str:
        # arn:aws:lambda:region:account:function:name[:version]
        parts = self.request_context.function_arn.split(":")
        return parts[6] if len(parts) > 6 else self.request_context.function_arn


class LambdaFailureEvent(EventBridgeEvent[LambdaFailureDetail]):
    source: Literal["lambda", "aws.lambda"]
    detail_type: Literal["Lambda Function Invocation Result - Failure"] = Field(alias="detail-type")
