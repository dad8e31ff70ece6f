"""One Logger and one Metrics for every handler: structured keys, one metric per state change."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "rds-backup"
NAMESPACE = "RdsBackup"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count(name: str, value: int = 1) -> None:
    """Record one state change (SnapshotStarted, CopyStarted, ExportStarted, EmailSent, …)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
