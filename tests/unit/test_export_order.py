"""The offline replay of export order rules (rds_backup/local/bench/export_order.py), which
docs/BENCHMARK.md cites for why moderate/20 misses ratio <= 1.10."""

from __future__ import annotations

import pytest

from rds_backup.local.bench import export_order
from rds_backup.local.bench.export_order import Export, Instance, makespan

LATENCY = 1 / 60


def test_given_six_ready_exports_when_largest_first_then_the_last_email_follows_the_longest() -> (
    None
):
    # given: six exports ready at the schedule, five slots
    hours = (5.0, 4.0, 3.0, 3.0, 2.0, 1.0)
    night = Instance(
        tuple(Export(0.0, h, size=int(h * 100)) for h in hours), lower_bound=5.0, latency=LATENCY
    )

    # when: replayed largest first
    ended = makespan(night, export_order.largest)

    # then: the 1-hour export starts when the 2-hour one's event arrives and ends before the
    # 5-hour one, whose email is the last
    assert ended == pytest.approx(5.0 + LATENCY)


@pytest.mark.parametrize("rule", sorted(export_order.RULES))
@pytest.mark.parametrize(("profile", "n"), [("moderate", 5), ("moderate", 20), ("large", 20)])
def test_given_the_bench_nights_when_replayed_then_no_rule_beats_the_issues_bound(
    rule: str, profile: str, n: int
) -> None:
    for seed in (1, 7, 13):
        night = export_order.instance(profile, seed, n)

        ended = makespan(night, export_order.RULES[rule])

        # the bound is valid: every order ends after it, by at least the last email's latency
        assert ended >= night.lower_bound + night.latency - 1e-9


def test_given_history_when_longest_expected_first_then_the_slow_small_one_starts_first() -> None:
    # given: one slot's worth of choice: the small database took longer on earlier nights
    night = Instance(
        (Export(0.0, 4.0, size=50, expected=4.0), Export(0.0, 1.0, size=500, expected=1.0)),
        lower_bound=4.0,
        latency=LATENCY,
    )

    # when / then: the expected-longest is chosen, whatever its size
    assert export_order.longest(night, [0, 1], [0, 1], 0.0, [0.0] * 5, 0) == 0
    assert export_order.largest(night, [0, 1], [0, 1], 0.0, [0.0] * 5, 0) == 1
