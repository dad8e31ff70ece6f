"""One Lambda container's first invocation, in its own process (run by ``memory``).

    python child.py <spec.json> <result.json>

The spec names the handler (``module``, ``attribute``), the event and the Lambda context
fields; the environment is the function's. Only the standard library is imported before
the handler, so the peak RSS is the handler's. With an empty ``module`` it imports boto3
only (the baseline). Writes import/invoke wall and CPU seconds and the peak RSS (MB).
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
from typing import Any


class Context:
    """What powertools' ``inject_lambda_context`` reads."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.function_name = fields.get("function_name", "local")
        self.memory_limit_in_mb = int(fields.get("memory_limit_in_mb", 256))
        self.invoked_function_arn = fields.get("invoked_function_arn", "")
        self.aws_request_id = fields.get("aws_request_id", "bench")
        self.function_version = "$LATEST"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def peak_mb() -> float:
    """This process's peak resident set, MB.

    ``ru_maxrss`` survives ``execve`` on Linux: a child forked from the (large) bench
    process starts with the parent's high-water mark. ``VmHWM`` in /proc/self/status is
    the same figure for this process's own address space, so it is preferred.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def main(spec_path: str, result_path: str) -> int:
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    wall, cpu = time.perf_counter(), time.process_time()
    result: dict[str, Any] = {"ok": True}
    if not spec.get("module"):
        importlib.import_module("boto3")
        result.update(import_s=time.perf_counter() - wall, peak_rss_mb=peak_mb())
    else:
        handler = getattr(importlib.import_module(spec["module"]), spec["attribute"])
        result.update(
            import_s=time.perf_counter() - wall,
            import_cpu_s=time.process_time() - cpu,
            rss_after_import_mb=peak_mb(),
        )
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            handler(spec["event"], Context(spec.get("context", {})))
        except Exception as error:  # noqa: BLE001 - reported, like Lambda would
            result.update(ok=False, error=f"{type(error).__name__}: {error}")
        result.update(
            invoke_s=time.perf_counter() - wall,
            invoke_cpu_s=time.process_time() - cpu,
            peak_rss_mb=peak_mb(),
        )
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
