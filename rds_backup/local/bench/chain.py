"""AWS API calls per database per full chain, polling calls and handler CPU, from real
chains on the local AWS (``LocalAws``, counted by ``timeline.api_calls``).

Every call a handler makes is also recorded with its region and the resource it names
(snapshot id, export id, source ARN). A *polling call* is a Describe*/Get*/List* call that
repeats, inside one invocation, for the same resource: the only way a handler can wait.
Re-reads of a resource by a *later* invocation follow a new event (a state change) and
are listed separately, not counted as polling.
"""

from __future__ import annotations

import importlib
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.handlers

from rds_backup.local.bench.common import quiet_handlers
from rds_backup.local.harness import LocalAws
from rds_backup.local.runner import LambdaRunner
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import LocalServer
from rds_backup.local.stack import Function

READ_PREFIXES = ("Describe", "Get", "List")
RESOURCE_KEYS = ("DBSnapshotIdentifier", "ExportTaskIdentifier", "SourceArn", "Key", "TableName")
FORWARDED = frozenset(
    {"RDS-EVENT-0060", "RDS-EVENT-0061", "RDS-EVENT-0159", "RDS-EVENT-0160", "RDS-EVENT-0161"}
)


class CallLog:
    """Each handler API call: (invocation, operation, region, resource)."""

    def __init__(self) -> None:
        self.local: LocalAws | None = None
        self.invocation = 0
        self.calls: list[tuple[int, str, str, str]] = []

    def hook(self, model: Any, params: Any = None, request_signer: Any = None, **_: Any) -> None:
        if self.local is None or not self.local.api_calls.active:
            return
        body = params.get("body", {}) if isinstance(params, dict) else {}
        body = body if isinstance(body, dict) else {}
        resource = next((f"{k}={body[k]}" for k in RESOURCE_KEYS if k in body), "")
        # A filtered read names what it filters on (tasks in progress, tasks of some ARNs):
        # two reads with different filters are not the same read repeated.
        filters = ",".join(f"{v}" for k, v in sorted(body.items()) if k.startswith("Filters."))
        resource = f"{resource} {filters}".strip()
        region = getattr(request_signer, "region_name", "") or ""
        operation = f"{model.service_model.service_id.replace(' ', '')}:{model.name}"
        self.calls.append((self.invocation, operation, region, resource))

    def polling(self) -> tuple[list[str], list[str]]:
        """(reads repeated within one invocation, reads repeated by later invocations)."""
        seen_in: dict[tuple[str, str, str], int] = {}
        within: list[str] = []
        across: list[str] = []
        for invocation, operation, region, resource in self.calls:
            if not operation.split(":", 1)[1].startswith(READ_PREFIXES):
                continue
            key = (operation, region, resource)
            where = f"{operation} {region} {resource}".strip()
            if key in seen_in:
                (within if seen_in[key] == invocation else across).append(where)
            seen_in[key] = invocation
        return within, across


class TimedRunner(LambdaRunner):
    """The local runner; each attempt's handler CPU (this thread only: moto's server
    threads are not ours) by function."""

    cpu: dict[str, list[float]]
    log: CallLog

    def _attempt(
        self, function: Function, event: dict[str, Any], attempt: int, request_id: str
    ) -> BaseException | None:
        self.log.invocation += 1
        started = time.thread_time()
        try:
            return super()._attempt(function, event, attempt, request_id)
        finally:
            self.cpu.setdefault(function.short_name, []).append(time.thread_time() - started)


@contextmanager
def _hooked(log: CallLog) -> Iterator[None]:
    entry = ("before-call", log.hook)
    botocore.handlers.BUILTIN_HANDLERS.append(entry)
    try:
        yield
    finally:
        botocore.handlers.BUILTIN_HANDLERS.remove(entry)


def run_chain(
    server: LocalServer, databases: tuple[str, ...], store_to_source_s3: bool
) -> dict[str, Any]:
    spec = WorldSpec(databases=databases, store_to_source_s3=store_to_source_s3)
    cpu: dict[str, list[float]] = {}
    log = CallLog()  # hooked before the world is seeded: the handlers' session is made then
    with quiet_handlers(), _hooked(log), LocalAws(spec, server=server) as local:
        log.local = local
        for timed in local.use_runners(TimedRunner):
            timed.cpu, timed.log = cpu, log
            for function in timed.stack.functions.values():
                importlib.import_module(function.module)  # warm: imports are measured apart
        local.fire_schedule()
        local.run_until_quiet(max_seconds=120)
        calls = Counter(local.timeline.api_calls)
        target = spec.target_region
        forwarded = [
            e for e in local.emulator.emitted if e.region == target and e.event_id in FORWARDED
        ]
        invocations = local.timeline.invocations_by_function()
        errors = sum(1 for e in local.timeline.invocations() if not e.ok)
        by_function: Counter[str] = Counter()
        for entry in local.timeline.invocations():
            by_function[entry.function] += entry.api_calls
    within, across = log.polling()
    total = sum(calls.values())
    n = len(databases)
    describes = {op: c for op, c in calls.items() if op.split(":", 1)[1].startswith(READ_PREFIXES)}
    return {
        "databases": n,
        "STORE_TO_SOURCE_S3": store_to_source_s3,
        "handler_errors": errors,
        "handler_invocations": invocations,
        "api_calls_total": total,
        "api_calls_per_database": round(total / n, 2),
        "api_calls_by_operation": dict(sorted(calls.items())),
        "api_calls_by_function": dict(sorted(by_function.items())),
        "api_calls_by_operation_per_database": {
            op: round(c / n, 2) for op, c in sorted(calls.items())
        },
        "read_calls_per_database": round(sum(describes.values()) / n, 2),
        "polling_calls": len(within),
        "polling_call_list": within,
        "rereads_after_a_new_event": len(across),
        "rereads_after_a_new_event_list": sorted(Counter(across).elements()),
        "cross_region_events": len(forwarded),
        "custom_events": 0,  # the nightly schedule starts it; "Backup Requested" would be 1
        "handler_cpu_ms_per_run": {
            name: round(sum(values) * 1000, 1) for name, values in sorted(cpu.items())
        },
        "handler_cpu_ms_per_database": round(sum(map(sum, cpu.values())) * 1000 / n, 1),
    }


def measure(server: LocalServer, databases: tuple[str, ...]) -> dict[str, Any]:
    return {
        "method": (
            "a nightly chain on the local AWS per setting; API calls counted by the harness "
            "(handler calls only); each read also logged with region and resource for the "
            "polling check; handler CPU is time.thread_time of the invoking thread (the moto "
            "server's threads excluded), handlers imported beforehand (warm)"
        ),
        "both_exports": run_chain(server, databases, store_to_source_s3=True),
        "target_export_only": run_chain(server, databases, store_to_source_s3=False),
    }
