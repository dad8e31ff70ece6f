"""An operator command whose caller has no usable credentials says so once, whatever it
was doing: doctor's checks would each fail alike, so the run ends in one line (exit 253)
instead of one "could not check" per check (rds_backup/ops/errors.py ``signed_out``)."""

from __future__ import annotations

import pytest

from rds_backup.cli import main
from rds_backup.ops.conventions import Exit

SSO_PROFILE = """\
[profile prod-ops]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Operator
region = us-east-1

[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
"""


@pytest.mark.parametrize("how", ["sso-lapsed", "no-credentials"])
def test_given_the_caller_is_signed_out_when_doctor_runs_on_the_exported_stack_then_one_line(
    world, how, tmp_path, monkeypatch, capsys
):
    # given: the stack's variables exported (no --stack: the checks are the first calls),
    # and a profile whose SSO sign-in never happened, or no credentials at all
    (tmp_path / "config").write_text(SSO_PROFILE if how == "sso-lapsed" else "")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role either
    profile = ["--profile", "prod-ops"] if how == "sso-lapsed" else []

    # when
    code = main(["doctor", *profile])

    # then
    captured = capsys.readouterr()
    said = [line for line in captured.err.splitlines() if not line.startswith("{")]
    assert code == Exit.CONFIGURATION
    assert captured.out == ""
    assert len(said) == 1, said
    if how == "sso-lapsed":
        assert said[0].endswith("sign in with: aws sso login --profile prod-ops")
    else:
        assert said[0].startswith("rds-backup doctor: no AWS credentials found")
