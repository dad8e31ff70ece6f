"""Lambda entry points, one per event. Each is a door, not a room: parse the event, load
settings, call its step, ``rds_backup/steps/<handler>.py``, and return a small result. The
``errors.reported`` edge makes a step's failure leave Lambda with its facts as data.

Each handler's rule (event pattern), retries, on-failure path and IAM permissions live in
``infra/functions/<handler>.yml``; its event model and sample are named in its docstring.

| handler          | reacts to                                                          |
|------------------|--------------------------------------------------------------------|
| start_backup     | schedule, "Backup Requested"                                       |
| copy_snapshot    | RDS-EVENT-0042 / 0075 (source region); 0060/0061, "Cluster Copy    |
|                  | Finished" (a copy ended: a copy slot is free)                      |
| check_copy       | "Cluster Copy Check Due" (a one-time schedule)                     |
| export_snapshot  | RDS-EVENT-0060, "Cluster Copy Finished"; 0159-0164 (export ended)  |
| notify           | RDS-EVENT-0159-0164/0060/0061, handler failures, quota reached     |
| reconcile        | the hourly schedule                                                |
| cleanup          | the daily schedule                                                 |
"""
