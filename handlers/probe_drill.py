"""probe_drill (target-region stack, in the drill network): check_drill's synchronous
request → connect to a drill's restored database with the drill's own credentials (read
from RDS's secret for it) and run the SQL checks; answer each first value.

Event model: events/probe.py (ProbeRequest). Sample: drill-probe-request.json.
Function, VPC and IAM: infra/target-region/serverless.yml (probe_drill).
Step: rds_backup/steps/probe_drill.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from events.parse import parse_event
from events.probe import ProbeRequest
from rds_backup.aws import get_aws
from rds_backup.observability import logger
from rds_backup.steps.probe_drill import probe


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request: ProbeRequest = parse_event(event, ProbeRequest)
    # The secret's region comes from its ARN (as every region does: principle 6).
    return probe(request.model_dump(), get_aws(), request.secret_arn.split(":")[3])
