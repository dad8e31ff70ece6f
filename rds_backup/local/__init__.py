"""The local AWS: what lets the chain run with no AWS account (tests, demo, benchmark).

Never shipped to Lambda (excluded in serverless.yml). Everything moto lacks is done here,
in the open (docs/LOCAL_AWS.md):

| module        | what                                                                   |
|---------------|------------------------------------------------------------------------|
| `harness`     | `LocalAws`: server + seeded world + wiring + runner + emulator, pumped |
| `server`      | the moto server on loopback, in-process                                |
| `engine`      | a real PostgreSQL behind the DB instances: snapshots, restores, logins |
| `drill_demo`  | `rds-backup demo --drill`: a night, then a drill of each database      |
| `vault_demo`  | `rds-backup demo --vault`: the night with a vault account, measured    |
| `speedups`    | moto's per-request work that never changes, memoised (same answers)    |
| `seed`        | what a real account would hold (databases, keys, buckets, role, …)     |
| `stack`       | functions, rules, archive read from the generated CloudFormation       |
| `wiring`      | those rules loaded into local EventBridge, with SQS targets            |
| `runner`      | the local Lambda runner (async retries, on-failure destinations);      |
|               | `CallRecorder`: each handler's AWS calls (the IAM-from-calls test)     |
| `invoker`     | Lambda's async Invoke handed to the runner's queues (`redrive`)        |
| `eventbridge` | EventBridge moto lacks: replay FilterArns, TestEventPattern, bus policy |
| `accounts`    | the source and vault accounts: ids, assumed-role sessions, vault seed  |
| `sharing`     | snapshots shared between accounts as RDS does (copy, restore, list)   |
| `policy`      | resource policies (key, bus) evaluated as IAM does, for other accounts |
| `emulator`    | the RDS event emulator (0042, 0060, 0159/0160/0161; faults; accounts) |
| `clock`       | the virtual clock of timed mode (timers, schedule expressions)         |
| `profiles`    | named duration profiles (snapshot, copy, export), seeded               |
| `limits`      | AWS's RDS limits enforced in moto; DescribeAccountAttributes; paging   |
| `throttle`    | RDS's API budget: a token bucket per account and region (300, 12/s)    |
| `export_access`| the export role checked as RDS's export does (trust, S3 actions)     |
| `timeline`    | what happened, in order; `inventory`: what AWS holds afterwards        |
| `demo`        | `rds-backup demo`                                                      |
| `up`          | `rds-backup local up`: a seeded local AWS until Ctrl-C; emails to disk |
| `deployed`    | the main stack's functions and roles registered in it (for operators)  |
| `misconfigure`| named faults, one per `rds-backup doctor` check                        |
| `packaging`   | `serverless package`, cached                                           |
| `context`     | a Lambda context for local invocations                                 |
"""
