"""The functions' environment is the README's configuration, and its package-time defaults
are valid settings (so a packaged-but-unconfigured stack fails loudly nowhere but deploy)."""

from __future__ import annotations

import pytest

from rds_backup.settings import Settings, parse_settings
from tests.infra.conftest import Packaged
from tests.infra.support import functions, resolve

EXTRA = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}


def _settings_names() -> set[str]:
    return {field.alias for field in Settings.model_fields.values() if field.alias}


@pytest.mark.parametrize(
    "handler",
    ["start_backup", "copy_snapshot", "export_snapshot", "notify", "cleanup", "reconcile"],
)
def test_given_a_function_when_packaged_then_its_environment_names_every_setting(
    main_stack: Packaged, handler: str
) -> None:
    _, body = functions(main_stack.template)[handler]
    variables = body["Properties"]["Environment"]["Variables"]
    assert set(variables) == _settings_names() | EXTRA
    assert variables["STACK_NAME"] == "rds-backup-dev"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "RdsBackup"


def test_given_the_package_time_defaults_when_validated_then_they_are_valid_settings(
    main_stack: Packaged,
) -> None:
    _, body = functions(main_stack.template)["notify"]
    environment = {
        key: str(resolve(value))
        for key, value in body["Properties"]["Environment"]["Variables"].items()
    }
    settings = parse_settings(environment)
    assert settings.source_region == "us-east-1"
    assert settings.target_region == "us-west-2"
    assert settings.export_role_arn == "arn:aws:iam::123456789012:role/rds-backup-dev-rds-export"
    assert settings.idempotency_table
