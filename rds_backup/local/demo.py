"""The demo: one nightly backup on the local AWS, end to end, printed for a person.

Packages the stacks (cached), starts the local AWS, fires the nightly schedule, runs the
chain until it is quiet, then prints the timeline, each database's chain and where the
emails were written. ``--json`` prints a machine-readable summary instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import textwrap
import time
import unicodedata
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, cast

from rds_backup.local import vault_demo
from rds_backup.local.harness import LocalAws, TemplateLoader, package_templates
from rds_backup.local.inventory import Inventory, SentEmail, write_emails
from rds_backup.local.runner import handler_output_to
from rds_backup.local.seed import WorldSpec
from rds_backup.model.naming import snapshot_id

OUTPUT = Path(".local-aws")
DEFAULT_SNAPSHOT_PREFIX = "rds-backup"


@dataclass(frozen=True)
class DemoOptions:
    databases: tuple[str, ...] = ("orders", "billing")
    clusters: tuple[str, ...] = ()  # DB clusters: Aurora PostgreSQL, Aurora MySQL in turn
    replay: bool = False
    fail_export: bool = False
    store_to_source_s3: bool = False
    keep_source_snapshot: bool = False
    notify: str = "per-database"  # NOTIFY_MODE
    warn_export: bool = False  # the last database's export leaves tables out
    vault: bool = False  # a vault account: shared, copied there, unshared (vault_demo.py)
    quiet: bool = False  # no human output (for --json)
    output: Path = OUTPUT
    templates: TemplateLoader = package_templates  # where the stacks' CloudFormation comes from


def run_demo(options: DemoOptions = DemoOptions()) -> dict[str, Any]:
    """Run the demo; print the human report unless ``quiet``; return the summary."""
    started = time.monotonic()
    out: IO[str] = io.StringIO() if options.quiet else cast(IO[str], Fitted(sys.stdout))
    spec = WorldSpec(
        databases=options.databases,
        clusters=options.clusters,
        store_to_source_s3=options.store_to_source_s3,
        keep_source_snapshot=options.keep_source_snapshot,
        vault=vault_demo.SPEC if options.vault else None,
    )
    log_path = options.output / "logs" / "lambda.jsonl"
    # powertools warns on stderr when a handler adds no metric (skipped events); not news here
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    environment = {"NOTIFY_MODE": options.notify}
    if options.vault:
        environment.update(vault_demo.vault_environment())
    with (
        _handler_output_to(log_path),
        LocalAws(spec, templates=options.templates, environment=environment) as local,
    ):
        _print_setup(local, out)
        if options.fail_export:
            local.emulator.fail_exports(database=options.databases[0], region=spec.target_region)
        if options.warn_export:
            local.emulator.warn_exports(database=options.databases[-1])
        vault_queue = vault_demo.prepare(local) if options.vault else None
        when = local.fire_schedule()
        local.run_until_quiet()
        vault_run = vault_demo.run_vault(local, vault_queue) if vault_queue else None
        first = local.inventory()
        replay = _replay(local, first, options) if options.replay else None
        final = local.inventory() if replay else first
        summary = _summary(local, final, when.strftime("%Y%m%d-%H%M"), options)
        emails = write_emails(final.emails, options.output / "emails")
        summary["emails"] = [
            {**_email(m), "file": str(path)} for m, path in zip(final.emails, emails, strict=True)
        ]
        if replay:
            summary["replay"] = replay
        if vault_run is not None:
            summary["vault"] = vault_demo.vault_entries(
                local,
                [*options.databases, *options.clusters],
                when.strftime("%Y%m%d-%H%M"),
                _snapshot_prefix(local),
            )
            summary["vault_passes"] = vault_run
            _print_vault(summary["vault"], out)
        summary["totals"] = _totals(local)
        summary["timeline"] = _timeline(local)
        print("\nTimeline (relative time, region of the resource, event → handler)", file=out)
        print(local.timeline.render(), file=out)
        _print_chains(summary, out)
        if replay:
            _print_replay(replay, out)
        _print_emails(summary["emails"], out)
    summary["wall_seconds"] = round(time.monotonic() - started, 2)
    summary["handler_logs"] = str(log_path)
    print(
        f"\nTotals: {_join(summary['totals']['handler_invocations'])} handler invocations, "
        f"{summary['totals']['aws_api_calls_total']} AWS API calls by handlers; "
        f"wall time {summary['wall_seconds']} s. Handler logs: {log_path}",
        file=out,
    )
    return summary


WIDTH = 80  # the report fits a terminal of 80 columns


class Fitted(io.TextIOBase):
    """A text stream that wraps every line written to it at WIDTH columns, continuing a
    wrapped line under its own indent plus 4 (long words, URIs, are broken)."""

    def __init__(self, out: IO[str], width: int = WIDTH) -> None:
        super().__init__()
        self.out = out
        self.width = width
        self.pending = ""

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.out.write("\n".join(fit(line, self.width)) + "\n")
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.out.write("\n".join(fit(self.pending, self.width)))
            self.pending = ""
        self.out.flush()


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes: wide characters (the emails' ❌ and ✅,
    East Asian Wide or Fullwidth) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def fit(line: str, width: int = WIDTH) -> list[str]:
    """``line`` as lines of at most ``width`` columns (``[line]`` when it fits)."""
    if columns(line) <= width:
        return [line]
    indent = " " * min(len(line) - len(line.lstrip(" ")) + 4, width // 2)
    return textwrap.wrap(
        line,
        width - (columns(line) - len(line)),  # room for the wide characters
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
        drop_whitespace=True,
    )


def _timeline(local: LocalAws) -> list[dict[str, Any]]:
    entries = []
    for entry in local.timeline.entries:
        fields = {k: v for k, v in asdict(entry).items() if v not in ("", 0, False)}
        fields.update(at=round(entry.at, 3), kind=entry.kind, ok=entry.ok)
        if entry.kind == "invoke":
            fields["duration_ms"] = round(entry.duration_ms, 1)
        entries.append(fields)
    return entries


def _replay(local: LocalAws, before: Inventory, options: DemoOptions) -> dict[str, Any]:
    invocations = len(local.timeline.invocations())
    if options.fail_export:
        local.emulator.heal()  # the cause is fixed; the replay re-drives the failed chain
    names = local.replay()
    local.run_until_quiet()
    after = local.inventory()
    replayed = local.timeline.invocations()[invocations:]
    by_function: dict[str, int] = {}
    for entry in replayed:
        by_function[entry.function] = by_function.get(entry.function, 0) + 1
    return {
        "replays": names,
        "cause_fixed_before_replay": options.fail_export,
        "handler_invocations": by_function,
        "new": after.new_since(before),
        "before": before.counts(),
        "after": after.counts(),
    }


def _summary(local: LocalAws, found: Inventory, run: str, options: DemoOptions) -> dict[str, Any]:
    source, target = local.regions
    prefix = _snapshot_prefix(local)
    runs = []
    for database in (*options.databases, *options.clusters):
        identifier = snapshot_id(prefix, database, run)
        runs.append(
            {
                "database": database,
                "kind": "cluster" if database in options.clusters else "instance",
                "run": run,
                "source_snapshot": _snapshot(found, source, identifier),
                "copy": _snapshot(found, target, identifier),
                "exports": [
                    {
                        "id": export.identifier,
                        "region": export.region,
                        "status": export.status,
                        "s3_uri": export.s3_uri,
                        **({"failure_cause": export.failure_cause} if export.failure_cause else {}),
                    }
                    for export in found.exports
                    if export.snapshot == identifier
                ],
                "emails": [_email(m) for m in found.emails if _about(m, database)],
                "named_in_emails": [
                    index for index, m in enumerate(found.emails) if _names(m, database)
                ],
            }
        )
    return {
        "local_aws": {
            "endpoint": local.server.url,
            "source_region": source,
            "target_region": target,
            "rules": {stack.region: [rule.name for rule in stack.rules] for stack in local.stacks},
            "archives": [a.name for stack in local.stacks for a in stack.archives],
        },
        "options": {
            "databases": list(options.databases),
            "clusters": list(options.clusters),
            "STORE_TO_SOURCE_S3": options.store_to_source_s3,
            "KEEP_SOURCE_SNAPSHOT": options.keep_source_snapshot,
            "fail_export": options.fail_export,
            "warn_export": options.warn_export,
            "NOTIFY_MODE": options.notify,
            "replay": options.replay,
            "vault": options.vault,
        },
        "runs": runs,
    }


def _snapshot_prefix(local: LocalAws) -> str:
    """SNAPSHOT_PREFIX as the functions see it (the world's environment over the template's)."""
    if "SNAPSHOT_PREFIX" in local.environment:
        return local.environment["SNAPSHOT_PREFIX"]
    for function in local.main.functions.values():
        if "SNAPSHOT_PREFIX" in function.environment:
            return function.environment["SNAPSHOT_PREFIX"]
    return DEFAULT_SNAPSHOT_PREFIX


def _snapshot(found: Inventory, region: str, identifier: str) -> dict[str, Any]:
    for snapshot in found.snapshots:
        if snapshot.region == region and snapshot.identifier == identifier:
            return {
                "id": identifier,
                "region": region,
                "status": snapshot.status,
                "tags": dict(snapshot.tags),
            }
    return {"id": identifier, "region": region, "status": "deleted"}


def _email(message: SentEmail) -> dict[str, Any]:
    return {
        "subject": message.subject,
        "recipients": list(message.recipients),
        "outcome": message.outcome,
    }


def _about(message: SentEmail, database: str) -> bool:
    return f" {database} " in f" {message.subject} "


def _names(message: SentEmail, database: str) -> bool:
    """The email names the database (its own email, or its line in a run's digest)."""
    return _about(message, database) or f">{database}<" in message.html


def _totals(local: LocalAws) -> dict[str, Any]:
    calls = dict(sorted(local.timeline.api_calls.items()))
    return {
        "handler_invocations": local.timeline.invocations_by_function(),
        "handler_errors": sum(1 for e in local.timeline.invocations() if not e.ok),
        "rds_events_emitted": len(local.emulator.emitted),
        "copy_checks_fired": local.schedules.fired,
        "aws_api_calls": calls,
        "aws_api_calls_total": sum(calls.values()),
    }


def _print_setup(local: LocalAws, out: IO[str]) -> None:
    source, target = local.regions
    rules = sum(len(stack.rules) for stack in local.stacks)
    archives = ", ".join(a.name for stack in local.stacks for a in stack.archives) or "none"
    print(f"local AWS: moto server {local.server.url} — source {source}, target {target}", file=out)
    print(
        f"loaded from the generated CloudFormation: {rules} rules, "
        f"{sum(len(s.functions) for s in local.stacks)} functions, archive {archives}",
        file=out,
    )


def _print_chains(summary: dict[str, Any], out: IO[str]) -> None:
    print("\nChains", file=out)
    for run in summary["runs"]:
        print(f"  {run['database']}  (run {run['run']})", file=out)
        for label in ("source_snapshot", "copy"):
            snap = run[label]
            print(f"    {label:<16}{snap['region']:<11}{snap['id']}  {snap['status']}", file=out)
            if snap.get("tags"):
                listed = ", ".join(f"{key}={value}" for key, value in snap["tags"].items())
                print(f"    {'':<16}{'':<11}tags: {listed}", file=out)
        for export in run["exports"]:
            cause = f"  ({export['failure_cause']})" if export.get("failure_cause") else ""
            print(
                f"    {'export':<16}{export['region']:<11}{export['id']}  {export['status']}  "
                f"{export['s3_uri']}{cause}",
                file=out,
            )
        if not run["exports"]:
            print(f"    {'export':<16}none", file=out)


def _print_vault(entries: list[dict[str, Any]], out: IO[str]) -> None:
    print("\nVault (another account; measured in the local AWS)", file=out)
    for entry in entries:
        if not entry.get("vault_copy"):
            print(f"  {entry['database']}: {entry.get('why', 'no vault copy')}", file=out)
            continue
        print(
            f"  {entry['database']}  {entry['status']}\n    {entry['vault_copy']}\n"
            f"    key is the vault key: {entry['key_is_vault_key']}; still shared with: "
            f"{', '.join(entry['shared_after']) or 'nobody'}; the source account can delete "
            f"it: {entry['source_can_delete']} ({entry.get('source_delete_refused', '')})",
            file=out,
        )


def _print_replay(replay: dict[str, Any], out: IO[str]) -> None:
    new = replay["new"]
    print(f"\nReplay of the archive ({', '.join(replay['replays'])})", file=out)
    print(f"  handler invocations: {_join(replay['handler_invocations']) or 'none'}", file=out)
    print(
        f"  new: {len(new['snapshots'])} snapshots, {len(new['exports'])} exports, "
        f"{len(new['emails'])} emails",
        file=out,
    )
    for kind in ("snapshots", "exports", "emails"):
        for item in new[kind]:
            print(f"    + {kind[:-1]} {item}", file=out)


def _print_emails(emails: list[dict[str, Any]], out: IO[str]) -> None:
    print("\nEmails (SES, as sent; HTML written to disk)", file=out)
    for message in emails:
        print(
            f"  {message['outcome']:<8} {message['subject']}\n"
            f"           to {', '.join(message['recipients'])} → {message['file']}",
            file=out,
        )
    if not emails:
        print("  none", file=out)


def _join(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{name} {count}" for name, count in counts.items())
    return f"{total} ({parts})" if parts else str(total)


@contextlib.contextmanager
def _handler_output_to(path: Path) -> Iterator[None]:
    """In the demo, handler logs go to a file; the human report keeps the real stdout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as sink, handler_output_to(sink):
        yield


def dumps(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, default=str)
