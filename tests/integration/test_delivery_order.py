"""Delivery faults in-process: the same event from two threads at once, and events out of
order. EventBridge delivers at least once and in no guaranteed order; RDS too."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from moto.rds.models import RDSBackend

from events import load_sample
from handlers import copy_snapshot, export_snapshot, notify, start_backup
from tests.integration.chain import CONTEXT, snapshot_and_copy
from tests.support import SAMPLE_SNAPSHOT, atomic_moto, rds_event, sent_emails

BILLING_SNAPSHOT = SAMPLE_SNAPSHOT.replace("orders", "billing")


@pytest.fixture(autouse=True)
def atomic_identifiers(monkeypatch: pytest.MonkeyPatch) -> None:
    atomic_moto(
        monkeypatch, RDSBackend, "create_db_snapshot", "copy_db_snapshot", "start_export_task"
    )


def at_once(handler: Callable[..., Any], event: dict[str, Any], times: int = 2) -> list[Any]:
    """Deliver ``event`` to ``handler`` from ``times`` threads released together."""
    barrier = threading.Barrier(times)
    results: list[Any] = []

    def deliver() -> None:
        barrier.wait()
        try:
            results.append(handler(event, CONTEXT))
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            results.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_given_the_schedule_twice_at_once_when_handled_then_one_snapshot_per_database(
    settings, aws
):
    results = at_once(start_backup.handler, load_sample("scheduled"))

    found = aws.rds(settings.source_region).describe_db_snapshots(SnapshotType="manual")
    assert len(found["DBSnapshots"]) == 2
    assert all(isinstance(r, dict) for r in results)


def test_given_the_created_event_twice_at_once_when_handled_then_one_copy(settings, aws):
    start_backup.handler(load_sample("scheduled"), CONTEXT)

    results = at_once(copy_snapshot.handler, load_sample("rds-0042-snapshot-created"))

    assert all(isinstance(r, dict) for r in results), results
    # Each copy is started by exactly one of the two: the other found it (or AlreadyExists).
    started = [label for r in results for label in r["copies"]["started"]]
    assert sorted(started) == [
        f"copy us-east-1/{BILLING_SNAPSHOT}",
        f"copy us-east-1/{SAMPLE_SNAPSHOT}",
    ]
    copies = aws.rds(settings.target_region).describe_db_snapshots(SnapshotType="manual")
    assert sorted(s["DBSnapshotIdentifier"] for s in copies["DBSnapshots"]) == [
        BILLING_SNAPSHOT,
        SAMPLE_SNAPSHOT,
    ]


def test_given_the_copy_finished_event_twice_at_once_when_handled_then_one_export(settings, aws):
    snapshot_and_copy()

    results = at_once(export_snapshot.handler, load_sample("rds-0060-copy-finished"))

    assert all(isinstance(r, dict) for r in results), results
    started = [label for r in results for label in r["exports"]["started"]]
    assert sorted(started) == [
        f"export us-west-2/{BILLING_SNAPSHOT}",
        f"export us-west-2/{SAMPLE_SNAPSHOT}",
    ]
    tasks = aws.rds(settings.target_region).describe_export_tasks()["ExportTasks"]
    assert sorted(t["ExportTaskIdentifier"] for t in tasks) == [
        f"{BILLING_SNAPSHOT}-us-west-2",
        f"{SAMPLE_SNAPSHOT}-us-west-2",
    ]


def test_given_the_export_event_before_the_copy_event_when_handled_then_one_email_at_the_end(
    settings, aws
):
    snapshot_and_copy()

    early = notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)
    export_snapshot.handler(load_sample("rds-0060-copy-finished"), CONTEXT)
    late = notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)

    assert early["outcome"] == "pending"
    assert "email" not in early
    assert late["email"] == "sent"
    assert len(sent_emails()) == 1


def test_given_a_stale_created_event_after_the_chain_ended_when_handled_then_nothing_new(
    settings, aws
):
    snapshot_and_copy()
    export_snapshot.handler(load_sample("rds-0060-copy-finished"), CONTEXT)
    notify.handler(load_sample("rds-0161-export-completed"), CONTEXT)  # releases the source

    stale = copy_snapshot.handler(load_sample("rds-0042-snapshot-created"), CONTEXT)
    again = export_snapshot.handler(rds_event("RDS-EVENT-0060", "us-west-2"), CONTEXT)

    assert stale == {"skipped": "not ours or gone"}
    assert again == {"exports": {"free": 5, "started": [], "waiting": 0}}
    tasks = aws.rds(settings.target_region).describe_export_tasks()["ExportTasks"]
    assert len(tasks) == 2  # one per database, none new
    assert len(sent_emails()) == 1
