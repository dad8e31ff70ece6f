"""End-to-end fixtures: one moto server per test session (per xdist worker), reset and
re-seeded for every test; the stacks' CloudFormation is packaged once (cached on disk)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from rds_backup.cli import main
from rds_backup.local import profiles
from rds_backup.local.clock import VirtualClock
from rds_backup.local.harness import STACK_NAME, LocalAws
from rds_backup.local.packaging import load_template
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import LocalServer
from rds_backup.settings import load_settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def templates() -> dict[str, dict[str, Any]]:
    """The generated CloudFormation of both stacks: what is tested is what is deployed."""
    return {"main": load_template("main"), "target": load_template("target")}


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.stop()


@pytest.fixture
def spec() -> WorldSpec:
    """Override (or parametrize indirectly) to change the seeded world."""
    return WorldSpec()


@pytest.fixture
def local_aws(
    spec: WorldSpec, local_server: LocalServer, templates: dict[str, dict[str, Any]]
) -> Iterator[LocalAws]:
    with LocalAws(spec, server=local_server, templates=templates.__getitem__) as local:
        yield local


def timed_local(
    spec: WorldSpec,
    server: LocalServer,
    templates: dict[str, dict[str, Any]],
    start: datetime,
    schedules: tuple[str, ...],
) -> LocalAws:
    """The local AWS in timed mode (moderate profile, seed 7), firing only ``schedules``."""
    return LocalAws(
        spec,
        server=server,
        templates=templates.__getitem__,
        clock=VirtualClock(start),
        profile=profiles.get("moderate", seed=7),
        schedules=schedules,
    )


@pytest.fixture
def operator(local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys):
    """Run `rds-backup <args> --endpoint-url <local AWS>` with the stack's variables
    (exported at each call: ``local_aws.configure`` changes reach the operator too; a test
    may set STACK_NAME itself after the fixture)."""
    monkeypatch.setenv("STACK_NAME", STACK_NAME)

    def run(*args: str) -> tuple[int, str, str]:
        for key, value in local_aws.environment.items():
            monkeypatch.setenv(key, value)
        load_settings.cache_clear()
        capsys.readouterr()
        code = main([*args, "--endpoint-url", local_aws.server.url])
        load_settings.cache_clear()
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
