"""The emails: a run's report rendered to HTML and plain text, and sent through SES.

Templates are package data (``rds_backup/templates``). ``*.html.j2`` templates escape every
value; ``*.txt.j2`` templates do not (a plain-text part must not contain HTML entities).
Both fail on a missing variable (``StrictUndefined``) instead of rendering a blank.

jinja2 is imported on first render, not at import time, so importing this module is cheap.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jinja2 import Environment
    from mypy_boto3_ses import SESClient

    from rds_backup.report import FailureReport, SuccessReport

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


def render_success(report: SuccessReport) -> Email:
    """The email for a run whose snapshot was copied (and exported, where asked)."""
    subject = _subject(
        f"[{_one_line(report.stack)}] ✅ {_one_line(report.database)} backed up "
        f"— {_one_line(report.run)}"
    )
    return _render("success", subject=subject, report=report)


def render_failure(report: FailureReport) -> Email:
    """The email for a step that failed: what, where, when, why, and what to do."""
    who = report.database or report.stack
    when = report.run or _utc(report.error_time)
    subject = _subject(
        f"[{_one_line(report.stack)}] ❌ {_one_line(who)} backup FAILED at "
        f"{_one_line(report.step)} — {_one_line(when)}"
    )
    since, until = _replay_window(report)
    return _render(
        "failure",
        subject=subject,
        report=report,
        cause=_clip(report.cause.strip() or "(no detail was recorded)"),
        remedy=report.remedy.strip(),
        replay_command=f"rds-backup replay --since {since} --until {until}",
    )


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
        loader=PackageLoader("rds_backup", "templates"),
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


def _replay_window(report: FailureReport) -> tuple[str, str]:
    """From just before the run began (or an hour before the error) to just after the error."""
    error_time = _as_utc(report.error_time)
    start = error_time - timedelta(hours=1)
    if report.run:
        try:
            run_start = datetime.strptime(report.run, "%Y%m%d-%H%M").replace(tzinfo=UTC)
        except ValueError:
            pass
        else:
            start = min(run_start - timedelta(minutes=1), error_time)
    end = error_time + timedelta(minutes=5)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    return start.strftime(iso), end.strftime(iso)


def _status_color(status: str) -> str:
    status = status.upper()
    if status == "COMPLETE":
        return "#15803d"
    if status in {"FAILED", "CANCELED", "CANCELING"}:
        return "#b91c1c"
    return "#b45309"
