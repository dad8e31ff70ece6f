"""docs/RELIABILITY.md cannot drift: each row names a test that exists; at least 25 rows."""

from __future__ import annotations

import importlib
import re

from tests.conftest import ROOT

DOC = ROOT / "docs" / "RELIABILITY.md"
ROW = re.compile(r"^\| (\d+) \|(.+)\|$")
TEST = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def rows() -> list[tuple[int, str]]:
    return [
        (int(m.group(1)), m.group(2))
        for line in DOC.read_text().splitlines()
        if (m := ROW.match(line))
    ]


def test_the_reliability_table_has_at_least_25_numbered_scenarios():
    numbers = [number for number, _ in rows()]

    assert len(numbers) >= 25
    assert numbers == list(range(1, len(numbers) + 1))


def test_every_scenario_names_a_test_that_exists_and_says_what_was_observed():
    for number, cells in rows():
        columns = [cell.strip() for cell in cells.split("|")]
        scenario, injected, expected, observed, test = columns
        assert all((scenario, injected, expected, observed)), f"row {number} has an empty cell"
        found = TEST.search(test)
        assert found, f"row {number} names no test"
        path, name = found.groups()
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, name, None)), f"row {number}: {path}::{name} is gone"
