"""Which stack an operator command talks to: its settings and its names."""

from __future__ import annotations

import os
from typing import Any

from botocore.exceptions import ClientError

from rds_backup.aws import Aws
from rds_backup.ops.errors import ConfigurationError
from rds_backup.settings import Settings, load_settings, parse_settings

# The function whose environment holds the whole configuration (every function has it).
CONFIG_FUNCTION = "notify"


def operator_settings(aws: Aws, stack: str | None, region: str | None) -> Settings:
    """The stack's settings: from the deployed function's environment when ``--stack`` is
    given, else from this shell's environment (the same variables as the functions)."""
    if stack is None:
        if "SOURCE_REGION" not in os.environ:
            raise ConfigurationError(
                "which stack? pass --stack NAME --region REGION (e.g. --stack rds-backup-dev "
                "--region eu-west-1) to read its configuration, or export its variables"
            )
        return load_settings()
    if region is None:
        raise ConfigurationError(
            "--stack needs a region, the one the stack is deployed in: pass --region, set "
            "AWS_REGION, or give the profile a region"
        )
    function = f"{stack}-{CONFIG_FUNCTION}"
    try:
        config = aws.client("lambda", region).get_function_configuration(FunctionName=function)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise ConfigurationError(
                f"no function {function} in {region}: is stack {stack} deployed there? "
                "(check --stack and --region)"
            ) from error
        raise
    return parse_settings(config.get("Environment", {}).get("Variables", {}))


def archive_name(settings: Settings) -> str:
    return f"{settings.stack_name}-chain"


# The stack's rules that react to chain events (``<stack>-<suffix>``, infra/functions/*.yml;
# tests/infra/test_edges.py checks this list against the packaged template). A replay or a
# redrive reaches these and nothing else on the bus.
CHAIN_RULES = (
    "backup-requested",
    "snapshot-created",
    "cluster-snapshot-created",
    "copy-finished",
    "cluster-copy-finished",
    "cluster-copy-check",
    "run-outcome",
    "cluster-run-outcome",
    "snapshot-quota",
    "handler-failed",
    "drill-events",
    "drill-check",
    "drill-finished",
    "vault-share",  # share_vault (docs/VAULT.md): a copy became available
    "vault-copied",  # share_vault: the vault holds its copy
)


def chain_rule_arns(events: Any, settings: Settings, bus: str = "default") -> dict[str, str]:
    """This stack's chain rules on ``bus`` as deployed: rule name -> ARN. Names are
    matched exactly (``rds-backup-prod-`` is also the start of ``rds-backup-prod-eu-``)."""
    wanted = {f"{settings.stack_name}-{suffix}" for suffix in CHAIN_RULES}
    found: dict[str, str] = {}
    paginator = events.get_paginator("list_rules")
    for page in paginator.paginate(NamePrefix=f"{settings.stack_name}-", EventBusName=bus):
        for rule in page.get("Rules", []):
            if rule.get("Name") in wanted:
                found[rule["Name"]] = rule["Arn"]
    return found
