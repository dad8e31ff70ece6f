"""What the handlers log, over whole nights on the local AWS (a successful one, and one where a
step fails and the failure is reported), holds nothing that must not reach CloudWatch Logs:

- no AWS secret access key or session token (the harness's credentials are swapped for
  canaries, so a leak is recognisable);
- no database password (``MasterUserPassword``, the seeded value);
- no whole event at INFO or above: neither an event, its ``detail`` nor its ``resources``
  verbatim (at DEBUG it is allowed; LOG_LEVEL defaults to INFO);
- no email body (the HTML notify sends).

The runner does not keep log records, so this test captures every record of the handlers'
powertools logger (``rds-backup``, forced to DEBUG here) and of the root logger (botocore,
and what Lambda would write for an unhandled error), formatted as CloudWatch would get them.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from rds_backup.local import runner, server
from rds_backup.local.faults import Fault
from rds_backup.local.harness import LocalAws
from rds_backup.local.seed import WorldSpec
from rds_backup.observability import logger as handler_logger
from tests.e2e.support import handler_errors, run_nightly

CANARIES = {
    "AWS_SECRET_ACCESS_KEY": "canarySecretKey0000HygieneTestDoNotLog0000",
    "AWS_SESSION_TOKEN": "canarySessionToken0000HygieneTestDoNotLog0000",
}
PASSWORDS = ("MasterUserPassword", "local-only-password")  # rds_backup/local/seed.py
HTML_TAG = re.compile(r"<\s*/?\s*(html|head|body|table|tr|td|th|div|p|h[1-6]|ul|li|br)\b", re.I)


@dataclass(frozen=True)
class Line:
    level: int
    where: str  # file:line of the call
    text: str  # as CloudWatch would get it

    def __str__(self) -> str:
        return f"{logging.getLevelName(self.level)} {self.where}: {self.text[:600]}"


class Capture(logging.Handler):
    """Formats each record when it is emitted: powertools adds the keys of the moment (the
    invocation's context, appended keys) at format time."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[Line] = []
        self._seen: set[int] = set()
        self._records: list[logging.LogRecord] = []  # keeps ids unique while we run
        self.plain = logging.Formatter("[%(levelname)s] %(name)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) in self._seen:  # the rds-backup logger also propagates to root
            return
        self._seen.add(id(record))
        self._records.append(record)
        formatter = (
            handler_logger.registered_formatter
            if record.name == handler_logger.name
            else self.plain
        )
        where = f"{record.pathname}:{record.lineno}"
        self.lines.append(Line(record.levelno, where, formatter.format(record)))


@pytest.fixture
def canary_credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in CANARIES.items():
        monkeypatch.setitem(server.FAKE_CREDENTIALS, name, value)
    return CANARIES


@pytest.fixture
def local_aws(canary_credentials: dict[str, str], local_aws: LocalAws) -> LocalAws:
    """The conftest's local AWS, entered after the credentials became canaries."""
    return local_aws


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every event handed to a handler, as it was handed."""
    seen: list[dict[str, Any]] = []
    load = runner.load_handler

    def recording(function: Any) -> Callable[[dict[str, Any], Any], Any]:
        handler = load(function)

        def wrapped(event: dict[str, Any], context: Any) -> Any:
            seen.append(copy.deepcopy(event))
            return handler(event, context)

        return wrapped

    monkeypatch.setattr(runner, "load_handler", recording)
    return seen


@pytest.fixture
def captured() -> Iterator[Capture]:
    capture = Capture()
    handlers = logging.getLogger(handler_logger.name)  # the stdlib logger powertools wraps
    root = logging.getLogger()
    level = handlers.level
    for logger in (handlers, root):
        logger.addHandler(capture)
    handlers.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        handlers.setLevel(level)
        for logger in (handlers, root):
            logger.removeHandler(capture)


@pytest.fixture(params=["success", "copy-fails"])
def night(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def spec() -> WorldSpec:
    return WorldSpec(databases=("orders", "billing"), store_to_source_s3=True)


def _values(value: Any) -> Iterator[Any]:
    """Every value inside a parsed JSON record, containers included."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)


def _spellings(value: Any) -> set[str]:
    """How a dict or list could appear inside a log string."""
    return {
        json.dumps(value),
        json.dumps(value, separators=(",", ":")),
        json.dumps(value, default=str, sort_keys=True),
        repr(value),
    }


def _event_leaks(line: Line, events: list[dict[str, Any]]) -> list[str]:
    try:
        parsed = json.loads(line.text)
    except ValueError:
        parsed = line.text
    values = list(_values(parsed))
    strings = [v for v in values if isinstance(v, str)]
    leaks = []
    for event in events:
        for part, value in (
            ("event", event),
            ("detail", event.get("detail")),
            ("resources", event.get("resources")),
        ):
            if not value:  # an empty detail ({}) or resources ([]) says nothing
                continue
            if any(v == value for v in values) or any(
                spelling in s for s in strings for spelling in _spellings(value)
            ):
                leaks.append(f"{part} of {event.get('detail-type')} {event.get('id')}")
    return leaks


def test_given_a_night_when_its_logs_are_read_then_no_secret_payload_or_email_body_is_in_them(
    local_aws: LocalAws,
    canary_credentials: dict[str, str],
    events: list[dict[str, Any]],
    captured: Capture,
    night: str,
) -> None:
    # given: the handlers run with the canary credentials
    for name, value in canary_credentials.items():
        assert os.environ[name] == value
    if night == "copy-fails":
        local_aws.faults.add(
            Fault("rds:CopyDBSnapshot", "KMSKeyNotAccessibleFault", "key disabled (injected)")
        )

    # when
    run_nightly(local_aws)

    # then: the night ran as expected and was logged
    found = local_aws.inventory()
    assert found.emails, "notify sent nothing: the chain did not run"
    assert bool(handler_errors(local_aws)) == (night == "copy-fails")
    assert len(events) >= 6
    lines = captured.lines
    assert sum(line.level >= logging.INFO for line in lines) >= 10
    if night == "copy-fails":
        assert any(line.level >= logging.WARNING for line in lines)

    secrets = [*canary_credentials.values(), *PASSWORDS]
    bodies = [mail.html.strip() for mail in found.emails if mail.html.strip()]
    assert bodies
    for line in lines:
        for secret in secrets:
            assert secret not in line.text, f"secret in the logs: {line}"
        assert not HTML_TAG.search(line.text), f"email HTML in the logs: {line}"
        for body in bodies:
            assert body[:200] not in line.text, f"email body in the logs: {line}"
        if line.level >= logging.INFO:
            leaks = _event_leaks(line, events)
            assert not leaks, (
                f"{', '.join(leaks)} logged at {logging.getLevelName(line.level)}: {line}"
            )
