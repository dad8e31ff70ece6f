"""What a Lambda on-failure destination puts on the bus after the async retries.

Its ``source`` is ``aws.lambda`` in today's Lambda Developer Guide ("Capturing records of
Lambda asynchronous invocations", event bus destination) and ``lambda`` in older docs and
in captured events: both are accepted, here, in notify's rule and in the archive pattern
(infra/functions/notify.yml ``handlerFailures``). Matching only the wrong one would mean no
failure email is ever sent.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.envelope import EventBridgeEvent

DETAIL_TYPE = "Lambda Function Invocation Result - Failure"
# Every documented variant of the record's source (see the module docstring).
SOURCES = ("lambda", "aws.lambda")


class RequestContext(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    request_id: str = Field(alias="requestId", max_length=128)
    function_arn: str = Field(alias="functionArn", max_length=2048)
    condition: str = Field(default="", max_length=64)
    approximate_invoke_count: int = Field(default=1, alias="approximateInvokeCount")


class ResponsePayload(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    # Any size reaches a person: the whole text is logged by notify, the email bounds it
    # (rds_backup/mail/ CAUSE_MAX). A limit here would refuse the record and lose the email.
    error_message: str = Field(default="", alias="errorMessage")
    error_type: str = Field(default="", alias="errorType", max_length=512)


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
