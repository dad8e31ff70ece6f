"""Small shared helpers: medians, timing of botocore calls, quiet handler output."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.client

from rds_backup.local.runner import handler_output_to

REPO = Path(__file__).resolve().parents[3]
PYTHON = sys.executable


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def ms(seconds: float, digits: int = 1) -> float:
    return round(seconds * 1000, digits)


class BotocoreTime:
    """Wall time and calls spent inside ``BaseClient._make_api_call`` (serialising, the
    in-process moto answering, parsing): what is *not* our code."""

    def __init__(self, answers: dict[str, Callable[[str, Any], Any]] | None = None) -> None:
        self.seconds = 0.0
        self.calls: Counter[str] = Counter()
        # operation -> canned answer (skips serialising and moto; still counted and timed)
        self.answers = answers or {}

    @contextlib.contextmanager
    def patched(self) -> Iterator[BotocoreTime]:
        original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009
        timer = self

        def timed(client: Any, operation: str, params: Any) -> Any:
            service = client.meta.service_model.service_id.replace(" ", "")
            timer.calls[f"{service}:{operation}"] += 1
            started = time.perf_counter()
            try:
                if operation in timer.answers:
                    return timer.answers[operation](client.meta.region_name, params)
                return original(client, operation, params)
            finally:
                timer.seconds += time.perf_counter() - started

        setattr(botocore.client.BaseClient, "_make_api_call", timed)  # noqa: B010
        try:
            yield self
        finally:
            setattr(botocore.client.BaseClient, "_make_api_call", original)  # noqa: B010


@contextlib.contextmanager
def quiet_handlers() -> Iterator[None]:
    """Handlers log JSON and print metrics to stdout: formatted (a real cost), then dropped."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with open(os.devnull, "w", encoding="utf-8") as sink, handler_output_to(sink):
        yield
