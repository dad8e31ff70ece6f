"""Asking the probe to check a drill's data.

The drill instance sits in the drill network of the target region, private: the chain's
functions (source region, no VPC) cannot reach it. The probe, probe_drill (the target-region
stack, in DRILL_PROBE_SUBNET_IDS with DRILL_PROBE_SECURITY_GROUP_IDS), can. check_drill
invokes it synchronously (Lambda ``Invoke``, RequestResponse) with where to connect, the
ARN of the drill's own RDS-managed secret and the SQL to run; it answers each statement's
first value and how long the first answer took. The password is read by the probe inside
the drill network and never travels: not in the request, the answer, a log or an event.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_backup.aws import Aws
from rds_backup.errors import StepFailed, step_failed
from rds_backup.model.drills import Drill
from rds_backup.model.manifest import RestoreManifest
from rds_backup.settings import Settings, SqlCheck

STEP = "drill probe"
DEFAULT_DBNAME = {"postgres": "postgres", "aurora-postgresql": "postgres"}


@dataclass
class ProbeAnswer:
    values: dict[str, Any] = field(default_factory=dict)  # check name → first value
    errors: dict[str, str] = field(default_factory=dict)  # check name → why it had none
    first_answer_seconds: float | None = None
    error: str | None = None  # could not connect at all


def probe_request(
    drill: Drill, manifest: RestoreManifest | None, checks: Sequence[SqlCheck]
) -> dict[str, Any]:
    """What the probe is asked: no password, only the ARN of the secret RDS keeps it in."""
    record = drill.record
    endpoint = record.get("Endpoint")
    if isinstance(endpoint, dict):
        host, port = endpoint.get("Address", ""), endpoint.get("Port")
    else:
        host, port = str(endpoint or ""), record.get("Port")
    engine = str(record.get("Engine", ""))
    default_db = (manifest.db_name if manifest else "") or DEFAULT_DBNAME.get(engine, "")
    return {
        "engine": engine,
        "host": host,
        "port": port,
        "user": str(record.get("MasterUsername", "")),
        "secret_arn": str((record.get("MasterUserSecret") or {}).get("SecretArn", "")),
        "checks": [
            {"name": c.name, "sql": c.sql, "dbname": c.dbname or default_db} for c in checks
        ],
        "dbname": default_db,
    }


def run_probe(
    settings: Settings,
    aws: Aws,
    drill: Drill,
    manifest: RestoreManifest | None,
    checks: Sequence[SqlCheck],
) -> ProbeAnswer:
    function = settings.drill_probe_function
    if not function:
        raise StepFailed(
            STEP,
            "no probe function is configured (DRILL_PROBE_FUNCTION)",
            database=drill.database,
            region=settings.target_region,
            code="DrillProbeMissing",
            remedy="Deploy the target-region stack with the drill network (DRILL_PROBE_SUBNET_IDS, "
            "DRILL_PROBE_SECURITY_GROUP_IDS) and redeploy the main stack: it sets "
            "DRILL_PROBE_FUNCTION (docs/RECOVERY.md).",
        )
    request = probe_request(drill, manifest, checks)
    try:
        answer = aws.client("lambda", settings.target_region).invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=json.dumps(request).encode(),
        )
        body = json.loads(answer["Payload"].read() or b"{}")
    except (ClientError, BotoCoreError) as error:
        raise step_failed(
            STEP, error, database=drill.database, region=settings.target_region
        ) from error
    if answer.get("FunctionError"):
        message = body.get("errorMessage", "") if isinstance(body, dict) else str(body)
        raise StepFailed(
            STEP,
            f"the probe failed: {message}",
            database=drill.database,
            region=settings.target_region,
            code=str(body.get("errorType", "DrillProbeFailed"))
            if isinstance(body, dict)
            else "DrillProbeFailed",
        )
    return ProbeAnswer(
        values={a["name"]: a.get("value") for a in body.get("answers", []) if "error" not in a},
        errors={a["name"]: str(a["error"]) for a in body.get("answers", []) if a.get("error")},
        first_answer_seconds=body.get("first_answer_seconds"),
        error=body.get("error"),
    )
