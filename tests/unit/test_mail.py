"""Rendering the emails: escaped HTML, entity-free text, one-line subjects, strict templates."""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from rds_backup import mail
from rds_backup.mail import Email, render_failure, render_success
from rds_backup.model.report import ExportReport, FailureReport, SuccessReport

HOSTILE = "<script>alert(1)</script>"
RUN = "20261125-0300"
SNAPSHOT = f"rds-backup-orders-{RUN}"
TARGET_URI = f"s3://backups-fra/rds-backup/{SNAPSHOT}-eu-central-1/"
SOURCE_URI = f"s3://backups-dub/rds-backup/{SNAPSHOT}-eu-west-1/"
ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")


def an_export(region: str, bucket: str, uri: str, **changes: object) -> ExportReport:
    export = ExportReport(
        region=region,
        bucket=bucket,
        export_id=f"{SNAPSHOT}-{region}",
        s3_uri=uri,
        status="COMPLETE",
        size_gb=42,
        started=datetime(2026, 11, 25, 3, 20, tzinfo=UTC),
        finished=datetime(2026, 11, 25, 3, 54, 30, tzinfo=UTC),
    )
    return replace(export, **changes)


def a_success(**changes: object) -> SuccessReport:
    report = SuccessReport(
        stack="rds-backup",
        database="orders",
        run=RUN,
        backup_time=datetime(2026, 11, 25, 3, 0, 12, tzinfo=UTC),
        source_region="eu-west-1",
        source_snapshot_id=SNAPSHOT,
        target_region="eu-central-1",
        copy_snapshot_id=f"{SNAPSHOT}-copy",
        exports=(
            an_export("eu-central-1", "backups-fra", TARGET_URI),
            an_export("eu-west-1", "backups-dub", SOURCE_URI),
        ),
        source_snapshot_kept=False,
    )
    return replace(report, **changes)


def a_failure(**changes: object) -> FailureReport:
    report = FailureReport(
        stack="rds-backup",
        step="copy",
        cause="KMS key arn:aws:kms:eu-central-1:123456789012:key/abc is disabled",
        error_time=datetime(2026, 11, 25, 3, 7, 45, tzinfo=UTC),
        remedy="Enable the key in eu-central-1.",
        database="orders",
        snapshot_id=SNAPSHOT,
        run=RUN,
        region="eu-central-1",
        code="KMSKeyNotAccessibleFault",
        stack_region="eu-west-1",
    )
    return replace(report, **changes)


def hostile_success() -> SuccessReport:
    return a_success(
        database=HOSTILE,
        run=f"{RUN}\r\nBcc: victim@example.com",
        exports=(
            an_export(
                "eu-central-1", HOSTILE, f"s3://{HOSTILE}/x/", failure_cause=HOSTILE, status=HOSTILE
            ),
        ),
    )


def hostile_failure() -> FailureReport:
    return a_failure(
        database=f"{HOSTILE}\r\nBcc: victim@example.com",
        step=f"copy\n{HOSTILE}",
        cause=f"{HOSTILE} & 'quotes' \"here\"",
        remedy=HOSTILE,
        snapshot_id=HOSTILE,
        code=HOSTILE,
        exports=(an_export("eu-west-1", HOSTILE, f"s3://{HOSTILE}/", failure_cause=HOSTILE),),
    )


# --- escaping and injection ---------------------------------------------------------------


@pytest.mark.parametrize(
    "render",
    [lambda: render_success(hostile_success()), lambda: render_failure(hostile_failure())],
    ids=["success", "failure"],
)
def test_given_a_database_named_script_tag_when_rendered_then_html_is_escaped(render):
    email = render()

    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html


@pytest.mark.parametrize(
    "render",
    [lambda: render_success(hostile_success()), lambda: render_failure(hostile_failure())],
    ids=["success", "failure"],
)
def test_given_hostile_values_when_rendered_then_text_part_has_them_verbatim_without_entities(
    render,
):
    email = render()

    assert HOSTILE in email.text
    assert not ENTITY.search(email.text), ENTITY.findall(email.text)


@pytest.mark.parametrize(
    "render",
    [lambda: render_success(hostile_success()), lambda: render_failure(hostile_failure())],
    ids=["success", "failure"],
)
def test_given_crlf_in_values_when_rendered_then_subject_is_one_line(render):
    email = render()

    assert "\r" not in email.subject
    assert "\n" not in email.subject
    assert "Bcc: victim@example.com" in email.subject  # kept as text, not as a header


def test_given_control_characters_when_rendered_then_subject_has_none():
    email = render_success(a_success(database="ord\x00ers\x1b[31m\u2028\u2029\x7f\ttab"))

    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in email.subject)
    assert "\u2028" not in email.subject
    assert "\u2029" not in email.subject


def test_given_a_very_long_database_name_when_rendered_then_subject_is_capped():
    email = render_success(a_success(database="x" * 1000))

    assert len(email.subject) <= mail.SUBJECT_MAX
    assert email.subject.endswith("…")


def test_given_a_huge_cause_when_rendered_then_it_is_truncated_with_a_pointer_to_the_logs():
    email = render_failure(a_failure(cause="y" * (mail.CAUSE_MAX + 5000)))

    assert "truncated" in email.text
    assert "y" * (mail.CAUSE_MAX + 1) not in email.text


# --- strict templates ---------------------------------------------------------------------


def test_given_the_environment_when_a_template_names_a_missing_variable_then_rendering_raises():
    from jinja2 import StrictUndefined, UndefinedError

    env = mail.environment()

    assert env.undefined is StrictUndefined
    with pytest.raises(UndefinedError):
        env.from_string("Hello {{ nobody }}").render()
    with pytest.raises(UndefinedError):
        env.get_template("success.txt.j2").render(subject="s")  # no report


def test_given_the_environment_when_asked_twice_then_it_is_the_same_object():
    assert mail.environment() is mail.environment()


def test_given_the_environment_when_templates_are_named_then_only_html_ones_escape():
    env = mail.environment()

    assert (
        env.get_template("success.html.j2")
        .render(subject="s", report=a_success(database="<b>"))
        .count("&lt;b&gt;")
    )
    assert "<b>" in env.get_template("success.txt.j2").render(
        subject="s", report=a_success(database="<b>")
    )
    assert env.from_string("{{ v }}").render(v="<i>") == "&lt;i&gt;"


def test_given_a_fresh_interpreter_when_mail_is_imported_then_jinja2_is_not_loaded():
    import subprocess

    code = "import sys, rds_backup.mail; print('jinja2' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


# --- content ------------------------------------------------------------------------------


def test_given_a_success_when_rendered_then_both_s3_locations_and_both_snapshots_are_named():
    email = render_success(a_success())

    for part in (email.html, email.text):
        assert TARGET_URI in part
        assert SOURCE_URI in part
        assert SNAPSHOT in part
        assert f"{SNAPSHOT}-copy" in part
        assert "eu-west-1" in part
        assert "eu-central-1" in part
        assert "2026-11-25 03:00:12 UTC" in part
        assert "42 GB" in part
        assert "34.5 min" in part
        assert "deleted" in part
    assert email.subject == f"[rds-backup] ✅ orders backed up — {RUN}"


def test_given_the_source_snapshot_was_kept_when_rendered_then_the_email_says_kept():
    email = render_success(a_success(source_snapshot_kept=True))

    assert "kept" in email.text
    assert "kept" in email.html


def test_given_no_exports_when_rendered_then_the_email_says_none_were_made():
    email = render_success(a_success(exports=()))

    assert "No export to S3" in email.text
    assert "No export to S3" in email.html


def test_given_an_export_still_running_when_rendered_then_size_and_duration_are_left_out():
    running = an_export(
        "eu-central-1", "backups-fra", TARGET_URI, status="IN_PROGRESS", size_gb=None, finished=None
    )
    email = render_success(a_success(exports=(running,)))

    assert "IN_PROGRESS" in email.text
    assert " GB" not in email.text
    assert " min" not in email.text
    assert "Started:" in email.text


def test_given_a_failure_when_rendered_then_cause_step_remedy_and_time_are_shown():
    email = render_failure(a_failure())

    for part in (email.html, email.text):
        assert "KMS key arn:aws:kms:eu-central-1:123456789012:key/abc is disabled" in part
        assert "copy" in part
        assert "Enable the key in eu-central-1." in part
        assert "2026-11-25 03:07:45 UTC" in part
        assert SNAPSHOT in part
        assert "KMSKeyNotAccessibleFault" in part
        # pasteable: the stack, the region it runs in, and a window that ends at the error
        assert (
            "rds-backup replay --stack rds-backup --region eu-west-1 "
            "--since 2026-11-25T02:59:00Z --until 2026-11-25T03:08:45Z"
        ) in part
    assert email.subject == f"[rds-backup] ❌ orders backup FAILED at copy — {RUN}"


def test_given_no_remedy_when_rendered_then_the_email_points_at_the_logs_and_replay():
    email = render_failure(a_failure(remedy="", run=None, database=None, snapshot_id=None))

    for part in (email.html, email.text):
        assert "logs" in part
        assert "--since 2026-11-25T02:07:45Z --until 2026-11-25T03:08:45Z" in part
    # the headline does not pretend the whole run failed, nor names the stack as a database
    assert email.subject == (
        "[rds-backup] ❌ copy FAILED (no single database is named) — 2026-11-25 03:07:45 UTC"
    )


def test_given_a_failure_with_exports_when_rendered_then_the_exports_are_listed():
    failed = an_export(
        "eu-central-1",
        "backups-fra",
        TARGET_URI,
        status="FAILED",
        size_gb=None,
        finished=None,
        failure_cause="role cannot write to the bucket",
    )
    email = render_failure(a_failure(step="export", exports=(failed,)))

    for part in (email.html, email.text):
        assert TARGET_URI in part
        assert "FAILED" in part
        assert "role cannot write to the bucket" in part


def test_given_a_naive_error_time_when_rendered_then_it_is_taken_as_utc():
    email = render_failure(a_failure(error_time=datetime(2026, 11, 25, 3, 7, 45)))

    assert "2026-11-25 03:07:45 UTC" in email.text


def test_given_a_rendered_email_when_inspected_then_styles_are_inline_and_nothing_is_remote():
    email = render_success(a_success())

    assert isinstance(email, Email)
    assert "<style" not in email.html
    assert "<link" not in email.html
    assert "<script" not in email.html
    assert "<img" not in email.html
    assert "max-width:640px" in email.html
    assert "http://" not in email.html
    assert "https://" not in email.html


def test_given_a_database_exported_every_other_night_when_rendered_then_both_parts_say_when_next():
    # given an off night: no export, the next one due on the 27th
    from datetime import date

    report = a_success(exports=(), next_export=date(2026, 11, 27))

    # when
    email = render_success(report)

    # then
    for part in (email.html, email.text):
        assert "Next export to S3 of orders: the run of 2026-11-27." in part
        assert "exports run every EXPORT_EVERY_DAYS nights" in part


def test_given_nightly_exports_when_rendered_then_no_next_export_line():
    email = render_success(a_success())

    assert "Next export" not in email.html
    assert "Next export" not in email.text
