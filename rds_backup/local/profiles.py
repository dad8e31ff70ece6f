"""Named duration profiles for the local AWS's timed mode, sampled with a fixed seed.

A duration depends only on (seed, step, snapshot identifier, region): never on the order
in which things happen, so the benchmark can compute a lower bound from the same numbers
(``profile.duration(step, identifier, region)``).

Medians are lognormal (sigma ~0.55, a long right tail as real snapshot and export times
show). They are *assumptions* sized from experience, not AWS figures: AWS publishes no
duration for snapshots, copies or exports (an export restores the whole snapshot and then
extracts it, so it takes hours for a large database).

``event_latency``: the time from a state change to its RDS event on the bus. AWS documents
RDS events as best effort and gives no number; 60 s is an assumption.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import timedelta

STEPS = ("snapshot", "copy", "export")


@dataclass(frozen=True)
class Profile:
    """Lognormal durations per step: ``medians`` in minutes, one ``sigma``, one ``seed``.

    Most of the spread is the database's size, which stays the same night after night (an
    export restores and extracts the whole snapshot: RDS User Guide, "The time it takes for
    the export to complete depends on the data stored in the database"): a database draws
    one size factor ``lognormal(0, size_sigma)`` and each step of each night a small jitter
    ``lognormal(0, jitter_sigma)``; together sigma ~0.56. The database's AllocatedStorage is
    seeded from the same factor (``size_gib``), as a real fleet's would differ. Without a
    database the whole ``sigma`` is drawn per snapshot (the older, size-blind model).
    """

    name: str
    medians: dict[str, float]
    sigma: float = 0.55
    seed: int = 0
    event_latency: timedelta = timedelta(seconds=60)  # assumption (see module docstring)
    export_starting: timedelta = timedelta(minutes=2)  # STARTING → IN_PROGRESS (assumption)
    jitter_sigma: float = 0.1
    base_gib: int = 100  # the AllocatedStorage of a database of median size
    cache: dict[tuple[str, str, str, str], timedelta] = field(
        default_factory=dict, compare=False, repr=False
    )

    def size_factor(self, database: str) -> float:
        """The database's size relative to the median (stable across nights)."""
        rng = random.Random(f"{self.seed}:size:{database.lower()}")  # noqa: S311 - a simulation
        return rng.lognormvariate(0.0, self.sigma)

    def size_gib(self, database: str) -> int:
        """AllocatedStorage (GiB) seeded for ``database`` in timed mode."""
        return max(20, round(self.base_gib * self.size_factor(database)))

    def duration(
        self, step: str, identifier: str, region: str = "", database: str | None = None
    ) -> timedelta:
        """The sampled duration of ``step`` (snapshot, copy, export) for the snapshot
        ``identifier`` of ``database`` in ``region``; the same arguments always give the
        same duration, whatever the order things happen in."""
        if step not in self.medians:
            raise KeyError(f"profile {self.name!r} has no duration for step {step!r}")
        key = (step, identifier.lower(), region, (database or "").lower())
        if key not in self.cache:
            rng = random.Random(f"{self.seed}:{step}:{key[1]}:{region}")  # noqa: S311 - a simulation
            if database is None:
                minutes = rng.lognormvariate(math.log(self.medians[step]), self.sigma)
            else:
                jitter = rng.lognormvariate(0.0, self.jitter_sigma)
                minutes = self.medians[step] * self.size_factor(database) * jitter
            self.cache[key] = timedelta(seconds=round(minutes * 60))
        return self.cache[key]


PROFILES = {
    # restore: RestoreDBInstanceFromDBSnapshot of a database of base_gib until available; it
    # grows with the storage restored (engine.py scales it by AllocatedStorage / base_gib).
    # An assumption, as the others: AWS publishes no restore times.
    "moderate": Profile(
        "moderate", {"snapshot": 20.0, "copy": 30.0, "export": 90.0, "restore": 25.0}
    ),
    "large": Profile("large", {"snapshot": 45.0, "copy": 60.0, "export": 240.0, "restore": 50.0}),
    # small and quick: for tests that want a few virtual minutes per step
    "small": Profile(
        "small", {"snapshot": 5.0, "copy": 8.0, "export": 15.0, "restore": 6.0}, sigma=0.3
    ),
}


def get(name: str, seed: int = 0, **changes: object) -> Profile:
    """The named profile with ``seed`` (and any field changed, e.g. ``sigma=0``)."""
    try:
        base = PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None
    return replace(base, seed=seed, cache={}, **changes)  # type: ignore[arg-type]
