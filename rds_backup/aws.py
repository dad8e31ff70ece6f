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

# Standard retry mode backs off on throttling and transient faults before a handler sees
# them; the handler's own failure then goes to Lambda's async retries.
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
