"""Restore drills (docs/RECOVERY.md; docs/ARCHITECTURE.md, principle 9): every selected
database's newest copy in the target region is restored once every DRILL_EVERY_DAYS into a
drill instance, its data checked, the restore timed, and the instance deleted, event-driven
like the chain. start_drill, check_drill and reconcile share this room.

| module    | concern                                                                      |
|-----------|------------------------------------------------------------------------------|
| queue     | which drills wait (due, no result yet), which are in flight, filling slots   |
| advance   | one drill's next step from its state on AWS: credentials, probe, delete, end |
| probe     | asking the probe function in the drill network to run the SQL checks         |

Slots: at most DRILL_CONCURRENCY drills in flight, and never more than the target region's
DB instances quota has room for beside production (DescribeAccountAttributes ``DBInstances``;
40 per region by default, "Quotas and constraints for Amazon RDS"). A drill that does not
fit waits, as exports do, and starts when a drill ends (or at reconcile's next pass).
"""

from rds_backup.drills.advance import advance, reap
from rds_backup.drills.queue import DrillFill, fill_drills, in_flight, unfinished

__all__ = ["DrillFill", "advance", "fill_drills", "in_flight", "reap", "unfinished"]
