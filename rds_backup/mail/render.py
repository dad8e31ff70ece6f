"""The emails: a run's report rendered to HTML and plain text, and sent through SES.

Templates are package data (``rds_backup/mail/templates``). ``*.html.j2`` templates escape every
value; ``*.txt.j2`` templates do not (a plain-text part must not contain HTML entities).
Both fail on a missing variable (``StrictUndefined``) instead of rendering a blank.

jinja2 is imported on first render, not at import time, so importing this module is cheap.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jinja2 import Environment
    from mypy_boto3_ses import SESClient

    from rds_backup.model.report import (
        DigestReport,
        DrillReport,
        FailureReport,
        NoticeReport,
        SuccessReport,
    )

    Report = SuccessReport | FailureReport | DigestReport | DrillReport | NoticeReport

SUBJECT_MAX = 200
CAUSE_MAX = 20_000  # characters of the cause shown in the email; the logs keep the rest
CHARSET = "UTF-8"

# Autoescape by file name: HTML-ish templates escape, plain-text ones do not, anything
# else (including templates made from strings) escapes, to fail safe.
_ESCAPED = ("html", "htm", "xml", "html.j2", "htm.j2", "xml.j2")
_PLAIN = ("txt", "txt.j2", "text.j2")


@dataclass(frozen=True)
class Email:
    subject: str
    html: str
    text: str


def render(report: Report) -> Email:
    """The email for any report notify sends."""
    from rds_backup.model.report import DigestReport, DrillReport, NoticeReport, SuccessReport

    if isinstance(report, SuccessReport):
        return render_success(report)
    if isinstance(report, DigestReport):
        return render_digest(report)
    if isinstance(report, DrillReport):
        return render_drill(report)
    if isinstance(report, NoticeReport):
        return render_notice(report)
    return render_failure(report)


def render_notice(report: NoticeReport) -> Email:
    """A notice (a database left the selection): what, the facts, what happens next."""
    subject = _subject(
        f"[{_one_line(report.stack)}] ⚠️ {_one_line(report.headline)} — {_utc(report.when)}"
    )
    return _render("notice", subject=subject, report=report, headline=report.headline)


def render_drill(report: DrillReport) -> Email:
    """A restore drill: passed or failed, RTO, RPO, each check with its value."""
    result = report.result
    if report.passed:
        minutes = report.rto_minutes
        measured = f" — restored in {minutes} min" if minutes is not None else ""
        headline = f"{result.database} restore drill passed{measured}"
        mark = "✅"
    else:
        headline = f"{result.database} restore drill FAILED at {result.step or 'the drill'}"
        mark = "❌"
    subject = _subject(
        f"[{_one_line(report.stack)}] {mark} {_one_line(headline)} — {result.day.isoformat()}"
    )
    return _render(
        "drill",
        subject=subject,
        report=report,
        result=result,
        headline=headline,
        reason=_clip(result.reason.strip()),
    )


def render_success(report: SuccessReport) -> Email:
    """The email for a run whose snapshot was copied (and exported, where asked)."""
    mark = "⚠️" if report.warned else "✅"
    subject = _subject(
        f"[{_one_line(report.stack)}] {mark} {_one_line(report.database)} {report.outcome} "
        f"— {_one_line(report.run)}"
    )
    return _render("success", subject=subject, report=report)


def render_failure(report: FailureReport) -> Email:
    """The email for a step that failed: what, where, when, why, and what to do."""
    when = report.run or _utc(report.error_time)
    subject = _subject(
        f"[{_one_line(report.stack)}] ❌ {_one_line(failed_headline(report))} — {_one_line(when)}"
    )
    return _render(
        "failure",
        subject=subject,
        report=report,
        headline=failed_headline(report),
        cause=_clip(report.cause.strip() or "(no detail was recorded)"),
        remedy=report.remedy.strip(),
        replay_command=replay_command(report),
    )


def render_digest(report: DigestReport) -> Email:
    """One email for a whole run: every database's outcome, failures first."""
    parts = [f"{report.failed} failed"] if report.failed else []
    if report.warned:
        parts.append(f"{report.warned} with warnings")
    if report.running:
        parts.append(f"{report.running} still running")
    parts.append(f"{report.succeeded} backed up")
    if report.failed:
        # A failed export (or a failed night) leaves earlier copies restorable: say how many
        # databases can be restored now, so a night of failed exports is not "0 backed up".
        parts.append(f"{report.restorable} of {len(report.outcomes)} restorable")
    mark = "❌" if report.failed else "⚠️" if report.warned or report.running else "✅"
    subject = _subject(
        f"[{_one_line(report.stack)}] {mark} run {_one_line(report.run)}: {', '.join(parts)} "
        f"({len(report.outcomes)} databases)"
    )
    replays = {
        o.identifier: replay_command(o.failure) for o in report.ordered if o.failure is not None
    }
    return _render(
        "digest",
        subject=subject,
        report=report,
        summary=", ".join(parts),
        replays=replays,
        causes={
            o.identifier: _clip(o.failure.cause.strip() or "(no detail was recorded)")
            for o in report.ordered
            if o.failure is not None
        },
    )


def failed_headline(report: FailureReport) -> str:
    """Which database failed, and where: never "the run" when a database is known."""
    if report.database:
        return f"{report.database} backup FAILED at {report.step}"
    return f"{report.step} FAILED (no single database is named)"


def replay_command(report: FailureReport) -> str:
    """``rds-backup replay`` with this stack, its region, and a window that has ended."""
    from rds_backup import clock
    from rds_backup.model import console

    since, until = console.replay_window(report.error_time, report.run, clock.now())
    region = report.stack_region or report.region or "<region of the stack>"
    return console.replay_command(report.stack, region, since, until)


def send(
    ses: SESClient,
    sender: str,
    recipients: Sequence[str],
    email: Email,
    configuration_set: str | None = None,
) -> str:
    """Send ``email`` as one HTML + text message; return SES's MessageId.

    ``configuration_set`` (SES_CONFIGURATION_SET) is passed as ``ConfigurationSetName``;
    IAM grants ``ses:SendEmail`` on that configuration set too (infra/functions/notify.yml).

    SES faults (``MessageRejected`` for an unverified sender, throttling, …) propagate as
    botocore ``ClientError``; the caller translates them.
    """
    if not recipients:
        raise ValueError("an email needs at least one recipient")
    extra: dict[str, Any] = {}
    if configuration_set:
        extra["ConfigurationSetName"] = configuration_set
    response = ses.send_email(
        **extra,
        Source=sender,
        Destination={"ToAddresses": list(recipients)},
        Message={
            "Subject": {"Data": email.subject, "Charset": CHARSET},
            "Body": {
                "Text": {"Data": email.text, "Charset": CHARSET},
                "Html": {"Data": email.html, "Charset": CHARSET},
            },
        },
    )
    return response["MessageId"]


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The process's one template environment (built on first use, then reused)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("rds_backup.mail", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=_ESCAPED,
            disabled_extensions=_PLAIN,
            default_for_string=True,
            default=True,
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["utc"] = _utc
    env.filters["status_color"] = _status_color
    return env


def _render(name: str, **context: Any) -> Email:
    env = environment()
    html = env.get_template(f"{name}.html.j2").render(**context)
    text = env.get_template(f"{name}.txt.j2").render(**context)
    return Email(subject=context["subject"], html=html, text=text)


def _one_line(value: object) -> str:
    """``value`` with control characters and line breaks turned into single spaces."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch for ch in str(value)
    )
    return " ".join(cleaned.split())


def _subject(value: str) -> str:
    value = _one_line(value)
    if len(value) > SUBJECT_MAX:
        value = value[: SUBJECT_MAX - 1].rstrip() + "…"
    return value


def _clip(cause: str) -> str:
    if len(cause) <= CAUSE_MAX:
        return cause
    return cause[:CAUSE_MAX] + "\n… (truncated; the function's logs have the full text)"


def _as_utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _utc(when: datetime | None) -> str:
    """``2026-11-25 03:00:12 UTC``; naive datetimes are taken to be UTC already."""
    if when is None:
        return "unknown"
    return _as_utc(when).strftime("%Y-%m-%d %H:%M:%S UTC")


def _status_color(status: str) -> str:
    status = status.upper()
    if status in {"COMPLETE", "BACKED UP"}:
        return "#15803d"
    if status in {"FAILED", "CANCELED", "CANCELING"}:
        return "#b91c1c"
    return "#b45309"
