"""What the end-to-end tests assert on: the chain's results as AWS holds them."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rds_backup.local.harness import LocalAws
from rds_backup.local.inventory import Export, Inventory, SentEmail, Snapshot
from rds_backup.model.naming import snapshot_id

PREFIX = "rds-backup"
ROOT = Path(__file__).resolve().parents[2]


def run_nightly(local: LocalAws) -> str:
    """Fire the nightly schedule and run the chain until it is quiet; return the run id."""
    when = local.fire_schedule()
    local.run_until_quiet()
    return when.strftime("%Y%m%d-%H%M")


def run_cli(
    *args: str, timeout: float, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``rds-backup <args>`` in a process of its own (as a shell runs it), its output kept."""
    return subprocess.run(
        [sys.executable, "-m", "rds_backup.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def snapshots_of(found: Inventory, database: str, run: str) -> dict[str, Snapshot]:
    """Our snapshots of one run, by region."""
    identifier = snapshot_id(PREFIX, database, run)
    return {s.region: s for s in found.snapshots if s.identifier == identifier}


def exports_of(found: Inventory, database: str, run: str) -> list[Export]:
    identifier = snapshot_id(PREFIX, database, run)
    return [e for e in found.exports if e.snapshot == identifier]


def emails_about(found: Inventory, database: str) -> list[SentEmail]:
    return [m for m in found.emails if f" {database} " in f" {m.subject} "]


def handler_errors(local: LocalAws) -> list[str]:
    return [
        f"{e.function} on {e.what} ({e.subject}): {e.result}"
        for e in local.timeline.invocations()
        if not e.ok
    ]


@contextmanager
def local_up(*args: str) -> Iterator[LocalUp]:
    """`rds-backup local up <args>` in a child process, as an operator starts it; yields
    its endpoint and what it printed once it is serving, then stops it with Ctrl-C."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rds_backup.cli", "local", "up", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # As a shell's background job or a CI runner starts it: SIGINT ignored. Ctrl-C must
        # stop it all the same (local/up.py installs its own handler).
        preexec_fn=_ignore_sigint,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read, args=(process.stdout, lines), daemon=True).start()
    up = LocalUp(process, lines=lines)
    try:
        deadline = time.monotonic() + 180
        while not up.printed or "Ctrl-C stops it." not in up.printed[-1]:
            up.printed.append(lines.get(timeout=max(1.0, deadline - time.monotonic())))
        up.url = next(
            line.split("=", 1)[1].strip() for line in up.printed if "AWS_ENDPOINT_URL=" in line
        )
        yield up
    finally:
        process.send_signal(signal.SIGINT)
        _, up.err = process.communicate(timeout=60)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class LocalUp:
    process: subprocess.Popen[str]
    url: str = ""
    printed: list[str] = field(default_factory=list)
    err: str = ""
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    def line_with(self, text: str, timeout: float = 60) -> str:
        """The next line it prints that holds ``text`` (the lines before it are kept)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in {self.printed[-20:]}") from None
            self.printed.append(line)
            if text in line:
                return line


def _read(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def runs_until(
    stack: list[str], capsys: Any, database: str, key: str, value: str, timeout: float = 120
) -> list[str]:
    """Ask ``rds-backup status`` every 2 s until the database's runs all have ``key`` equal
    to ``value`` (or ``timeout`` passes); the values last seen."""
    from rds_backup.cli import main

    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline and seen != [value]:
        time.sleep(2)
        assert main(["status", *stack, "--json"]) == 0
        runs = json.loads(capsys.readouterr().out)["runs"]
        seen = [str(r[key]) for r in runs if r["database"] == database]
    return seen
