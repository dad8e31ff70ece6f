"""cfn-lint is clean on the three generated templates (main, target region, vault)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import Packaged

CFN_LINT = Path(sys.executable).parent / "cfn-lint"
IGNORED = [
    # W3005 "dependency already enforced by a GetAtt": osls adds DependsOn on the execution
    # role to every function whose `role:` names a template resource; it duplicates the
    # GetAtt on Role, is harmless, and is not ours to remove.
    "W3005",
]


@pytest.mark.parametrize("stack", ["main_stack", "target_stack", "vault_stack"])
def test_given_a_packaged_stack_when_linted_then_cfn_lint_reports_nothing(
    stack: str, request: pytest.FixtureRequest
) -> None:
    packaged: Packaged = request.getfixturevalue(stack)
    result = subprocess.run(
        [str(CFN_LINT), "--ignore-checks", *IGNORED, "--", str(packaged.template_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
