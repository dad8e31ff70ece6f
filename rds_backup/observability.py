"""One Logger and one Metrics for every handler: structured keys, one metric per state change."""

from __future__ import annotations

import logging
import sys

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "rds-backup"
NAMESPACE = "RdsBackup"
BACKUP_SUCCEEDED = "BackupSucceeded"
DRILL_SUCCEEDED = "DrillSucceeded"
DAYS_SINCE_DRILL = "DaysSinceSuccessfulDrill"
WITHOUT_RECENT_DRILL = "DatabasesWithoutRecentDrill"
FLEET_BACKUP_SUCCEEDED = "FleetBackupSucceeded"
WITHOUT_RECENT_BACKUP = "DatabasesWithoutRecentBackup"
SELECTED_DATABASES = "SelectedDatabases"
LEFT_SELECTION = "DatabasesLeftSelection"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count(name: str, value: int = 1) -> None:
    """Record one state change (SnapshotStarted, CopyStarted, ExportStarted, EmailSent, …)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def backup_succeeded(database: str) -> None:
    """The dead-man's switch's heartbeat: a run of ``database`` succeeded (its copy is
    available and its exports complete). Published at once as its own EMF record with the
    dimensions service and database (lower case, as RDS stores identifiers): the alarm per
    database (infra/alarms.js) fires after BACKUP_ALARM_HOURS without one. The fleet's
    heartbeat (``FleetBackupSucceeded``, dimension service only) goes with it: its alarm
    fires when no database at all succeeded, however databases are selected."""
    _heartbeat(BACKUP_SUCCEEDED, database)
    _gauge(FLEET_BACKUP_SUCCEEDED, 1)


def backup_coverage(selected: int, without_recent: int, left: int) -> None:
    """reconcile, hourly: how many databases are selected now (named or tagged), how many of
    them have no available copy taken within BACKUP_ALARM_HOURS (the coverage alarm fires
    above 0, or when reconcile stops reporting: infra/alarms.js), and how many databases
    with backups of this stack are no longer selected."""
    _gauge(SELECTED_DATABASES, selected)
    _gauge(WITHOUT_RECENT_BACKUP, without_recent)
    _gauge(LEFT_SELECTION, left)


def _gauge(name: str, value: float) -> None:
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ):
        pass


def drill_succeeded(database: str) -> None:
    """A restore drill of ``database`` passed: the "last successful drill" heartbeat; its
    alarm per database fires after twice DRILL_EVERY_DAYS without one (infra/alarms.js)."""
    _heartbeat(DRILL_SUCCEEDED, database)


def drill_age(database: str, days: float) -> None:
    """How many days ago ``database`` last passed a drill (start_drill, daily): its alarm
    fires past twice DRILL_EVERY_DAYS, or when start_drill stops reporting (infra/alarms.js)."""
    with single_metric(
        name=DAYS_SINCE_DRILL,
        unit=MetricUnit.Count,
        value=days,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension("database", database.lower())


def drills_overdue(count: int) -> None:
    """How many selected databases (named or tagged) have no passed drill within twice
    DRILL_EVERY_DAYS: one alarm for the whole fleet."""
    with single_metric(
        name=WITHOUT_RECENT_DRILL,
        unit=MetricUnit.Count,
        value=count,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ):
        pass


def _heartbeat(name: str, database: str) -> None:
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension("database", database.lower())


def log_to_stderr() -> None:
    """The console script's logs go to stderr, so stdout holds only what was asked for (a
    table, or one JSON document with ``--json``); in Lambda they stay on stdout."""
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(_Stderr())


class _Stderr:
    """Whatever ``sys.stderr`` is at each write (a test's capture, a redirected shell)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
