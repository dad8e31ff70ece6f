"""``rds-backup local up``: a seeded local AWS that stays up until interrupted.

The main stack is "deployed" into it (rds_backup/local/deployed.py: its functions with their
environment and roles, the rules, the archive, the target-region forwarder), optional faults
are seeded (rds_backup/local/misconfigure.py), and the endpoint and the environment to export
are printed. Then the local Lambda runner and the RDS event emulator are pumped, so
``rds-backup start`` from another shell runs a real chain; ``status``, ``replay``, ``cleanup``
and ``doctor`` see it as on AWS, and ``redrive`` hands parked events to the pumped runner
(rds_backup/local/invoker.py). Ctrl-C (or SIGTERM) stops it cleanly.
"""

from __future__ import annotations

import shlex
import signal
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

from rds_backup.local import misconfigure
from rds_backup.local.harness import LocalAws, package_templates
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import FAKE_CREDENTIALS, LocalServer

PAUSE = 0.2  # seconds between pumps when nothing happened
Print = Callable[[str], None]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_up(port: int = 0, names: Sequence[str] = (), out: Print = print) -> int:
    """Serve until interrupted; 0 on a clean stop, 2 for an unknown fault name."""
    try:
        misconfigure.faults(names)
    except misconfigure.UnknownFault as error:
        print(f"rds-backup local up: {error}", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C must stop it even when started with SIGINT ignored (a shell's background job or
    # a CI runner's: POSIX shells start asynchronous commands with SIGINT ignored, and Python
    # then keeps it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = None
    try:
        server = LocalServer(port)
        with LocalAws(WorldSpec(), server=server, templates=package_templates) as local:
            environment = misconfigure.build(local, names)
            out(banner(local, environment, names))
            _serve(local)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt this
        if server is not None:
            server.stop()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    out("local AWS stopped")
    return 0


def _serve(local: LocalAws) -> None:
    while True:
        emitted = local.emulator.tick()
        drained = sum(runner.drain() for runner in local.runners)
        if not emitted and not drained:
            time.sleep(PAUSE)


def exports(url: str, environment: dict[str, str]) -> list[str]:
    """``export`` lines for a POSIX shell: the endpoint, fake credentials, the stack's vars."""
    values = {"AWS_ENDPOINT_URL": url, **FAKE_CREDENTIALS, **environment}
    return [f"export {key}={shlex.quote(value)}" for key, value in values.items()]


def banner(local: LocalAws, environment: dict[str, str], names: Sequence[str]) -> str:
    url = local.server.url
    source = local.spec.source_region
    stack = local.main_stack_name
    seeded = ", ".join(f"{f.name} (doctor: {f.check})" for f in misconfigure.faults(names))
    lines = [
        f"rds-backup local AWS is up at {url}",
        f"  stack {stack}: source {source}, target {local.spec.target_region}, "
        f"databases {', '.join(local.spec.databases)}",
        f"  faults seeded: {seeded or 'none (a healthy world)'}",
        "",
        "In another shell, export:",
        *(f"  {line}" for line in exports(url, environment)),
        "",
        "then try, for example:",
        "  rds-backup doctor",
        "  rds-backup start --db orders --reason try-it",
        "  rds-backup status",
        "  rds-backup replay --since <an ISO time before the run>",
        "  rds-backup cleanup --dry-run",
        "  rds-backup redrive --dry-run   (the dead-letter queues, back to their functions)",
        "or, with only AWS_ENDPOINT_URL and the credentials exported, read the configuration "
        "from the deployed functions:",
        f"  rds-backup doctor --stack {stack} --region {source} --endpoint-url {url}",
        "",
        "Ctrl-C stops it.",
    ]
    return "\n".join(lines)
