"""Package both stacks once per session and hand the tests what would be deployed.

``rds_backup.local.packaging`` caches on a hash of the inputs and holds a file lock while it
builds, so pytest-xdist workers share one build: the first packages, the others wait and
reuse it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rds_backup.local import packaging


@dataclass(frozen=True)
class Packaged:
    directory: Path
    template: dict[str, Any]

    @property
    def template_path(self) -> Path:
        return self.directory / packaging.TEMPLATE

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: body
            for logical_id, body in self.template["Resources"].items()
            if body["Type"] == kind
        }


def _packaged(stack: packaging.Stack) -> Packaged:
    directory = packaging.package(stack)
    template = json.loads((directory / packaging.TEMPLATE).read_text(encoding="utf-8"))
    return Packaged(directory, template)


@pytest.fixture(scope="session")
def main_stack() -> Packaged:
    return _packaged("main")


@pytest.fixture(scope="session")
def target_stack() -> Packaged:
    return _packaged("target")


@pytest.fixture(scope="session")
def vault_stack() -> Packaged:
    return _packaged("vault")
