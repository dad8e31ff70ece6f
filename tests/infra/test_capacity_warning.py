"""Packaging predicts the snapshot quota before it bites: infra/checks.js runs the capacity
planner (rds_backup/model/capacity.py) with the resolved settings and prints its warnings, without
failing the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rds_backup.local import packaging
from rds_backup.model.capacity import WARNING_PREFIX

SEVEN_DATABASES = {
    "DB_IDENTIFIER": "orders,billing,users,audit,search,events,ledger",
    # The interpreter the check spawns (checks.js also finds the checkout's .venv by itself).
    "PYTHON": sys.executable,
}


def test_given_seven_databases_at_15_days_when_packaged_then_the_quota_warning_is_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs: list[str] = []
    run = subprocess.run

    def recording(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        result: subprocess.CompletedProcess[str] = run(command, **kwargs)
        if "package" in command:
            outputs.append(f"{result.stdout}\n{result.stderr}")
        return result

    monkeypatch.setattr(packaging.subprocess, "run", recording)

    directory = packaging.package_variant("main", SEVEN_DATABASES, tmp_path)

    assert (directory / packaging.TEMPLATE).is_file()  # a warning never fails packaging
    (output,) = outputs
    warnings = [line for line in output.splitlines() if WARNING_PREFIX in line]
    assert len(warnings) == 1, output
    assert "7 databases x 16 snapshots" in warnings[0]
    assert "112 manual snapshots per region" in warnings[0]
    assert "Manual DB instance snapshots" in warnings[0]
    assert "capacity not checked" not in output
