"""What the local AWS holds after a run: our snapshots, export tasks and the emails SES
"sent" (moto keeps them in its backend; there is no API to read an outbox).

``install_send_times()`` stamps each message SES accepts with ``rds_backup.clock.now()``
(the virtual time in timed mode): ``SentEmail.sent_at``."""

from __future__ import annotations

import email
import email.policy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from moto.ses.models import SESBackend, ses_backends

from rds_backup import clock
from rds_backup.local.server import LocalServer
from rds_backup.local.stack import ACCOUNT
from rds_backup.model import tags
from rds_backup.model.kinds import identifier_of


@dataclass(frozen=True)
class Snapshot:
    region: str
    identifier: str
    status: str
    database: str
    run: str
    role: str
    tags: tuple[tuple[str, str], ...] = ()  # as RDS returns them, sorted


@dataclass(frozen=True)
class Export:
    region: str
    identifier: str
    snapshot: str
    status: str  # upper-cased (moto says "complete")
    s3_uri: str
    failure_cause: str


@dataclass(frozen=True)
class SentEmail:
    subject: str
    recipients: tuple[str, ...]
    sender: str
    html: str
    sent_at: datetime | None = None  # when SES accepted it (virtual time in timed mode)

    @property
    def outcome(self) -> str:
        return "failure" if "failed" in self.subject.lower() else "success"


@dataclass(frozen=True)
class Inventory:
    snapshots: tuple[Snapshot, ...]
    exports: tuple[Export, ...]
    emails: tuple[SentEmail, ...]

    def counts(self) -> dict[str, int]:
        return {
            "snapshots": len(self.snapshots),
            "exports": len(self.exports),
            "emails": len(self.emails),
        }

    def new_since(self, before: Inventory) -> dict[str, list[str]]:
        """What exists now that did not before (by region and id; emails by position)."""
        old_snapshots = {(s.region, s.identifier) for s in before.snapshots}
        old_exports = {(e.region, e.identifier, e.status) for e in before.exports}
        return {
            "snapshots": [
                f"{s.region}/{s.identifier}"
                for s in self.snapshots
                if (s.region, s.identifier) not in old_snapshots
            ],
            "exports": [
                f"{e.region}/{e.identifier} {e.status}"
                for e in self.exports
                if (e.region, e.identifier, e.status) not in old_exports
            ],
            "emails": [m.subject for m in self.emails[len(before.emails) :]],
        }


def _all(rds: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    pages = rds.get_paginator(operation).paginate(**params)
    return [record for page in pages for record in page.get(key, [])]


def take_inventory(server: LocalServer, regions: tuple[str, ...], ses_region: str) -> Inventory:
    snapshots: list[Snapshot] = []
    exports: list[Export] = []
    for region in regions:
        rds = server.client("rds", region)
        listed = [  # every page (the local AWS pages as RDS does, limits.py)
            *_all(rds, "describe_db_snapshots", "DBSnapshots", SnapshotType="manual"),
            *_all(
                rds, "describe_db_cluster_snapshots", "DBClusterSnapshots", SnapshotType="manual"
            ),
        ]
        for found in listed:
            tag_map = tags.as_dict(found.get("TagList"))
            if tags.STACK not in tag_map:
                continue
            snapshots.append(
                Snapshot(
                    region=region,
                    identifier=identifier_of(found),
                    status=found["Status"],
                    database=tag_map.get(tags.DATABASE, ""),
                    run=tag_map.get(tags.RUN, ""),
                    role=tag_map.get(tags.ROLE, ""),
                    tags=tuple(sorted(tag_map.items())),
                )
            )
        for task in _all(rds, "describe_export_tasks", "ExportTasks"):
            prefix = task.get("S3Prefix", "").strip("/")
            path = "/".join(part for part in (prefix, task["ExportTaskIdentifier"]) if part)
            exports.append(
                Export(
                    region=region,
                    identifier=task["ExportTaskIdentifier"],
                    snapshot=task["SourceArn"].rsplit(":", 1)[-1],
                    status=str(task.get("Status", "")).upper(),
                    s3_uri=f"s3://{task['S3Bucket']}/{path}/",
                    failure_cause=task.get("FailureCause", ""),
                )
            )
    return Inventory(tuple(snapshots), tuple(exports), sent_emails(ses_region))


def sent_emails(region: str, start: int = 0) -> tuple[SentEmail, ...]:
    """SES's outbox in ``region`` (from the ``start``-th message on): plain sends keep the
    HTML body; raw sends are parsed."""
    messages = ses_backends[ACCOUNT][region].sent_messages[start:]
    return tuple(sent_email(m) for m in messages if hasattr(m, "raw_data") or hasattr(m, "subject"))


def sent_email(message: Any) -> SentEmail:
    """One message of moto's SES outbox (a plain send keeps its HTML body; a raw one is
    parsed)."""
    if hasattr(message, "raw_data"):
        return _from_raw(message)
    recipients = tuple(
        address for addresses in (message.destinations or {}).values() for address in addresses
    )
    return SentEmail(
        message.subject, recipients, message.source, message.body, getattr(message, "sent_at", None)
    )


def _from_raw(message: Any) -> SentEmail:
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("html", "plain"))
    html = body.get_content() if body is not None else ""
    return SentEmail(
        subject=str(parsed.get("Subject", "")),
        recipients=tuple(message.destinations or ()),
        sender=message.source,
        html=html,
        sent_at=getattr(message, "sent_at", None),
    )


def write_emails(emails: tuple[SentEmail, ...], directory: Path) -> list[Path]:
    """Write each email's HTML to ``directory/<n>.html`` (1-based); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.html"):
        stale.unlink()
    paths = []
    for number, message in enumerate(emails, start=1):
        path = directory / f"{number}.html"
        path.write_text(message.html, encoding="utf-8")
        paths.append(path)
    return paths


def write_email(message: SentEmail, directory: Path, number: int) -> Path:
    """Write one email as ``NN-<subject>.html`` (its HTML as sent) and ``NN-<subject>.txt``
    (From, To, Subject and the HTML's text, for a terminal); return the .txt's path."""
    directory.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", message.subject).strip("-").lower()[:60] or "email"
    stem = directory / f"{number:02d}-{slug}"
    stem.with_suffix(".html").write_text(message.html, encoding="utf-8")
    text = stem.with_suffix(".txt")
    headers = [
        f"From: {message.sender}",
        f"To: {', '.join(message.recipients)}",
        f"Subject: {message.subject}",
    ]
    text.write_text("\n".join([*headers, "", html_text(message.html)]) + "\n", encoding="utf-8")
    return text


class _Text(HTMLParser):
    BLOCKS = frozenset({"p", "div", "tr", "br", "h1", "h2", "h3", "li", "table", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "script", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("  ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_text(document: str) -> str:
    """The text of an HTML email, a line per block, for a terminal (plain text is kept)."""
    if "<" not in document:
        return document
    parser = _Text()
    parser.feed(document)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


SEND_METHODS = ("send_email", "send_raw_email", "send_templated_email")
_send_listeners: list[Callable[[Any], None]] = []


def install_send_times() -> None:
    """Stamp every message SES's backend accepts with ``sent_at`` (idempotent), and tell
    the listeners (the harness puts an "email" entry on its timeline)."""
    for name in SEND_METHODS:
        original = getattr(SESBackend, name)
        if getattr(original, "stamps_send_time", False):
            continue
        setattr(SESBackend, name, _stamping(original))


def add_send_listener(listener: Callable[[Any], None]) -> None:
    _send_listeners.append(listener)


def remove_send_listener(listener: Callable[[Any], None]) -> None:
    if listener in _send_listeners:
        _send_listeners.remove(listener)


def _stamping(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if self.sent_messages:
            message = self.sent_messages[-1]
            message.sent_at = clock.now()
            for listener in list(_send_listeners):
                listener(message)
        return result

    send.stamps_send_time = True  # type: ignore[attr-defined]
    return send
