"""The emails: rendering a report to HTML and text and sending it through SES (``render``),
exactly once per outcome (``delivery``), and the run's digest (``digest``, NOTIFY_MODE=digest).

Callers import rendering and sending from here; delivery and digest by their modules.
"""

from rds_backup.mail.render import (
    CAUSE_MAX,
    CHARSET,
    SUBJECT_MAX,
    Email,
    environment,
    failed_headline,
    render,
    render_digest,
    render_failure,
    render_success,
    replay_command,
    send,
)

__all__ = [
    "CAUSE_MAX",
    "CHARSET",
    "SUBJECT_MAX",
    "Email",
    "environment",
    "failed_headline",
    "render",
    "render_digest",
    "render_failure",
    "render_success",
    "replay_command",
    "send",
]
