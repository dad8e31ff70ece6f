"""Export order rules replayed offline on the bench's sampled durations (no AWS, no chain).

Why moderate/20 misses ratio <= 1.10 is a question about the order exports take the 5 slots
in (docs/BENCHMARK.md). This replays one night per instance from the same sampled durations
the emulator uses: export i may start once its copy is ready (snapshot + copy + two event
latencies, as in the issue's bound), a slot is known free one event latency after its export
ends (its RDS-EVENT-0161), and the last email follows the last export by one more. Rules:

- ``largest``: the chain's rule, the largest ready database first (sizes are known; an
  export's duration grows with its data);
- ``estimate``: at each free slot, try the 4 largest ready exports and keep the one whose
  largest-first continuation, with every duration estimated as size times the night's
  per-GiB export rate, ends first (what a chain that learnt the rate could do);
- ``longest``: the chain's rule since issue 26, the longest *expected* ready export first,
  expected = the mean of the same database's exports on the ``HISTORY`` nights before
  (rds_backup/state/history.py; the profile's own durations of those nights);
- ``lookahead``: at each free slot, try every ready export and keep the one whose
  longest-expected continuation ends first, knowing every copy's ready time (more than a
  filler knows: an upper bound on what a one-step lookahead could give).

``python -m rds_backup.local.bench.export_order [--profile moderate]`` prints each rule's
ratio on the bench's instance (seed 7, N=20) and over seeds 1-40 x N in {10, 15, 20, 30, 40}.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from rds_backup.local.bench import fleet
from rds_backup.local.profiles import get as get_profile
from rds_backup.local.seed import WorldSpec
from rds_backup.model.naming import run_id, snapshot_id

SLOTS = fleet.EXPORT_SLOTS
TRIED = 4  # candidates the estimating rule compares


HISTORY = 7  # earlier nights an expected duration is the mean of


@dataclass(frozen=True)
class Export:
    ready: float  # hours after the schedule
    hours: float
    size: int  # GiB
    expected: float = 0.0  # hours, the mean of the HISTORY nights before


@dataclass(frozen=True)
class Instance:
    exports: tuple[Export, ...]
    lower_bound: float  # the bound, hours
    latency: float  # one event latency, hours


Rule = Callable[[Instance, list[int], list[int], float, list[float], int], int]


def instance(profile_name: str, seed: int, n: int) -> Instance:
    profile = get_profile(profile_name, seed=seed)
    spec = WorldSpec()
    names = fleet.databases(n)
    run = run_id(fleet.START.replace(hour=3, minute=0))
    latency = profile.event_latency.total_seconds() / 3600
    exports = []
    for database in names:
        identifier = snapshot_id(fleet.PREFIX, database, run)

        def hours(
            step: str, region: str, identifier: str = identifier, db: str = database
        ) -> float:
            return profile.duration(step, identifier, region, db).total_seconds() / 3600

        ready = hours("snapshot", spec.source_region) + hours("copy", spec.target_region)
        tonight = fleet.START.replace(hour=3, minute=0)
        earlier = [
            profile.duration(
                "export",
                snapshot_id(fleet.PREFIX, database, run_id(tonight - timedelta(days=night))),
                spec.target_region,
                database,
            ).total_seconds()
            / 3600
            for night in range(1, HISTORY + 1)
        ]
        exports.append(
            Export(
                ready + 2 * latency,
                hours("export", spec.target_region),
                profile.size_gib(database),
                statistics.mean(earlier),
            )
        )
    bound = fleet.lower_bound(profile, names, run, spec)
    return Instance(tuple(exports), bound, latency)


def makespan(night: Instance, rule: Rule) -> float:
    """Hours from the schedule to the last email, exports started in ``rule``'s order."""
    known_free = [0.0] * SLOTS
    waiting = list(range(len(night.exports)))
    last_end = 0.0
    while waiting:
        slot = min(range(SLOTS), key=known_free.__getitem__)
        now = max(known_free[slot], min(night.exports[i].ready for i in waiting))
        ready = [i for i in waiting if night.exports[i].ready <= now + 1e-9]
        chosen = rule(night, ready, waiting, now, known_free, slot)
        waiting.remove(chosen)
        end = now + night.exports[chosen].hours
        known_free[slot] = end + night.latency
        last_end = max(last_end, end)
    return last_end + night.latency


def largest(
    night: Instance, ready: list[int], _w: list[int], _n: float, _f: list[float], _s: int
) -> int:
    return max(ready, key=lambda i: (night.exports[i].size, -i))


def continuation_end(
    night: Instance,
    first: int,
    waiting: list[int],
    now: float,
    free: list[float],
    slot: int,
    guess: Callable[[int], float],
) -> float:
    """When the night would end if ``first`` started now on ``slot`` and the rest followed
    longest-guessed first, every duration taken as ``guess`` says."""
    known = list(free)
    known[slot] = now + guess(first) + night.latency
    rest = [i for i in waiting if i != first]
    end = now + guess(first)
    while rest:
        at = min(range(SLOTS), key=known.__getitem__)
        start = max(known[at], min(night.exports[i].ready for i in rest))
        pick = max((i for i in rest if night.exports[i].ready <= start + 1e-9), key=guess)
        rest.remove(pick)
        finish = start + guess(pick)
        known[at] = finish + night.latency
        end = max(end, finish)
    return end


def estimate(
    night: Instance, ready: list[int], waiting: list[int], now: float, free: list[float], slot: int
) -> int:
    rate = statistics.median(e.hours / e.size for e in night.exports)  # hours per GiB

    def guess(i: int) -> float:
        return night.exports[i].size * rate

    tried = sorted(ready, key=lambda i: -night.exports[i].size)[:TRIED]
    return min(tried, key=lambda f: continuation_end(night, f, waiting, now, free, slot, guess))


def longest(
    night: Instance, ready: list[int], _w: list[int], _n: float, _f: list[float], _s: int
) -> int:
    return max(ready, key=lambda i: (night.exports[i].expected, -i))


def lookahead(
    night: Instance, ready: list[int], waiting: list[int], now: float, free: list[float], slot: int
) -> int:
    def guess(i: int) -> float:
        return night.exports[i].expected

    tried = sorted(ready, key=lambda i: -night.exports[i].expected)
    return min(tried, key=lambda f: continuation_end(night, f, waiting, now, free, slot, guess))


RULES: dict[str, Rule] = {
    "largest": largest,
    "estimate": estimate,
    "longest": longest,
    "lookahead": lookahead,
}


def survey(
    profile_name: str,
    seeds: Sequence[int] = range(1, 41),
    sizes: Sequence[int] = (10, 15, 20, 30, 40),
) -> dict[str, dict[str, float]]:
    ratios: dict[str, list[float]] = {name: [] for name in RULES}
    for seed in seeds:
        for n in sizes:
            night = instance(profile_name, seed, n)
            for name, rule in RULES.items():
                ratios[name].append(makespan(night, rule) / night.lower_bound)
    return {
        name: {
            "mean": round(statistics.mean(values), 4),
            "max": round(max(values), 3),
            "above_1_10": sum(1 for v in values if v > 1.10),
            "instances": len(values),
        }
        for name, values in ratios.items()
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profile", default="moderate", choices=["moderate", "large"])
    args = parser.parse_args(argv)
    night = instance(args.profile, fleet.SEED, 20)
    names = fleet.databases(20)
    run = run_id(fleet.START.replace(hour=3, minute=0))
    profile = get_profile(args.profile, seed=fleet.SEED)
    slots = fleet.lower_bound(profile, names, run, WorldSpec(), slots=True)
    for name, rule in RULES.items():
        hours = makespan(night, rule)
        print(
            f"seed {fleet.SEED}, N=20, {name}: {hours:.3f} h, ratio "
            f"{hours / night.lower_bound:.3f}, to the slots bound {hours / slots:.3f}"
        )
    for name, figures in survey(args.profile).items():
        print(f"seeds 1-40 x N in 10..40, {name}: {figures}")


if __name__ == "__main__":
    main()
