"""NOTIFY_MODE=digest: one email per nightly run naming every database's outcome, failures
first, sent once every database of the run has an outcome, or by reconcile when
DIGEST_CUTOFF_HOURS have passed since the run began (databases still running are named so).

The run's ledger lives in IDEMPOTENCY_TABLE (the table that already makes each email go out
once), beside powertools' claims, under ids of its own:

- ``<stack>-digest#<run>``: ``expected`` (string set: the run's databases, lower case, added
  by start_backup before it snapshots anything), ``o_<db>`` (each database's outcome as JSON,
  set by notify or reconcile when the outcome is known), ``sent`` and ``r_<db>`` (what the
  digest said, once it went out), ``expiration`` (the table's TTL);
- ``<stack>-digest#open``: ``runs`` (string set of runs whose digest has not gone out), read
  by reconcile's hourly pass to send at the cut-off.

Recording an outcome is one UpdateItem that returns the whole item (strongly consistent), so
of two outcomes recorded at once, at least one invocation sees both and sends. The digest
itself is sent through the same idempotent ``send_once`` as every other email (key
``digest:<run>``): duplicates, concurrent invocations and replays send it exactly once.

An outcome arriving after its run's digest went out (a database still running at the cut-off,
a failure re-driven to success) is emailed on its own, once, as in per-database mode, when it
differs from what the digest said; the same outcome again is nothing new.
A run whose start did not record a ledger (started before NOTIFY_MODE=digest) is told per
database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import TypeAdapter

from rds_backup import clock
from rds_backup.aws import Aws
from rds_backup.errors import step_failed
from rds_backup.model.naming import run_time
from rds_backup.model.report import DatabaseOutcome, DigestReport, FailureReport, SuccessReport
from rds_backup.observability import count, logger
from rds_backup.settings import ConfigError, Settings

STEP = "digest"
KEEP_DAYS = 400  # as long as the email claims (mail.delivery.CLAIM_DAYS)
CAUSE_MAX = 4000  # characters of a cause kept in the ledger (the logs keep the whole text)
RUNNING = "still running"
Report = SuccessReport | FailureReport | DigestReport
Send = Callable[[str, Report], str]


@lru_cache(maxsize=1)
def _outcome_json() -> TypeAdapter[DatabaseOutcome]:
    """Built on first use: start_backup imports this module but never (de)serialises."""
    return TypeAdapter(DatabaseOutcome)


def enabled(settings: Settings) -> bool:
    return settings.notify_mode == "digest"


def open_run(settings: Settings, aws: Aws, run: str, databases: Iterable[str]) -> None:
    """start_backup, before snapshotting: the run's databases, so the digest knows whom it
    waits for (even one whose snapshot never gets made), and the run is open until sent."""
    names = sorted({database.lower() for database in databases})
    if not names:
        return
    table = _table(settings)
    dynamodb = aws.dynamodb(settings.source_region)
    try:
        dynamodb.update_item(
            TableName=table,
            Key={"id": {"S": _run_id(settings, run)}},
            UpdateExpression="ADD expected :dbs SET expiration = :exp",
            ExpressionAttributeValues={":dbs": {"SS": names}, ":exp": _expiration()},
        )
        dynamodb.update_item(
            TableName=table,
            Key={"id": {"S": _open_id(settings)}},
            UpdateExpression="ADD runs :run",
            ExpressionAttributeValues={":run": {"SS": [run]}},
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(STEP, error, region=settings.source_region) from error
    logger.info("digest run opened", run=run, databases=len(names))


def record(
    settings: Settings,
    aws: Aws,
    key: str,
    report: SuccessReport | FailureReport,
    send: Send,
) -> str:
    """Record one database's outcome in its run's ledger; send the digest when it completes
    the run. ``key`` and ``send`` tell the outcome on its own when the digest cannot
    (no ledger for the run, or the digest already went out with another outcome)."""
    run, database = report.run, report.database
    if not run or not database:
        return send(key, report)
    outcome = outcome_of(report)
    item = _update(
        settings,
        aws,
        run,
        "SET #o = :outcome, expiration = :exp",
        {"#o": f"o_{database.lower()}"},
        {":outcome": {"S": _outcome_json().dump_json(outcome).decode()}, ":exp": _expiration()},
    )
    if "expected" not in item:
        logger.info("no digest ledger for this run; told on its own", run=run)
        return send(key, report)
    if "sent" in item:
        said = item.get(f"r_{database.lower()}", {}).get("S")
        if said == outcome.outcome:
            logger.info("outcome already in the run's digest", run=run, outcome=said)
            return "in-digest"
        logger.info("outcome after the run's digest; told on its own", run=run, digest=said)
        return send(key, report)
    if not set(item["expected"]["SS"]) <= _recorded(item):
        logger.info("outcome recorded for the run's digest", run=run, outcome=outcome.outcome)
        return "recorded"
    return send_digest(settings, aws, run, item, send, cut_off=False)


def send_digest(
    settings: Settings,
    aws: Aws,
    run: str,
    item: Mapping[str, Any],
    send: Send,
    *,
    cut_off: bool,
) -> str:
    """Send the run's digest (once), then mark what it said and close the run."""
    outcomes = _outcomes(item)
    for database in item.get("expected", {}).get("SS", []):
        if database not in outcomes:
            outcomes[database] = DatabaseOutcome(database, RUNNING)
    report = DigestReport(
        stack=settings.stack_name,
        run=run,
        source_region=settings.source_region,
        target_region=settings.target_region,
        outcomes=tuple(outcomes.values()),
        cut_off=cut_off,
        cutoff_hours=settings.digest_cutoff_hours,
    )
    result = send(f"digest:{run}", report)
    said = {f"r_{db}": o.outcome for db, o in outcomes.items() if o.outcome != RUNNING}
    names = {f"#r{i}": name for i, name in enumerate(said)}
    values = {f":r{i}": {"S": value} for i, value in enumerate(said.values())}
    sets = ", ".join(f"#r{i} = :r{i}" for i in range(len(said)))
    _update(
        settings,
        aws,
        run,
        "SET sent = :now" + (f", {sets}" if sets else ""),
        names,
        {":now": {"S": clock.now().isoformat()}, **values},
    )
    _close(settings, aws, run)
    if result == "sent":
        count("DigestSent")
    return result


def cut_off(settings: Settings, aws: Aws, now: datetime, send: Send) -> dict[str, str]:
    """reconcile's pass: send the digest of every open run whose databases all have an
    outcome, or that began DIGEST_CUTOFF_HOURS ago. Returns run → what happened."""
    if not enabled(settings):
        return {}
    dynamodb = aws.dynamodb(settings.source_region)
    try:
        found = dynamodb.get_item(
            TableName=_table(settings), Key={"id": {"S": _open_id(settings)}}, ConsistentRead=True
        ).get("Item", {})
    except (ClientError, BotoCoreError) as error:
        raise step_failed(STEP, error, region=settings.source_region) from error
    done: dict[str, str] = {}
    limit = timedelta(hours=settings.digest_cutoff_hours)
    for run in sorted(found.get("runs", {}).get("SS", [])):
        item = _get(settings, aws, run)
        late = now - run_time(run) >= limit
        complete = set(item.get("expected", {}).get("SS", [])) <= _recorded(item)
        if "sent" in item:
            _close(settings, aws, run)
            done[run] = "already-sent"
        elif late or complete:
            done[run] = send_digest(settings, aws, run, item, send, cut_off=not complete)
    return done


def outcome_of(report: SuccessReport | FailureReport) -> DatabaseOutcome:
    """A database's line in the digest (the cause bounded; the logs keep the whole text)."""
    if isinstance(report, SuccessReport):
        return DatabaseOutcome(report.database, report.outcome, report.kind, success=report)
    cause = report.cause
    if len(cause) > CAUSE_MAX:
        cause = cause[:CAUSE_MAX] + "\n… (truncated; the function's logs have the full text)"
    failure = replace(report, cause=cause)
    return DatabaseOutcome(report.database or "-", "failed", report.kind, failure=failure)


def _recorded(item: Mapping[str, Any]) -> set[str]:
    return {name[2:] for name in item if name.startswith("o_")}


def _outcomes(item: Mapping[str, Any]) -> dict[str, DatabaseOutcome]:
    return {
        name[2:]: _outcome_json().validate_json(value["S"])
        for name, value in sorted(item.items())
        if name.startswith("o_")
    }


def _update(
    settings: Settings,
    aws: Aws,
    run: str,
    expression: str,
    names: Mapping[str, str],
    values: Mapping[str, Any],
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": _table(settings),
        "Key": {"id": {"S": _run_id(settings, run)}},
        "UpdateExpression": expression,
        "ExpressionAttributeValues": dict(values),
        "ReturnValues": "ALL_NEW",
    }
    if names:
        request["ExpressionAttributeNames"] = dict(names)
    try:
        attributes: dict[str, Any] = (
            aws.dynamodb(settings.source_region).update_item(**request).get("Attributes", {})
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(STEP, error, region=settings.source_region) from error
    return attributes


def _get(settings: Settings, aws: Aws, run: str) -> dict[str, Any]:
    try:
        item: dict[str, Any] = (
            aws.dynamodb(settings.source_region)
            .get_item(
                TableName=_table(settings),
                Key={"id": {"S": _run_id(settings, run)}},
                ConsistentRead=True,
            )
            .get("Item", {})
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(STEP, error, region=settings.source_region) from error
    return item


def _close(settings: Settings, aws: Aws, run: str) -> None:
    try:
        aws.dynamodb(settings.source_region).update_item(
            TableName=_table(settings),
            Key={"id": {"S": _open_id(settings)}},
            UpdateExpression="DELETE runs :run",
            ExpressionAttributeValues={":run": {"SS": [run]}},
        )
    except (ClientError, BotoCoreError) as error:
        raise step_failed(STEP, error, region=settings.source_region) from error


def _table(settings: Settings) -> str:
    if not settings.idempotency_table:
        raise ConfigError(["IDEMPOTENCY_TABLE: required with NOTIFY_MODE=digest (the run ledger)"])
    return settings.idempotency_table


def _run_id(settings: Settings, run: str) -> str:
    return f"{settings.stack_name}-digest#{run}"


def _open_id(settings: Settings) -> str:
    return f"{settings.stack_name}-digest#open"


def _expiration() -> dict[str, str]:
    return {"N": str(int((clock.now() + timedelta(days=KEEP_DAYS)).timestamp()))}
