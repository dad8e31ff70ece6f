"""Lambda entry points, one per event. Each is a door, not a room: parse the event, load
settings, call one domain function in ``rds_backup``, return a small result.

Each handler's rule (event pattern) and IAM permissions live in
``infra/functions/<handler>.yml``; its event model and sample are named in its docstring.

| handler          | reacts to                                          |
|------------------|----------------------------------------------------|
| start_backup     | schedule, "Backup Requested"                       |
| copy_snapshot    | RDS-EVENT-0042 (source region)                     |
| export_snapshot  | RDS-EVENT-0060 (target region, forwarded)          |
| notify           | RDS-EVENT-0159/0160/0161/0061, handler failures    |
"""
