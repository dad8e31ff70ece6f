"""boto3 clients, made lazily, one per (service, region), reused across invocations.

No client is created at import time. ``AWS_ENDPOINT_URL`` (read by botocore) points every
client at the local AWS; nothing here knows about it, except :func:`patched_environ`, with
which a caller sets such a variable for a block only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient

# Retries (botocore "standard" mode): throttling (ThrottlingException, RDS's answer over the
# account's API budget, "Request throttling for the Amazon RDS API": 300 requests burst, 12
# a second) and transient faults are retried with exponential backoff and full jitter, up to
# 20 s a pause. 6 retries (botocore's ``max_attempts`` counts retries, 7 attempts in all):
# the pauses' expected sum is 0.5+1+2+4+8+10 ~ 26 s and at most 51 s, inside the 60 s
# timeout of the event handlers (infra/functions/*.yml); an RDS bucket refills 12 tokens a
# second, so ~26 s waits out ~300 requests of other tools. "adaptive" mode was not taken:
# its client-side rate limiter is per container (each concurrent Lambda learns the rate
# alone) and it delays first attempts too.
# A call still throttled fails the step; Lambda retries it 1 and 2 minutes later (the bucket
# is full again by then), and a fill that stays throttled is deferred by notify, not told:
# the next event or reconcile re-drives it (steps/notify.py, THROTTLING_CODES).
CLIENT_CONFIG = Config(
    retries={"max_attempts": 6, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="rds-backup",
)
# A person waits on an operator command: the AWS CLI's own retry defaults (standard mode, 3
# attempts) and a short connect timeout, so an endpoint with nothing listening is one line in
# a few seconds, not 25 s of retries (AWS CLI User Guide, "AWS CLI retries").
OPERATOR_CONFIG = CLIENT_CONFIG.merge(
    Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3)
)


@lru_cache(maxsize=1)
def _shared_session() -> boto3.Session:
    # One session per process: it caches the service models, which cost ~0.1 s per client
    # to load; a fresh Session per factory would pay that again.
    return boto3.Session()


class Aws:
    """A small client factory keyed by region; pass it to domain functions."""

    def __init__(self, session: boto3.Session | None = None, config: Config | None = None) -> None:
        self._session = session
        self._config = config or CLIENT_CONFIG
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe for client creation

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                session = self._session or _shared_session()
                self._clients[key] = session.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    config=self._config,
                )
            return self._clients[key]

    def rds(self, region: str) -> RDSClient:
        client: RDSClient = self.client("rds", region)
        return client

    def s3(self, region: str) -> S3Client:
        client: S3Client = self.client("s3", region)
        return client

    def ses(self, region: str) -> SESClient:
        client: SESClient = self.client("ses", region)
        return client

    def events(self, region: str) -> EventBridgeClient:
        client: EventBridgeClient = self.client("events", region)
        return client

    def scheduler(self, region: str) -> Any:
        """EventBridge Scheduler (no stubs installed: untyped)."""
        return self.client("scheduler", region)

    def dynamodb(self, region: str) -> DynamoDBClient:
        client: DynamoDBClient = self.client("dynamodb", region)
        return client


@lru_cache(maxsize=1)
def get_aws() -> Aws:
    """The container's client factory (clients survive across warm invocations)."""
    return Aws()


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the block, then restore what was there."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
