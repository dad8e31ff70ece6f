"""Real-shaped sample events, one per event kind the chain reacts to."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def sample_names() -> list[str]:
    return sorted(
        entry.name.removesuffix(".json")
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(".json")
    )


def load_sample(name: str) -> dict[str, Any]:
    """Load ``events/samples/<name>.json`` as a fresh dict (safe to mutate in a test)."""
    text = resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
