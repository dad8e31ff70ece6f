"""``rds-backup local up``: a seeded local AWS that stays up until interrupted.

The main stack is "deployed" into it (rds_backup/local/deployed.py: its functions with their
environment and roles, the rules, the archive, the target-region forwarder), optional faults
are seeded (rds_backup/local/misconfigure.py), and the endpoint and the environment to export
are printed. Then the local Lambda runner and the RDS event emulator are pumped, so
``rds-backup start`` from another shell runs a real chain; ``status``, ``replay``, ``cleanup``
and ``doctor`` see it as on AWS, and ``redrive`` hands parked events to the pumped runner
(rds_backup/local/invoker.py). Every email the stack sends there is written to a directory
(``--mail-dir``, else a new temporary one), named in the banner and, as each is sent, on the
terminal. The hints name the console script as this shell can run it (``.venv/bin/rds-backup``
when it is not on PATH). Ctrl-C (or SIGTERM) stops it cleanly.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from rds_backup.local import inventory, misconfigure
from rds_backup.local.harness import LocalAws, package_templates
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import FAKE_CREDENTIALS, LocalServer

PAUSE = 0.2  # seconds between pumps when nothing happened
Print = Callable[[str], None]
# The functions' variables that are Lambda's, not the stack's settings: exported, LOG_LEVEL
# would make every operator command print the handlers' INFO logs.
LAMBDA_ONLY = ("LOG_LEVEL", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def drill_environment() -> dict[str, str]:
    """``local up --drills``: every database due each day (so ``local drill`` drills each
    one at once), two SQL checks run over the wire on the restored rows."""
    checks = [
        {"name": "orders present", "sql": "SELECT count(*) FROM orders", "min": 1},
        {"name": "newest order", "sql": "SELECT max(created_at) FROM orders",
         "max_age_seconds": 86_400},
    ]  # fmt: skip
    return {"DRILL_EVERY_DAYS": "1", "DRILL_CHECKS": json.dumps(checks)}


def run_up(
    port: int = 0,
    names: Sequence[str] = (),
    out: Print = print,
    mail_dir: Path | None = None,
    drills: bool = False,
) -> int:
    """Serve until interrupted; 0 on a clean stop, 2 for an unknown fault name.

    ``drills``: a real PostgreSQL behind the databases and the target region's restore
    network (rds_backup/local/engine.py), so ``restore`` brings rows back at an endpoint of
    their own and ``local drill`` runs the restore drills."""
    try:
        misconfigure.faults(names)
    except misconfigure.UnknownFault as error:
        print(f"rds-backup local up: {error}", file=sys.stderr)
        return 2
    mail = MailDrop(mail_dir or Path(tempfile.mkdtemp(prefix="rds-backup-local-mail-")), out)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C must stop it even when started with SIGINT ignored (a shell's background job or
    # a CI runner's: POSIX shells start asynchronous commands with SIGINT ignored, and Python
    # then keeps it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = None
    try:
        server = LocalServer(port)
        spec = WorldSpec(engine=drills, restore_network=drills)
        extra = drill_environment() if drills else {}
        with LocalAws(spec, server=server, templates=package_templates, environment=extra) as local:
            environment = misconfigure.build(local, names)
            inventory.add_send_listener(mail.sent)
            out(banner(local, environment, names, mail.directory))
            _serve(local)
    except KeyboardInterrupt:
        pass
    finally:
        inventory.remove_send_listener(mail.sent)
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
    """``export`` lines for a POSIX shell: the endpoint, fake credentials, the stack's
    settings (not Lambda's own variables, LAMBDA_ONLY)."""
    settings = {k: v for k, v in environment.items() if k not in LAMBDA_ONLY}
    values = {"AWS_ENDPOINT_URL": url, **FAKE_CREDENTIALS, **settings}
    return [f"export {key}={shlex.quote(value)}" for key, value in values.items()]


def console_script() -> str:
    """How this shell runs ``rds-backup``: its name when it is on PATH, else the script next
    to this Python (``.venv/bin/rds-backup``, relative when under the working directory),
    else ``python -m rds_backup.cli``."""
    if shutil.which("rds-backup"):
        return "rds-backup"
    script = Path(sys.executable).parent / "rds-backup"
    if script.exists():
        relative = os.path.relpath(script)
        return str(script) if relative.startswith("..") else relative
    return f"{shlex.quote(sys.executable)} -m rds_backup.cli"


def banner(
    local: LocalAws, environment: dict[str, str], names: Sequence[str], mail: Path | None = None
) -> str:
    url = local.server.url
    source = local.spec.source_region
    stack = local.main_stack_name
    chosen = misconfigure.faults(names)
    seeded = ", ".join(f"{f.name} (doctor: {f.check})" for f in chosen)
    cli = console_script()
    undo = [f"  {f.name}: {_filled(f.undo, url, source)}" for f in chosen if f.undo]
    lines = [
        f"rds-backup local AWS is up at {url}",
        f"  stack {stack}: source {source}, target {local.spec.target_region}, "
        f"databases {', '.join(local.spec.databases)}",
        f"  faults seeded: {seeded or 'none (a healthy world)'}",
        *([f"  emails it sends are written to {mail}/"] if mail is not None else []),
        *(
            ["  restore drills: on (a real PostgreSQL behind the databases; each is due daily)"]
            if local.spec.engine
            else []
        ),
        "",
        "In another shell, export:",
        *(f"  {line}" for line in exports(url, environment)),
        "",
        "then try, for example:",
        f"  {cli} doctor",
        f"  {cli} start --db orders --reason try-it",
        f"  {cli} status",
        f"  {cli} replay --since <an ISO time before the run>",
        f"  {cli} cleanup --dry-run",
        f"  {cli} redrive --dry-run   (the dead-letter queues, back to their functions)",
        f"  {cli} restore --db orders --dry-run   (the plan: which copy, its age, the groups)",
        *(
            [f"  {cli} local drill   (the drill schedule now: restore, check the rows, delete)"]
            if local.spec.engine
            else []
        ),
        "or, with only AWS_ENDPOINT_URL and the credentials exported, read the configuration "
        "from the deployed functions:",
        f"  {cli} doctor --stack {stack} --region {source} --endpoint-url {url}",
        *(["", "To fix a seeded fault (then replay the window):", *undo] if undo else []),
        "",
        "Ctrl-C stops it.",
    ]
    return "\n".join(lines)


def _filled(command: str, url: str, region: str) -> str:
    return command.replace("{url}", url).replace("{region}", region)


class MailDrop:
    """Writes each email SES accepts to ``directory`` (``NN-<subject>.html`` as sent, and
    ``NN-<subject>.txt``: its headers and text) and names the file on the terminal. Called in
    the moto server's thread (inventory.add_send_listener)."""

    def __init__(self, directory: Path, out: Print) -> None:
        self.directory = directory
        self.out = out
        self.count = 0
        self._lock = threading.Lock()

    def sent(self, message: Any) -> None:
        email = inventory.sent_email(message)
        with self._lock:
            self.count += 1
            path = inventory.write_email(email, self.directory, self.count)
        self.out(f"email sent: {email.subject!r} -> {path}")


DRILL_HANDLER = "handlers/start_drill.handler"


def fire_drills(url: str | None, region: str | None, out: Print = print) -> int:
    """``rds-backup local drill``: what the daily drill schedule does, now, on a running
    ``local up --drills``: an asynchronous Invoke of the deployed start_drill function with a
    "Scheduled Event" (EventBridge's schedule target; on AWS it fires at DRILL_SCHEDULE).
    0 when the invocation was accepted, 1 when no local AWS or no drill function answers."""
    import uuid
    from datetime import UTC, datetime

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    url = url or os.environ.get("AWS_ENDPOINT_URL")
    region = region or os.environ.get("SOURCE_REGION") or "us-east-1"
    if not url:
        print("rds-backup local drill: no endpoint: export AWS_ENDPOINT_URL as `local up` "
              "printed, or give --endpoint-url", file=sys.stderr)  # fmt: skip
        return 1
    client = boto3.client("lambda", region_name=region, endpoint_url=url)
    try:
        pages = client.get_paginator("list_functions").paginate()
        found = [f for page in pages for f in page["Functions"] if f["Handler"] == DRILL_HANDLER]
        if not found:
            print(f"rds-backup local drill: no start_drill function at {url} in {region}",
                  file=sys.stderr)  # fmt: skip
            return 1
        function = found[0]
        account = function["FunctionArn"].split(":")[4]
        stack = function["FunctionName"].removesuffix("-start_drill")
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": account,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [f"arn:aws:events:{region}:{account}:rule/{stack}-drills"],
            "detail": {},
        }
        client.invoke(
            FunctionName=function["FunctionName"],
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )
    except (BotoCoreError, ClientError) as error:
        print(f"rds-backup local drill: {error}", file=sys.stderr)
        return 1
    out(f"drill schedule fired: {function['FunctionName']} restores each due database's newest "
        "copy, checks its rows and deletes it; follow with `status` (emails: the local up "
        "terminal)")  # fmt: skip
    return 0
