"""The package's layout keeps its promises (docs/ARCHITECTURE.md, "Floors"): rooms that read
bottom-up, one step per handler, steps that never import each other, a pure model, and
operator commands that never import the local AWS. Each rule is also shown to catch a
breach, on a made-up import."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import layout
from tests.layout import Import

ROOT = layout.ROOT


def test_given_every_handler_then_a_step_module_of_the_same_name_exists():
    handlers = {p.stem for p in (ROOT / "handlers").glob("*.py") if p.stem != "__init__"}
    steps = {p.stem for p in (ROOT / "rds_backup" / "steps").glob("*.py") if p.stem != "__init__"}

    assert handlers
    assert handlers == steps


def test_given_the_package_root_then_it_holds_at_most_twelve_modules():
    assert len(list((ROOT / "rds_backup").glob("*.py"))) <= 12


def test_given_the_import_map_then_no_module_imports_a_floor_above_its_own():
    assert layout.upward_imports() == []


def test_given_the_import_map_then_there_is_no_cycle():
    assert layout.cycles() == []


def test_given_the_floors_then_there_are_fewer_than_the_eleven_of_the_flat_package():
    assert len(layout.FLOORS) < 11


def test_given_the_steps_then_none_imports_another_step():
    assert layout.step_to_step() == []


def test_given_the_model_then_it_imports_neither_boto3_nor_state():
    assert layout.impure_model() == []


def test_given_the_operator_commands_then_none_imports_the_local_aws():
    assert layout.operators_importing_local() == []


def test_given_every_project_module_then_each_has_a_floor():
    assert [m for m in layout.modules() if layout.floor_of(m) is None] == []


@pytest.mark.parametrize(
    ("check", "importer", "imported"),
    [
        (layout.step_to_step, "rds_backup.steps.reconcile", "rds_backup.steps.notify"),
        (layout.impure_model, "rds_backup.model.tags", "rds_backup.state.snapshots"),
        (layout.impure_model, "rds_backup.model.kinds", "boto3"),
        (layout.upward_imports, "rds_backup.state.runs", "rds_backup.limits.queue"),
        (layout.operators_importing_local, "rds_backup.ops.redrive", "rds_backup.local.invoker"),
    ],
)
def test_given_a_breach_when_checked_then_the_rule_names_it(check, importer, imported):
    # given one made-up import that breaks the rule
    breach = Import(importer, imported, 1, module_level=True)

    # when the rule reads it, then it is reported
    assert check([breach]) == [breach]


def test_given_two_modules_importing_each_other_when_checked_then_the_cycle_is_named():
    pair = [
        Import("rds_backup.state.a", "rds_backup.state.b", 1, module_level=True),
        Import("rds_backup.state.b", "rds_backup.state.a", 1, module_level=True),
    ]

    assert layout.cycles(pair) == [
        ["rds_backup.state.a", "rds_backup.state.b", "rds_backup.state.a"]
    ]


def test_given_the_checkout_then_no_file_names_one_outside_it():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = []
    for name in tracked:
        path = Path(ROOT, name)
        if name.endswith(("package-lock.json", ".png")) or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        # (spelled in two parts, so this file does not name what it looks for)
        if "../" + "shared" in text or "DESIGN" + ".md" in text:
            outside.append(name)
    assert outside == []
