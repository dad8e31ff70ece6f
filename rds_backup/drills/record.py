"""A drill's end: its result kept (rds_backup/state/drill_results.py) and told, once, as a
"Drill Finished" event on the default bus, which notify turns into the drill's email."""

from __future__ import annotations

from events.drill import DRILL_FINISHED, SOURCE
from rds_backup.aws import Aws
from rds_backup.model.drills import DrillResult
from rds_backup.observability import count, logger
from rds_backup.settings import Settings
from rds_backup.state import drill_results
from rds_backup.state.bus import put_event


def finish(settings: Settings, aws: Aws, result: DrillResult, step: str) -> None:
    """Keep the finished drill's result, then put "Drill Finished" (notify emails it once:
    a repeated finish is the same drill, the same claim key)."""
    drill_results.write_result(settings, aws, result, step)
    put_event(
        settings,
        aws,
        step,
        source=SOURCE,
        detail_type=DRILL_FINISHED,
        detail={
            "drill_id": result.drill_id,
            "database": result.database,
            "result": result.model_dump(mode="json"),
        },
    )
    log = logger.info if result.passed else logger.error
    log(
        "drill finished",
        drill=result.drill_id,
        outcome=result.outcome.value,
        restore_seconds=result.restore_seconds,
        rpo_seconds=result.rpo_seconds,
        step=result.step,
    )
    count("DrillFinished")
