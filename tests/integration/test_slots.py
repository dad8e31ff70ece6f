"""The slots on moto with AWS's limits (rds_backup/local/limits.py): at most 5 exports per
account, 20 copies in flight per destination region, 100 manual snapshots per region.
Copies and exports start from a queue derived from AWS state, oldest run first; a step
refused for a limit waits; the manual snapshot quota is reported once per run and region."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.rds.models import RDSBackend

from events import load_sample
from handlers import copy_snapshot, export_snapshot, notify, reconcile, start_backup
from rds_backup.limits import RETRY_EXPORT, fill_exports, full_view
from rds_backup.local import limits as local_limits
from rds_backup.local.seed import WorldSpec
from rds_backup.model import capacity, tags
from rds_backup.settings import load_settings
from tests.integration.chain import CONTEXT
from tests.support import (
    ACCOUNT,
    CallRecorder,
    atomic_moto,
    backend,
    fail_export,
    rds_event,
    sent_emails,
    set_snapshot_status,
)

SRC, TGT = "us-east-1", "us-west-2"
OLD_RUN, NEW_RUN = "20261124-0300", "20261125-0300"
TWELVE = ("orders", *(f"db{i:02d}" for i in range(1, 12)))


def scheduled(at: str = "2026-11-25T03:00:00Z") -> dict[str, Any]:
    return load_sample("scheduled") | {"time": at}


def snapshot_of(database: str, run: str = NEW_RUN) -> str:
    return f"rds-backup-{database}-{run}"


def export_of(snapshot: str, attempt: int = 1) -> str:
    suffix = "" if attempt == 1 else f"-a{attempt}"
    return f"{snapshot}-{TGT}{suffix}"


def label(kind: str, region: str, snapshot: str) -> str:
    return f"{kind} {region}/{snapshot}"


def run_of(step_label: str) -> str:
    return step_label.rsplit("-", 2)[-2] + "-" + step_label.rsplit("-", 1)[-1]


def identifier_of(step_label: str) -> str:
    return step_label.split("/", 1)[1]


def in_flight() -> int:
    return local_limits.exports_in_progress(ACCOUNT)


def end_export(snapshot: str, attempt: int = 1) -> None:
    backend(TGT).export_tasks[export_of(snapshot, attempt)].status = "complete"


def export_ids(aws) -> list[str]:
    tasks = aws.rds(TGT).describe_export_tasks()["ExportTasks"]
    return sorted(t["ExportTaskIdentifier"] for t in tasks)


def copy_all(count: int = 1, snapshot: str | None = None) -> list[str]:
    """0042 events (each fills up to 20 copy slots); the labels of the copies started."""
    created = rds_event("RDS-EVENT-0042", SRC, snapshot or snapshot_of("orders"))
    started: list[str] = []
    for _ in range(count):
        result = copy_snapshot.handler(created, CONTEXT)
        started += result["copies"]["started"]
    return started


def quota_events(recorder: CallRecorder) -> list[dict[str, Any]]:
    return [
        json.loads(entry["Detail"])
        for _, params in recorder.of("PutEvents")
        for entry in params["Entries"]
        if entry["DetailType"] == "Snapshot Quota Reached"
    ]


def _held(kind: str, status: str) -> Iterator[None]:
    """While the fixture lasts, a new resource of ``kind`` stays ``status`` (in progress)."""

    def hold(created: str, _backend: Any, resource: Any) -> None:
        if created == kind:
            resource.status = status

    local_limits.observe(hold)
    yield
    local_limits.unobserve(hold)


@pytest.fixture
def exports_take_time() -> Iterator[None]:
    """As in AWS, an export stays in progress until it ends (the test ends it); moto
    otherwise completes it at once, and the limit of 5 would never bind."""
    yield from _held("export", "in_progress")


@pytest.fixture
def copies_take_time() -> Iterator[None]:
    yield from _held("copy", "creating")


@pytest.fixture
def put_events(aws, settings) -> CallRecorder:
    return CallRecorder().attach(aws, "events", settings.source_region)


# --- 1. five exports per account, oldest run first -------------------------------------------


@pytest.mark.parametrize("spec", [WorldSpec(databases=TWELVE)])
def test_given_two_runs_of_12_databases_when_filled_then_5_exports_oldest_run_first(
    settings, aws, spec, exports_take_time
):
    start_backup.handler(scheduled("2026-11-24T03:00:00Z"), CONTEXT)
    start_backup.handler(scheduled("2026-11-25T03:00:00Z"), CONTEXT)
    assert len(copy_all(2)) == 24  # 20 copy slots, then the other 4
    # Someone else's export in the *source* region holds one of the account's 5 slots.
    source = backend(SRC).database_snapshots[snapshot_of("orders")]
    aws.rds(SRC).start_export_task(
        ExportTaskIdentifier="someone-elses-export",
        SourceArn=source.arn,
        S3BucketName=settings.source_bucket,
        IamRoleArn=settings.export_role_arn,
        KmsKeyId=settings.keys.source,
    )

    first = export_snapshot.handler(
        rds_event("RDS-EVENT-0060", TGT, snapshot_of("orders")), CONTEXT
    )

    # Given one slot in use elsewhere: 4 start, all of the older run; 20 wait.
    assert first["exports"]["free"] == 4
    assert len(first["exports"]["started"]) == 4
    assert {run_of(s) for s in first["exports"]["started"]} == {OLD_RUN}
    assert first["exports"]["waiting"] == 20
    assert in_flight() == 5
    # The queue lists the rest of the older run before any of the newer one.
    queued = fill_exports(settings, aws, "export", full_view(settings, aws, "export"))
    assert queued.started == []
    assert queued.free_before == 0
    assert [run_of(w) for w in queued.waiting] == [OLD_RUN] * 8 + [NEW_RUN] * 12
    assert len(set(queued.waiting) | set(first["exports"]["started"])) == 24

    done = identifier_of(first["exports"]["started"][0])
    end_export(done)
    ended = rds_event("RDS-EVENT-0161", TGT, done)
    after = export_snapshot.handler(ended, CONTEXT)
    duplicate = export_snapshot.handler(ended, CONTEXT)

    assert after["exports"]["started"] == [queued.waiting[0]]
    assert after["exports"]["waiting"] == 19
    assert duplicate["exports"]["started"] == []
    assert duplicate["exports"]["free"] == 0
    assert in_flight() == 5
    assert len(export_ids(aws)) == 5


# --- 2. two fillers racing --------------------------------------------------------------------


@pytest.mark.parametrize("spec", [WorldSpec(databases=TWELVE)])
@pytest.mark.parametrize("attempt", range(3))
def test_given_two_fillers_at_once_when_racing_then_no_export_twice_and_never_over_5(
    settings, aws, spec, exports_take_time, monkeypatch, attempt
):
    atomic_moto(monkeypatch, RDSBackend, "start_export_task")
    start_backup.handler(scheduled(), CONTEXT)
    copy_all()
    peak = [0]
    original = RDSBackend.start_export_task

    def watched(self: Any, *args: Any, **kwargs: Any) -> Any:
        task = original(self, *args, **kwargs)
        peak[0] = max(peak[0], in_flight())
        return task

    monkeypatch.setattr(RDSBackend, "start_export_task", watched)
    events = [
        rds_event("RDS-EVENT-0060", TGT, snapshot_of("orders")),
        rds_event("RDS-EVENT-0060", TGT, snapshot_of("db01")),
    ]
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def deliver(event: dict[str, Any]) -> None:
        barrier.wait()
        try:
            results.append(export_snapshot.handler(event, CONTEXT))
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            results.append(error)

    threads = [threading.Thread(target=deliver, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(isinstance(r, dict) for r in results), results
    started = [s for r in results for s in r["exports"]["started"]]
    assert len(started) == len(set(started))  # never the same export twice
    assert len(started) == 5
    assert len(export_ids(aws)) == 5
    assert peak[0] <= 5
    assert in_flight() == 5


# --- 3. twenty copies per destination region ---------------------------------------------------


def test_given_the_copy_limit_reached_when_a_copy_ends_then_the_waiting_copy_starts(
    settings, aws, copies_take_time, put_events
):
    local_limits.set_quota(TGT, copies=1)
    start_backup.handler(scheduled(), CONTEXT)

    result = copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), CONTEXT)

    [first] = result["copies"]["started"]
    assert result["copies"]["refused"] == 1
    assert result["copies"]["waiting"] == 1
    assert "quota" not in result["copies"]
    assert quota_events(put_events) == []
    [second] = {label("copy", SRC, snapshot_of(db)) for db in ("orders", "billing")} - {first}

    set_snapshot_status(TGT, identifier_of(first), "available")
    ended = copy_snapshot.handler(rds_event("RDS-EVENT-0060", TGT, identifier_of(first)), CONTEXT)

    assert ended == {"copies": {"free": 20, "started": [second], "waiting": 0}}
    found = aws.rds(TGT).describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert sorted(s["DBSnapshotIdentifier"] for s in found) == sorted(
        identifier_of(s) for s in (first, second)
    )


# --- 4. the manual snapshot quota --------------------------------------------------------------


@pytest.mark.parametrize("spec", [WorldSpec(databases=("orders", "billing", "ledger", "search"))])
def test_given_the_target_quota_fits_two_when_started_then_two_snapshots_and_one_event(
    settings, aws, spec, put_events
):
    local_limits.set_quota(TGT, manual_snapshots=2)

    result = start_backup.handler(scheduled(), CONTEXT)

    [event] = quota_events(put_events)
    assert len(put_events.of("PutEvents")) == 1
    assert event["region"] == TGT
    assert (event["used"], event["max"], event["needed"]) == (0, 2, 4)
    assert event["run"] == NEW_RUN
    assert event["step"] == "snapshot"
    assert len(event["databases"]) == 2
    assert result["over_quota"] == event["databases"]
    made = aws.rds(SRC).describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    made_ids = sorted(s["DBSnapshotIdentifier"] for s in made)
    assert made_ids == sorted(result["created"])
    fits = {"orders", "billing", "ledger", "search"} - set(event["databases"])
    assert made_ids == sorted(snapshot_of(db) for db in fits)


def test_given_a_copy_refused_for_the_manual_snapshot_quota_when_filled_then_the_event_is_put(
    settings, aws, put_events
):
    start_backup.handler(scheduled(), CONTEXT)
    local_limits.set_quota(TGT, manual_snapshots=1)

    result = copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), CONTEXT)

    [copied] = result["copies"]["started"]
    assert result["copies"]["refused"] == 1
    [event] = quota_events(put_events)
    assert result["copies"]["quota"] == event
    assert (event["region"], event["used"], event["max"]) == (TGT, 1, 1)
    assert event["step"] == "copy"
    assert event["run"] == NEW_RUN
    [refused_db] = {"orders", "billing"} - {tags_db(copied)}
    assert event["databases"] == [refused_db]


def tags_db(step_label: str) -> str:
    return identifier_of(step_label).split("-")[2]


def test_given_a_copy_refused_for_the_copy_limit_when_filled_then_it_waits_silently(
    settings, aws, put_events, monkeypatch
):
    start_backup.handler(scheduled(), CONTEXT)
    rds = CallRecorder().attach(aws, "rds", TGT)

    def refuse(**_: Any) -> Any:
        raise ClientError(
            {
                "Error": {
                    "Code": "SnapshotQuotaExceeded",
                    "Message": "Cannot copy more than 20 snapshots across regions",
                }
            },
            "CopyDBSnapshot",
        )

    monkeypatch.setattr(aws.rds(TGT), "copy_db_snapshot", refuse)

    result = copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), CONTEXT)

    assert result == {"copies": {"free": 20, "started": [], "waiting": 2, "refused": 1}}
    assert put_events.of("PutEvents") == []
    assert rds.of("DescribeAccountAttributes") == []
    assert sent_emails() == []


# --- 5. notify on Snapshot Quota Reached ----------------------------------------------------


def test_given_a_quota_event_delivered_three_times_when_notified_then_one_email(settings, aws):
    event = load_sample("snapshot-quota-reached")

    results = [notify.handler(event, CONTEXT) for _ in range(3)]

    assert results[0] == {"email": "sent"}
    assert all(r["email"] != "sent" for r in results[1:])
    [email] = sent_emails()
    text = email.subject + email.body
    for name in ("billing", "ledger", "search"):
        assert name in text
    for number in ("96", "100", "7", "us-west-2", "20261125-0300"):
        assert number in text


# --- 6. EXPORT_EVERY_DAYS -------------------------------------------------------------------


def exports_tag(aws, snapshot: str) -> str:
    found = aws.rds(SRC).describe_db_snapshots(DBSnapshotIdentifier=snapshot)["DBSnapshots"]
    listed = aws.rds(SRC).list_tags_for_resource(ResourceName=found[0]["DBSnapshotArn"])
    return tags.as_dict(listed["TagList"])[tags.EXPORTS]


def test_given_export_every_2_days_when_not_due_then_no_export_and_a_success_email(
    settings, aws, monkeypatch
):
    monkeypatch.setenv("EXPORT_EVERY_DAYS", "2")
    load_settings.cache_clear()
    current = load_settings()
    night = date(2026, 11, 25)
    [resting] = [db for db in ("orders", "billing") if not capacity.export_due(current, db, night)]
    [due] = {"orders", "billing"} - {resting}

    start_backup.handler(scheduled(), CONTEXT)
    copy_all()
    assert exports_tag(aws, snapshot_of(resting)) == ""
    assert exports_tag(aws, snapshot_of(due)) == "target"

    exported = export_snapshot.handler(
        rds_event("RDS-EVENT-0060", TGT, snapshot_of(resting)), CONTEXT
    )
    told = notify.handler(rds_event("RDS-EVENT-0060", TGT, snapshot_of(resting)), CONTEXT)

    assert exported["exports"]["started"] == [label("export", TGT, snapshot_of(due))]
    assert export_ids(aws) == [export_of(snapshot_of(due))]
    assert told["email"] == "sent"
    [email] = sent_emails()
    assert resting in email.subject + email.body
    assert "FAILED" not in email.subject

    # The next night the resting database is due: its export happens.
    start_backup.handler(scheduled("2026-11-26T03:00:00Z"), CONTEXT)
    tomorrow = snapshot_of(resting, "20261126-0300")
    assert exports_tag(aws, tomorrow) == "target"
    assert label("copy", SRC, tomorrow) in copy_all(snapshot=tomorrow)
    result = export_snapshot.handler(rds_event("RDS-EVENT-0060", TGT, tomorrow), CONTEXT)
    assert label("export", TGT, tomorrow) in result["exports"]["started"]
    assert export_of(tomorrow) in export_ids(aws)


# --- 7. a re-drive while every slot is busy -------------------------------------------------


SIX = ("orders", "billing", "ledger", "search", "stock", "users")


@pytest.mark.parametrize("spec", [WorldSpec(databases=SIX)])
def test_given_all_slots_busy_when_a_failed_export_is_replayed_then_it_waits_tagged_and_starts(
    settings, aws, spec, exports_take_time
):
    start_backup.handler(scheduled(), CONTEXT)
    copy_all()
    first = export_snapshot.handler(
        rds_event("RDS-EVENT-0060", TGT, snapshot_of("orders")), CONTEXT
    )
    assert first["exports"]["waiting"] == 1
    failed = identifier_of(first["exports"]["started"][0])
    fail_export(TGT, export_of(failed), "S3 bucket access denied")
    refill = export_snapshot.handler(rds_event("RDS-EVENT-0159", TGT, failed), CONTEXT)
    assert len(refill["exports"]["started"]) == 1
    assert in_flight() == 5

    replayed = rds_event("RDS-EVENT-0060", TGT, failed, **{"replay-name": "after-fix"})
    waiting = export_snapshot.handler(replayed, CONTEXT)

    assert waiting["exports"]["started"] == []
    assert waiting["exports"]["free"] == 0
    assert waiting["exports"]["waiting"] == 1
    copy_tags = aws.rds(TGT).list_tags_for_resource(
        ResourceName=backend(TGT).database_snapshots[failed].arn
    )["TagList"]
    assert tags.as_dict(copy_tags)[RETRY_EXPORT] == export_of(failed)
    assert export_of(failed, 2) not in export_ids(aws)

    other = identifier_of(first["exports"]["started"][1])
    end_export(other)
    freed = export_snapshot.handler(rds_event("RDS-EVENT-0161", TGT, other), CONTEXT)

    assert freed["exports"]["started"] == [label("export", TGT, failed)]
    assert export_of(failed, 2) in export_ids(aws)
    assert in_flight() == 5


# --- 8. reconcile: waiting is not stuck; running is stuck only past EXPORT_DEADLINE_HOURS ------


def hourly(at: str) -> dict[str, Any]:
    return load_sample("scheduled") | {"time": at}


def stuck(result: dict[str, Any]) -> list[dict[str, str]]:
    return [a for a in result["actions"] if a["action"] == "reported stuck"]


def failure_emails() -> list[Any]:
    return [m for m in sent_emails() if "FAILED" in m.subject]


@pytest.mark.parametrize("spec", [WorldSpec(databases=SIX)])
def test_given_a_waiting_export_past_the_step_deadline_when_reconciled_then_not_stuck(
    settings, aws, spec, exports_take_time
):
    start_backup.handler(scheduled(), CONTEXT)
    copy_all()

    first = reconcile.handler(hourly("2026-11-25T04:00:00Z"), CONTEXT)
    started = [a["snapshot"] for a in first["actions"] if a["action"] == "started from the queue"]
    assert len(started) == 5
    assert {"snapshot": "export", "action": "waiting for a slot", "waiting": "1"} in first[
        "actions"
    ]

    # 17 h after the run, past STEP_DEADLINE_HOURS (12): the waiting export is not stuck.
    late = reconcile.handler(hourly("2026-11-25T20:00:00Z"), CONTEXT)
    assert stuck(late) == []
    assert failure_emails() == []
    assert {"snapshot": "export", "action": "waiting for a slot", "waiting": "1"} in late["actions"]

    end_export(identifier_of(started[0]))
    freed = reconcile.handler(hourly("2026-11-25T21:00:00Z"), CONTEXT)
    [waited] = {label("export", TGT, snapshot_of(db)) for db in SIX} - set(started)
    assert {"snapshot": waited, "action": "started from the queue", "free": "1"} in freed["actions"]
    assert stuck(freed) == []
    assert len(export_ids(aws)) == 6


@pytest.mark.parametrize("spec", [WorldSpec(databases=("orders",))])
def test_given_a_running_export_when_reconciled_then_stuck_only_past_the_export_deadline_once(
    settings, aws, spec, exports_take_time
):
    start_backup.handler(scheduled(), CONTEXT)
    copy_all()
    export_snapshot.handler(rds_event("RDS-EVENT-0060", TGT, snapshot_of("orders")), CONTEXT)

    # moto gives no TaskStartTime: the deadline counts from the run (2026-11-25 03:00).
    within = [
        reconcile.handler(hourly(at), CONTEXT)
        for at in ("2026-11-25T16:00:00Z", "2026-11-26T12:00:00Z", "2026-11-27T02:30:00Z")
    ]
    past = reconcile.handler(hourly("2026-11-27T03:30:00Z"), CONTEXT)
    again = reconcile.handler(hourly("2026-11-27T04:30:00Z"), CONTEXT)

    assert [stuck(r) for r in within] == [[], [], []]
    assert stuck(past) == [
        {
            "snapshot": snapshot_of("orders"),
            "action": "reported stuck",
            "step": "export",
            "email": "sent",
        }
    ]
    assert all(a["email"] != "sent" for a in stuck(again))
    [email] = sent_emails()
    assert "export" in email.subject
    assert "EXPORT_DEADLINE_HOURS=48" in email.body
