"""The one clock the domain and the handlers read.

In Lambda it is the system clock. The local AWS replaces it with its virtual clock (in
the open: ``rds_backup/local/clock.py``) so a night of a hundred databases, or thirty
nights of retention, run in seconds with the real handlers. Nothing else in shipped code
calls ``datetime.now``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    if _source is None:
        return datetime.now(UTC)
    return _source().astimezone(UTC)


def use(source: Callable[[], datetime] | None) -> None:
    """Read time from ``source`` from now on (None: the system clock again)."""
    global _source
    _source = source
