"""checkov on the generated CloudFormation of both stacks, with the package-time defaults and
with every optional resource created: every finding is fixed, or accepted with a reason in
infra/checkov-suppressions.yml.

checkov runs from a tool environment of its own, not from .venv: checkov 3.3.30 pins
boto3==1.35.49 (and packaging<24, networkx<2.7), which would downgrade the boto3 the handlers
and moto are tested against. The first run installs it into
``.requirements/tools/checkov-<version>`` (needs the package index, ~30 s, like the first
layer build); later runs reuse it. ``CHECKOV=/path/to/checkov`` uses another install.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

from rds_backup.local import packaging
from tests.infra.conftest import Packaged
from tests.infra.test_security import package_all_options

CHECKOV_VERSION = "3.3.30"
TOOLS = packaging.WORK / "tools"
SUPPRESSIONS = packaging.ROOT / "infra" / "checkov-suppressions.yml"
PIN = f"checkov=={CHECKOV_VERSION}"
PIP_QUIET = ("--quiet", "--disable-pip-version-check")
STACKS = {"main", "target", "vault"}


@dataclass(frozen=True)
class Finding:
    check: str
    name: str
    template: str  # main, target, main-all-options, target-all-options
    resource: str  # <Type>.<LogicalId>

    @property
    def stack(self) -> str:
        return self.template.split("-", 1)[0]

    def __str__(self) -> str:
        return f"{self.template}: {self.check} {self.resource} ({self.name})"


@dataclass(frozen=True)
class Scan:
    findings: list[Finding]
    summary: dict[str, Any]


def _installed_checkov() -> Path:
    """checkov CHECKOV_VERSION in its own environment, installed once (under a lock, so
    xdist workers wait for one install)."""
    if "CHECKOV" in os.environ:
        return Path(os.environ["CHECKOV"])
    home = TOOLS / f"checkov-{CHECKOV_VERSION}"
    done = home / ".installed"  # written last: a broken install is redone
    with packaging.file_lock(TOOLS / "checkov.lock"):
        if not done.is_file():
            shutil.rmtree(home, ignore_errors=True)
            # In place: a venv's scripts hold its path.
            for step in (
                [sys.executable, "-m", "venv", str(home)],
                [str(home / "bin" / "python"), "-m", "pip", "install", *PIP_QUIET, PIN],
            ):
                result = subprocess.run(step, capture_output=True, text=True, check=False)
                if result.returncode != 0:
                    pytest.fail(
                        f"could not install checkov {CHECKOV_VERSION} into {home} (the first "
                        f"run needs the package index):\n{(result.stdout + result.stderr)[-2000:]}"
                    )
            done.write_text(PIN + "\n", encoding="utf-8")
    return home / "bin" / "checkov"


@pytest.fixture(scope="module")
def scan(
    main_stack: Packaged,
    target_stack: Packaged,
    vault_stack: Packaged,
    tmp_path_factory: pytest.TempPathFactory,
) -> Scan:
    checkov = _installed_checkov()
    work = tmp_path_factory.mktemp("checkov")
    templates = {
        "main": main_stack.template_path,
        "target": target_stack.template_path,
        "vault": vault_stack.template_path,  # the vault account's own stack (infra/vault/)
    }
    for stack, path in package_all_options(work / "packaged").items():
        templates[f"{stack}-all-options"] = path
    scanned = work / "templates"
    scanned.mkdir()
    for name, path in templates.items():
        shutil.copy(path, scanned / f"{name}.json")
    files = [arg for name in sorted(templates) for arg in ("-f", f"{name}.json")]
    result = subprocess.run(
        [str(checkov), "--framework", "cloudformation", "-o", "json", "--skip-download", *files],
        cwd=scanned,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    # 0: no findings; 1: findings (judged below); anything else: checkov itself failed.
    assert result.returncode in (0, 1), result.stderr[-4000:]
    reports = json.loads(result.stdout)
    (report,) = reports if isinstance(reports, list) else [reports]
    assert report["check_type"] == "cloudformation"
    assert report["summary"]["checkov_version"] == CHECKOV_VERSION
    findings = [
        Finding(
            check=failed["check_id"],
            name=failed["check_name"],
            template=Path(failed["file_path"]).stem,
            resource=failed["resource"],
        )
        for failed in report["results"]["failed_checks"]
    ]
    return Scan(findings, report["summary"])


def _suppressions() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = yaml.safe_load(SUPPRESSIONS.read_text(encoding="utf-8"))
    return entries


def _suppresses(entry: dict[str, Any], finding: Finding) -> bool:
    return (
        entry["check"] == finding.check
        and finding.stack in entry["stacks"]
        and any(fnmatch.fnmatchcase(finding.resource, p) for p in entry["resources"])
    )


def test_given_the_templates_when_scanned_then_checkov_read_all_four_without_errors(
    scan: Scan,
) -> None:
    assert scan.summary["parsing_errors"] == 0
    assert scan.summary["passed"] > 0
    assert scan.summary["resource_count"] > 100  # ~50 resources per main template


def test_given_the_templates_when_scanned_then_every_finding_is_fixed_or_suppressed(
    scan: Scan,
) -> None:
    entries = _suppressions()
    unexplained = [f for f in scan.findings if not any(_suppresses(e, f) for e in entries)]
    assert not unexplained, (
        "checkov findings: fix them in infra/, or add them to infra/checkov-suppressions.yml "
        "with the reason (and to docs/DEPLOY.md, Security):\n"
        + "\n".join(str(f) for f in sorted(unexplained, key=str))
    )


def test_given_the_suppressions_when_read_then_each_has_a_reason_and_still_matches_a_finding(
    scan: Scan,
) -> None:
    for entry in _suppressions():
        assert set(entry) == {"check", "stacks", "resources", "reason"}, entry
        assert set(entry["stacks"]) <= STACKS, entry
        assert len(entry["reason"].split()) >= 15, f"{entry['check']}: say why"
        matched = [f for f in scan.findings if _suppresses(entry, f)]
        for pattern in entry["resources"]:
            hits = [f for f in matched if fnmatch.fnmatchcase(f.resource, pattern)]
            assert hits, f"stale suppression: {entry['check']} {pattern}"
        for stack in entry["stacks"]:
            assert [f for f in matched if f.stack == stack], f"stale: {entry['check']} {stack}"
