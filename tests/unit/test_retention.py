"""The retention decision over random snapshot sets: the never-delete rules always hold."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rds_backup.model.kinds import Kind
from rds_backup.model.retention import Decision, Policy, Reason, Snapshot, decide
from rds_backup.model.tags import Role

SRC, TGT = "us-east-1", "us-west-2"
NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
STATUSES = ["available", "available", "available", "failed", "creating", "copying"]
FAST = settings(max_examples=80, deadline=None)


def arn(region: str, identifier: str, kind: Kind = Kind.INSTANCE) -> str:
    resource = "cluster-snapshot" if kind is Kind.CLUSTER else "snapshot"
    return f"arn:aws:rds:{region}:123456789012:{resource}:{identifier}"


@st.composite
def worlds(draw) -> tuple[list[Snapshot], set[str], Policy]:
    """Runs of a few databases (a source and maybe its copy), plus snapshots not ours."""
    snapshots: list[Snapshot] = []
    count = draw(st.integers(min_value=0, max_value=40))
    for index in range(count):
        database = draw(st.sampled_from(["orders", "billing", "ledger", None]))
        hours = draw(st.integers(min_value=0, max_value=24 * 120))
        created = None if draw(st.integers(0, 30)) == 0 else NOW - timedelta(hours=hours)
        identifier = f"rds-backup-{database or 'foreign'}-{index}"
        role_src, role_tgt = (Role.SOURCE, Role.COPY) if database else (None, None)
        kind = draw(st.sampled_from(list(Kind)))  # DB snapshots and DB cluster snapshots
        if draw(st.booleans()):
            snapshots.append(
                Snapshot(
                    SRC,
                    identifier,
                    arn(SRC, identifier, kind),
                    draw(st.sampled_from(STATUSES)),
                    created,
                    database,
                    role_src,
                    kind,
                )
            )
        if draw(st.booleans()):
            snapshots.append(
                Snapshot(
                    TGT,
                    identifier,
                    arn(TGT, identifier, kind),
                    draw(st.sampled_from(STATUSES)),
                    created,
                    database,
                    role_tgt,
                    kind,
                )
            )
    exporting = {s.arn for s in snapshots if draw(st.integers(min_value=0, max_value=9)) == 0}
    policy = Policy(
        retention_days=draw(st.integers(min_value=1, max_value=30)),
        source_region=SRC,
        target_region=TGT,
        min_keep=draw(st.integers(min_value=1, max_value=5)),
        keep_daily=draw(st.sampled_from([0, 0, 3, 10])),
        keep_weekly=draw(st.sampled_from([0, 0, 2, 6])),
        keep_monthly=draw(st.sampled_from([0, 0, 1, 3])),
    )
    return snapshots, exporting, policy


def deleted(decisions: list[Decision]) -> set[tuple[str, str]]:
    return {(d.snapshot.region, d.snapshot.identifier) for d in decisions if d.delete}


def newest_first(snapshots: list[Snapshot]) -> list[Snapshot]:
    """Newest first; equal times are broken by id, as the decision does."""
    return sorted(snapshots, key=lambda s: (-s.created.timestamp(), s.identifier))


@FAST
@given(worlds())
def test_given_any_snapshots_when_decided_then_not_ours_and_in_flight_are_never_deleted(world):
    snapshots, exporting, policy = world

    decisions = decide(snapshots, exporting, policy, NOW)

    assert [d.snapshot for d in decisions] == snapshots
    settled = {"available", "failed"}
    copying = {s.identifier for s in snapshots if s.region == TGT and s.status not in settled}
    for decision in decisions:
        snapshot = decision.snapshot
        if not decision.delete:
            continue
        assert decision.reason is Reason.EXPIRED
        assert snapshot.ours
        assert snapshot.status in settled
        assert snapshot.arn not in exporting
        assert not (snapshot.region == SRC and snapshot.identifier in copying)
        assert snapshot.created is not None
        assert NOW - snapshot.created > timedelta(days=policy.retention_days)


@FAST
@given(worlds())
def test_given_any_snapshots_when_decided_then_the_newest_available_per_database_region_stays(
    world,
):
    snapshots, exporting, policy = world

    gone = deleted(decide(snapshots, exporting, policy, NOW))

    groups = defaultdict(list)
    for s in snapshots:
        if s.ours and s.status == "available" and s.created is not None:
            # per database *and kind*: a cluster's newest copy is kept like an instance's
            groups[(s.database, s.kind, s.region)].append(s)
    for group in groups.values():
        newest = newest_first(group)[0]
        assert (newest.region, newest.identifier) not in gone


@FAST
@given(worlds())
def test_given_any_snapshots_when_decided_then_min_keep_available_copies_remain(world):
    snapshots, exporting, policy = world

    gone = deleted(decide(snapshots, exporting, policy, NOW))

    copies = defaultdict(list)
    for s in snapshots:
        if s.ours and s.region == TGT and s.role is Role.COPY and s.status == "available":
            copies[(s.database, s.kind)].append(s)
    for group in copies.values():
        remaining = [s for s in group if (s.region, s.identifier) not in gone]
        assert len(remaining) >= min(len(group), policy.min_keep)


@FAST
@given(worlds())
def test_given_no_generations_when_decided_then_every_unprotected_expired_snapshot_goes(world):
    snapshots, exporting, policy = world
    policy = Policy(policy.retention_days, SRC, TGT, min_keep=policy.min_keep)

    gone = deleted(decide(snapshots, exporting, policy, NOW))

    settled = {"available", "failed"}
    copying = {s.identifier for s in snapshots if s.region == TGT and s.status not in settled}
    ready = [s for s in snapshots if s.ours and s.status == "available" and s.created]
    protected = set()
    regions, copies = defaultdict(list), defaultdict(list)
    for s in ready:
        regions[(s.database, s.kind, s.region)].append(s)
        if s.region == TGT and s.role is Role.COPY:
            copies[(s.database, s.kind)].append(s)
    for group in regions.values():
        protected.add(newest_first(group)[0])
    for group in copies.values():
        protected.update(newest_first(group)[: policy.min_keep])
    expected = {
        (s.region, s.identifier)
        for s in snapshots
        if s.ours
        and s.status in settled
        and s.created is not None
        and NOW - s.created > timedelta(days=policy.retention_days)
        and s.arn not in exporting
        and not (s.region == SRC and s.identifier in copying)
        and s not in protected
    }
    assert gone == expected


def run(database: str, region: str, created: datetime, status: str = "available") -> Snapshot:
    identifier = f"rds-backup-{database}-{created:%Y%m%d-%H%M}"
    role = Role.SOURCE if region == SRC else Role.COPY
    return Snapshot(region, identifier, arn(region, identifier), status, created, database, role)


def test_given_daily_runs_for_a_year_when_generations_are_set_then_one_per_period_is_kept():
    history = [run("orders", TGT, NOW - timedelta(days=day, hours=2)) for day in range(365)]
    policy = Policy(15, SRC, TGT, min_keep=1, keep_daily=20, keep_weekly=8, keep_monthly=6)

    decisions = decide(history, set(), policy, NOW)

    by_reason = defaultdict(list)
    for decision in decisions:
        by_reason[decision.reason].append(decision.snapshot.created)
    assert len(by_reason[Reason.WITHIN_RETENTION]) == 15
    assert len(by_reason[Reason.DAILY]) == 5  # days 15..19; days 0..14 are within retention
    weekly = by_reason[Reason.WEEKLY]
    assert len({c.isocalendar()[:2] for c in weekly}) == len(weekly)
    monthly = by_reason[Reason.MONTHLY]
    assert len({(c.year, c.month) for c in monthly}) == len(monthly) >= 3
    assert all(NOW - c <= timedelta(days=31 * 6) for c in monthly)
    kept = sum(len(v) for r, v in by_reason.items() if r is not Reason.EXPIRED)
    assert len(by_reason[Reason.EXPIRED]) == 365 - kept


def test_given_only_expired_copies_when_decided_then_min_keep_newest_stay():
    history = [run("orders", TGT, NOW - timedelta(days=30 + day)) for day in range(10)]

    decisions = decide(history, set(), Policy(15, SRC, TGT, min_keep=3), NOW)

    reasons = [d.reason for d in decisions]
    assert reasons[:3] == [Reason.NEWEST_AVAILABLE, Reason.MIN_KEEP, Reason.MIN_KEEP]
    assert reasons[3:] == [Reason.EXPIRED] * 7


def test_given_a_failed_newest_snapshot_when_decided_then_the_newest_available_is_kept():
    failed = run("orders", SRC, NOW - timedelta(days=20), status="failed")
    older = run("orders", SRC, NOW - timedelta(days=21))

    decisions = decide([failed, older], set(), Policy(15, SRC, TGT), NOW)

    assert [d.reason for d in decisions] == [Reason.EXPIRED, Reason.NEWEST_AVAILABLE]
