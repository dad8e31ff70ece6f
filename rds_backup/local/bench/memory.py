"""Peak RSS and cold start of each handler: every invocation of a real chain runs in its
own fresh process (a cold Lambda container) against the local AWS.

A seeded world (one database, STORE_TO_SOURCE_S3=true) runs the nightly chain, then the
reconcile and cleanup schedules, with the local runner's in-process call replaced by
``child.py`` in a subprocess with the function's environment. So each handler gets the
real event at the real moment, and its process reports ``ru_maxrss``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from rds_backup.local.bench.common import PYTHON, REPO, median
from rds_backup.local.harness import LocalAws
from rds_backup.local.runner import LambdaRunner
from rds_backup.local.seed import WorldSpec
from rds_backup.local.server import LocalServer
from rds_backup.local.stack import Function
from rds_backup.local.timeline import event_name, event_region, event_subject

CHILD = Path(__file__).with_name("child.py")


def run_child(spec: dict[str, Any], environment: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rds-backup-bench-") as scratch:
        spec_path, result_path = Path(scratch, "spec.json"), Path(scratch, "result.json")
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        env = {**environment, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
            [PYTHON, str(CHILD), str(spec_path), str(result_path)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0 or not result_path.exists():
            return {"ok": False, "error": done.stderr.strip().splitlines()[-1:]}
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        return result


class ChildRunner(LambdaRunner):
    """The local runner, each attempt in a fresh process (a cold container)."""

    samples: list[dict[str, Any]]

    def _attempt(
        self, function: Function, event: dict[str, Any], attempt: int, request_id: str
    ) -> BaseException | None:
        environment = {
            **os.environ,
            **function.environment,
            **self.environment,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_REGION": self.stack.region,
        }
        spec = {
            "module": function.module,
            "attribute": function.attribute,
            "event": event,
            "context": {
                "function_name": function.name,
                "invoked_function_arn": self.function_arn(function),
                "aws_request_id": request_id,
            },
        }
        started = time.perf_counter()
        result = run_child(spec, environment)
        result["function"] = function.short_name
        result["event"] = event_name(event)
        self.samples.append(result)
        self.timeline.add(
            "invoke",
            event_region(event),
            event_name(event),
            subject=event_subject(event),
            function=function.short_name,
            attempt=attempt,
            ok=bool(result.get("ok")),
            result=str(result.get("error", "child process")),
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        return None if result.get("ok") else RuntimeError(str(result.get("error")))


def measure(server: LocalServer, baseline_runs: int, both_exports: bool = True) -> dict[str, Any]:
    samples: list[dict[str, Any]] = []
    spec = WorldSpec(databases=("orders",), store_to_source_s3=both_exports)
    with LocalAws(spec, server=server) as local:
        for child in local.use_runners(ChildRunner):
            child.samples = samples
        local.fire_schedule()
        local.run_until_quiet(max_seconds=180)
        for function in ("reconcile", "cleanup"):
            local.fire_schedule(function=function)
            local.run_until_quiet(max_seconds=120)
        baseline_env = {**os.environ, **local.server.environment}
        baselines = [run_child({"module": ""}, baseline_env) for _ in range(baseline_runs)]
    first: dict[str, dict[str, Any]] = {}
    for sample in samples:
        first.setdefault(sample["function"], sample)
    handlers = {
        name: {
            "event": sample["event"],
            "ok": sample.get("ok"),
            "peak_rss_mb": round(sample.get("peak_rss_mb", 0.0), 1),
            "rss_after_import_mb": round(sample.get("rss_after_import_mb", 0.0), 1),
            "import_ms": round(sample.get("import_s", 0.0) * 1000, 1),
            "first_invoke_ms": round(sample.get("invoke_s", 0.0) * 1000, 1),
            "cold_start_ms": round(
                (sample.get("import_s", 0.0) + sample.get("invoke_s", 0.0)) * 1000, 1
            ),
            "cold_cpu_ms": round(
                (sample.get("import_cpu_s", 0.0) + sample.get("invoke_cpu_s", 0.0)) * 1000, 1
            ),
            **({"error": sample["error"]} if "error" in sample else {}),
        }
        for name, sample in sorted(first.items())
    }
    invocations: dict[str, int] = {}
    for sample in samples:
        invocations[sample["function"]] = invocations.get(sample["function"], 0) + 1
    return {
        "method": (
            f"each invocation of a real chain (1 database, STORE_TO_SOURCE_S3={both_exports}) "
            "plus the reconcile "
            "and cleanup schedules runs in a fresh python process against the local AWS; "
            "ru_maxrss of that process; first invocation per handler reported"
        ),
        "boto3_baseline_rss_mb": round(median([b.get("peak_rss_mb", 0.0) for b in baselines]), 1),
        "handlers": handlers,
        "invocations": invocations,
    }
