"""The emails: rendering (templates are package data), the digest, and sending.

Callers import rendering and sending from here."""

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
