"""Doctor's reporting, without AWS (the checks themselves: tests/e2e/test_doctor.py)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rds_backup.cli import main
from rds_backup.ops import doctor


def test_given_a_check_that_cannot_look_when_doctor_runs_then_it_fails_saying_why(monkeypatch):
    def denied(target: doctor.Target) -> doctor.Finding:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetRole")

    monkeypatch.setattr(doctor, "CHECKS", [("export-role-trust", "", denied)])

    (result,) = doctor.run_checks(doctor.Target(settings=None, aws=None))  # type: ignore[arg-type]

    assert result.status == "fail"
    assert result.found == "could not check: AccessDenied: no"
    assert result.fix


def test_doctor_help_lists_every_check_with_its_meaning(capsys):
    with pytest.raises(SystemExit):
        main(["doctor", "--help"])

    out = capsys.readouterr().out
    assert all(f"  {name} " in out and meaning[:30] in out for name, meaning, _ in doctor.CHECKS)
