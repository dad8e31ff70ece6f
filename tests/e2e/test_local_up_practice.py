"""`rds-backup local up --misconfigure export-role-s3` as a new operator uses it, each command
in a process of its own: `start` fails the chain at the export, the failure email with the
exact remedy is written to disk and named on local up's terminal, the printed fix (the aws
CLI putting the role policy back) and `replay` finish the run."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.support import ROOT, LocalUp, local_up, run_cli

ROLE = "arn:aws:iam::123456789012:role/rds-backup-export"


def _shell(up: LocalUp) -> dict[str, str]:
    """The environment of a shell that exported what local up printed (and nothing else of
    the stack's: LOG_LEVEL is not among them)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LOG_LEVEL", "AWS_ENDPOINT_URL")}
    for line in up.printed:
        if line.strip().startswith("export "):
            key, _, value = line.strip().removeprefix("export ").partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


def _outcomes(env: dict[str, str], want: str, timeout: float = 120) -> dict[str, str]:
    """Ask status every 2 s until every run's outcome is ``want``; the last answer."""
    deadline = time.monotonic() + timeout
    seen: dict[str, str] = {}
    while time.monotonic() < deadline:
        done = run_cli("status", "--json", timeout=60, env=env)
        assert done.returncode == 0, done.stderr
        seen = {r["database"]: r["outcome"] for r in json.loads(done.stdout)["runs"]}
        if seen and set(seen.values()) == {want}:
            break
        time.sleep(2)
    return seen


def test_given_local_up_with_an_export_role_without_s3_when_started_fixed_and_replayed_then_the_run_finishes(  # noqa: E501
    tmp_path: Path,
) -> None:
    mail = tmp_path / "mail"
    with local_up("--misconfigure", "export-role-s3", "--mail-dir", str(mail)) as up:
        banner = "".join(up.printed)
        env = _shell(up)
        # the hints name a command this shell can run, and where the emails go
        assert "  .venv/bin/rds-backup start --db orders" in banner
        assert f"emails it sends are written to {mail}/" in banner
        assert "export LOG_LEVEL" not in banner

        # when: the operator starts a backup of every database
        started = run_cli("start", timeout=60, env=env)
        assert started.returncode == 0, started.stderr
        assert started.stderr == ""  # no JSON logs for a person to wade through

        # then: the chain fails at the export, and the email says exactly what to change
        assert _outcomes(env, "failed") == {"orders": "failed", "billing": "failed"}
        named = up.line_with("email sent: ")
        assert "❌" in named
        path = Path(named.rsplit(" -> ", 1)[1].strip())
        assert path.parent == mail
        text = path.read_text()
        assert f"The export role EXPORT_ROLE_ARN={ROLE} lacks an S3 permission (s3:PutObject)" in (
            " ".join(text.split())
        )
        assert "s3:GetBucketLocation" in text
        assert "TARGET_BUCKET=acme-rds-backup-usw2" in text

        # when: the fix local up printed is run as printed, then the window is replayed
        fix = next(line for line in up.printed if "aws iam put-role-policy" in line)
        command = fix.split(": ", 1)[1].strip()
        fixed = subprocess.run(
            command, shell=True, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert fixed.returncode == 0, fixed.stderr
        since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%MZ")
        replayed = run_cli("replay", "--since", since, timeout=120, env=env)
        assert replayed.returncode == 0, replayed.stderr

        # then: both runs finish, with their success emails written too
        assert _outcomes(env, "succeeded") == {"orders": "succeeded", "billing": "succeeded"}
        assert "backed up" in up.line_with("✅")
    assert up.process.returncode == 0
    assert len(list(mail.glob("*.txt"))) == 4
