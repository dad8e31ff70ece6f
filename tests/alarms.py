"""CloudWatch alarm evaluation, as AWS documents it, over metric data a test collected from
the handlers' EMF records (moto has no alarm evaluation of its own for EMF-published data).

CloudWatch User Guide, "Using Amazon CloudWatch alarms" > "Evaluating an alarm": each minute
the alarm looks at the last ``EvaluationPeriods`` periods of ``Period`` seconds, applies
``Statistic`` to the data points of each, and goes to ALARM when at least
``DatapointsToAlarm`` of them breach (``ComparisonOperator`` against ``Threshold``);
"Configuring how CloudWatch alarms treat missing data": with ``TreatMissingData: breaching``
a period without data counts as breaching, with ``notBreaching`` as good.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATISTICS = {"Sum": sum, "Maximum": max, "Minimum": min, "SampleCount": len}
COMPARE = {
    "GreaterThanThreshold": lambda value, limit: value > limit,
    "GreaterThanOrEqualToThreshold": lambda value, limit: value >= limit,
    "LessThanThreshold": lambda value, limit: value < limit,
    "LessThanOrEqualToThreshold": lambda value, limit: value <= limit,
}


def generated(
    function: str, config: dict[str, Any], stack: str = "rds-backup-dev"
) -> dict[str, Any]:
    """The alarms ``infra/alarms.js`` makes for the template (the same generator packaging
    runs), by logical id."""
    made = f"a.{function}({json.dumps(config)}, {json.dumps(stack)})"
    script = (
        f"const a = require({json.dumps(str(ROOT / 'infra' / 'alarms.js'))});"
        f"process.stdout.write(JSON.stringify({made}))"
    )
    answer = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    resources: dict[str, Any] = json.loads(answer.stdout)["Resources"]
    return {name: body["Properties"] for name, body in resources.items()}


def in_alarm(alarm: dict[str, Any], points: Iterable[tuple[datetime, float]], at: datetime) -> bool:
    """Is ``alarm`` in ALARM at ``at``, given the metric's data points (time, value)?"""
    period = timedelta(seconds=int(alarm["Period"]))
    statistic = STATISTICS[alarm["Statistic"]]
    compare = COMPARE[alarm["ComparisonOperator"]]
    missing_breaches = alarm.get("TreatMissingData", "missing") == "breaching"
    data = list(points)
    breaching = 0
    for n in range(int(alarm["EvaluationPeriods"])):
        end = at - n * period
        values = [value for when, value in data if end - period <= when < end]
        if not values:
            breaching += missing_breaches
        elif compare(statistic(values), float(alarm["Threshold"])):
            breaching += 1
    return breaching >= int(alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"]))


def emf_values(output: str, metric: str) -> list[float]:
    """The values of ``metric`` in the EMF records (one JSON document per line) of ``output``."""
    values = []
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        record = json.loads(line)
        names = [m["Name"] for d in record["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
        if metric in names:
            raw = record[metric]
            values.extend(float(v) for v in (raw if isinstance(raw, list) else [raw]))
    return values
