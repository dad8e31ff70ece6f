"""A moto server on loopback, in this process, on a free port.

In-process so the harness can read and patch moto's backends (RDS state, SES outbox) where
the API has no door, while every handler talks to it over HTTP like it would to AWS.
"""

from __future__ import annotations

import logging
import urllib.request
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from rds_backup.local import accounts, speedups
from rds_backup.local.accounts import SOURCE_ACCOUNT

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
# The harness's own clients: no retries (a local fault is a bug to see), and a user agent
# that tells them apart from the handlers' clients in moto's logs.
HARNESS_CONFIG = Config(retries={"max_attempts": 1}, user_agent_extra="rds-backup-local")


class LocalServer:
    """``ThreadedMotoServer`` on 127.0.0.1; ``url`` is what ``AWS_ENDPOINT_URL`` is set to."""

    def __init__(self, port: int = 0) -> None:
        """``port`` 0 takes a free one."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        speedups.install()  # moto's per-request work that never changes, done once
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._clients: dict[tuple[str, str, str | None], Any] = {}
        self._session: boto3.session.Session | None = None
        self._account_sessions: dict[str, boto3.session.Session] = {}

    def client(self, service: str, region: str, account: str | None = None) -> Any:
        """A client for the harness itself (not counted as a handler's API call), acting in
        the source account, or in ``account`` (``accounts.py``: assumed-role credentials)."""
        key = (service, region, None if account == SOURCE_ACCOUNT else account)
        if key not in self._clients:
            session = self._base_session() if key[2] is None else self.session_for(key[2])
            self._clients[key] = session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=self.url,
                config=HARNESS_CONFIG,
            )
        return self._clients[key]

    def _base_session(self) -> boto3.session.Session:
        # One session for all of them: a session loads botocore's endpoint data (~0.1 s).
        if self._session is None:
            self._session = boto3.session.Session(
                aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            )
        return self._session

    def session_for(self, account: str) -> boto3.session.Session:
        """A boto3 session acting in ``account``: its admin role's temporary credentials
        (``accounts.assume``). Clients made from it need ``endpoint_url=self.url`` (or
        ``AWS_ENDPOINT_URL``, as the harness sets). Made again after ``reset()``: a reset
        forgets moto's temporary keys with everything else."""
        if account not in self._account_sessions:
            sts = self.client("sts", "us-east-1")
            self._account_sessions[account] = accounts.assume(sts, account)
        return self._account_sessions[account]

    def reset(self) -> None:
        """Forget every resource in every region (``POST /moto-api/reset``)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            response.read()
        self._account_sessions.clear()
        self._clients = {key: c for key, c in self._clients.items() if key[2] is None}

    def dispatch_in_process(self) -> None:
        """Handlers' requests to this server go to its WSGI app without a socket
        (``local/direct.py``; the fleet benchmark), and botocore keeps its parse of each
        listed record by its text (``local/parse_memo.py``; for the rest of the process)."""
        from rds_backup.local import direct, parse_memo

        direct.install(self.url, self._server._server.app)  # type: ignore[union-attr]
        parse_memo.install()

    def stop(self) -> None:
        from rds_backup.local import direct

        direct.uninstall(self.url)
        self._server.stop()

    @property
    def environment(self) -> dict[str, str]:
        """What points boto3 in this process (the handlers) at the server."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.url}
