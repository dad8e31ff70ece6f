"""``rds-backup bench``: what a Lambda user pays for, measured (never timed tests).

| module          | figure                                                                 |
|-----------------|------------------------------------------------------------------------|
| `imports`       | cold import time of each handler vs ``import boto3`` (fresh interpreters) |
| `memory`        | peak RSS (and cold start) of one invocation per handler, own process      |
| `inprocess`     | in-process moto seeded straight into its backends (scale figures)          |
| `child`         | the child process `memory` runs (stdlib only before the handler import)   |
| `chain`         | AWS API calls per database per chain, polling calls, handler CPU          |
| `cleanup_scale` | cleanup over 10,000 + 1,000 snapshots: calls, our time per snapshot       |
| `start_scale`   | start_backup for 200 databases: calls, our time                           |
| `cost`          | Lambda + EventBridge cost per backup run, next to the old single Lambda   |
| `fleet`         | ``--fleet``: nights of 5-100 databases under AWS's limits, virtual clock  |
| `drills`        | ``--drills``: a week of restore drills of 100 databases, real PostgreSQL  |
| `export_order`  | export order rules replayed offline on the fleet's sampled durations      |
| `report`        | targets (value, target, pass), the JSON and the readable summary          |

See docs/BENCHMARK.md. Never shipped to Lambda (``rds_backup/local/**`` is excluded).
"""

from rds_backup.local.bench.report import BenchOptions, dumps, render, run_bench

__all__ = ["BenchOptions", "dumps", "render", "run_bench"]
