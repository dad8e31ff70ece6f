"""The vault's plan (rds_backup/vault/plan.py): what is shared and what the vault holds decide
what it copies now, what waits for a slot or the quota, and what it reports."""

from __future__ import annotations

from datetime import UTC, datetime

from rds_backup.model.kinds import Kind
from rds_backup.vault.plan import Held, Shared, plan, to_start

SOURCE = "arn:aws:rds:us-west-2:123456789012:snapshot"
VAULT = "arn:aws:rds:us-west-2:210987654321:snapshot"


def _shared(database: str, run: str = "20261125-0300", status: str = "available") -> Shared:
    identifier = f"rds-backup-{database}-{run}"
    return Shared(f"{SOURCE}:{identifier}", identifier, Kind.INSTANCE, status, database, run)


def _held(item: Shared, status: str) -> Held:
    return Held(
        f"{VAULT}:{item.identifier}",
        item.identifier,
        Kind.INSTANCE,
        status,
        item.arn,
        datetime(2026, 11, 25, 3, tzinfo=UTC),
        "key",
    )


def test_given_18_vault_copies_in_flight_when_5_more_are_shared_then_2_start_and_3_wait() -> None:
    # given
    copying = [_shared(f"db{n}") for n in range(18)]
    new = [_shared(f"new{n}", run=f"2026112{n}-0300") for n in range(5)]

    # when
    decided = plan([*copying, *new], [_held(s, "copying") for s in copying], {Kind.INSTANCE: 50})

    # then: 20 copies in progress at most; the oldest runs go first; nothing dropped
    assert decided.in_flight[Kind.INSTANCE] == 18
    assert [s.database for s in to_start(decided, Kind.INSTANCE)] == ["new0", "new1"]
    assert [s.database for s in decided.waiting[Kind.INSTANCE]] == [f"new{n}" for n in range(5)]


def test_given_the_manual_quota_has_room_for_one_when_three_wait_then_one_starts() -> None:
    decided = plan([_shared("a"), _shared("b"), _shared("c")], [], {Kind.INSTANCE: 1})

    assert decided.free[Kind.INSTANCE] == 1
    assert decided.waiting_count == 3


def test_given_copies_available_failed_and_not_yet_shared_when_planned_then_each_is_sorted() -> (
    None
):
    done, broken, creating = _shared("done"), _shared("broken"), _shared("late", status="creating")

    decided = plan([done, broken, creating], [_held(done, "available"), _held(broken, "failed")])

    assert [s.database for s, _ in decided.finished] == ["done"]
    assert [s.database for s, _ in decided.failed] == ["broken"]
    assert decided.waiting_count == 0  # a shared snapshot not yet available is not copied
