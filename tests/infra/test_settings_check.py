"""Package-time checks cannot drift from the handlers' validation: infra/checks.js runs the
handlers' own Settings validation (``python -m rds_backup.settings --check``) on the
environment serverless.yml gives the functions, so every setting a handler refuses also
fails packaging, with the handler's message.

Cheap on purpose: the plugin function is called by node exactly as osls calls it (with a
``resolveConfigurationProperty`` that resolves infra/config.yml as osls does: param, then
environment variable, then the default), for every invalid value in one node process; one
real ``serverless package`` run shows the whole path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rds_backup.local import packaging
from rds_backup.settings import ConfigError, parse_settings
from tests.infra.conftest import Packaged
from tests.infra.support import functions, resolve

ROOT = Path(__file__).resolve().parents[2]
CONFIG_LINE = re.compile(r"^(\w+): \$\{param:\w+, env:([A-Z0-9_]+), '([^']*)'\}", re.MULTILINE)
SOURCE_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TARGET_KEY = SOURCE_KEY.replace("us-east-1", "us-west-2")

# Every kind of value the handlers refuse (single variables and the rules between them).
INVALID: dict[str, dict[str, str]] = {
    "single-region key from the source region": {"KMS_KEY_ID": SOURCE_KEY},
    "same region twice": {"TARGET_REGION": "us-east-1"},
    "copy into China": {"TARGET_REGION": "cn-north-1"},
    "GovCloud to commercial": {"SOURCE_REGION": "us-gov-west-1"},
    "not a region": {"SOURCE_REGION": "europe"},
    "database identifier": {"DB_IDENTIFIER": "orders--eu"},
    "bucket name": {"SOURCE_BUCKET": "Not_A_Bucket"},
    "admin email": {"ADMIN_EMAIL": "dba-at-example.com"},
    "sender email": {"SENDER_EMAIL": "nobody"},
    "retention": {"RETENTION_DAYS": "0"},
    "export spread": {"EXPORT_EVERY_DAYS": "40"},
    "export hours": {"EXPORT_HOURS_ESTIMATE": "-1"},
    "empty export prefix": {"EXPORT_S3_PREFIX": "/"},
    "snapshot prefix": {"SNAPSHOT_PREFIX": "Nightly_Backups"},
    "boolean": {"KEEP_SOURCE_SNAPSHOT": "maybe"},
    "source exports without a source key": {
        "KMS_KEY_ID": TARGET_KEY,
        "STORE_TO_SOURCE_S3": "true",
    },
    "database key in the wrong region": {"DB_KMS_KEY_IDS": TARGET_KEY},
    "configuration set name": {"SES_CONFIGURATION_SET": "has spaces"},
    "event bus name": {"EVENT_BUS_NAME": "bus/with/slash"},
    "export role": {"EXPORT_ROLE_ARN": "arn:aws:iam::123:role/x"},
}

# osls' call of a variables file: the exported function, given resolveConfigurationProperty.
NODE_HARNESS = """
const checks = require(process.argv[1]);
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const results = [];
  for (const { config, environment } of cases) {
    const values = {
      'custom.config': config,
      'custom.stackName': 'rds-backup-dev',
      'provider.environment': environment,
    };
    const resolveConfigurationProperty = async (path) => values[path.join('.')];
    try {
      results.push({ ok: await checks({ resolveConfigurationProperty }) });
    } catch (error) {
      results.push({ error: error.message });
    }
  }
  process.stdout.write(JSON.stringify(results));
})();
"""


def _config(overrides: dict[str, str]) -> dict[str, str]:
    """infra/config.yml resolved as osls does with these environment variables set."""
    text = (ROOT / "infra" / "config.yml").read_text(encoding="utf-8")
    return {key: overrides.get(env, default) for key, env, default in CONFIG_LINE.findall(text)}


def _function_environment(main: Packaged) -> dict[str, Any]:
    """provider.environment as osls resolves it: strings, and CloudFormation references."""
    _, notify = functions(main.template)["notify"]
    variables: dict[str, Any] = notify["Properties"]["Environment"]["Variables"]
    return dict(variables)


def _plugin_results(cases: list[dict[str, Any]]) -> list[dict[str, str]]:
    result = subprocess.run(
        ["node", "-e", NODE_HARNESS, str(ROOT / "infra" / "checks.js")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHON": sys.executable},
        timeout=300,
    )
    results: list[dict[str, str]] = json.loads(result.stdout)
    return results


@pytest.fixture(scope="module")
def plugin(main_stack: Packaged) -> dict[str, dict[str, str]]:
    """What infra/checks.js answers for the defaults and for every invalid case."""
    environment = _function_environment(main_stack)
    names = ["defaults", *INVALID]
    cases = [
        {"config": _config(overrides), "environment": environment | overrides}
        for overrides in [{}, *INVALID.values()]
    ]
    return dict(zip(names, _plugin_results(cases), strict=True))


def _handler_error(main: Packaged, overrides: dict[str, str]) -> str:
    environment = {
        key: str(resolve(value)) for key, value in _function_environment(main).items()
    } | overrides
    with pytest.raises(ConfigError) as raised:
        parse_settings(environment)
    return str(raised.value)


def test_given_the_package_time_defaults_when_checked_then_packaging_accepts_them(
    plugin: dict[str, dict[str, str]],
) -> None:
    assert plugin["defaults"] == {"ok": "ok"}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_given_a_setting_the_handlers_refuse_when_packaged_then_packaging_fails_with_their_words(
    main_stack: Packaged, plugin: dict[str, dict[str, str]], case: str
) -> None:
    # given: the handlers refuse it at start
    handler_message = _handler_error(main_stack, INVALID[case])

    # when: the package-time check runs, as osls calls it
    answer = plugin[case]

    # then: packaging fails, with the handlers' own message (every problem, same words)
    assert "error" in answer, answer
    assert answer["error"].startswith(handler_message), (answer["error"], handler_message)


def test_given_the_issues_example_when_really_packaged_then_serverless_package_fails_with_it(
    tmp_path: Path,
) -> None:
    # given: a single-region KMS_KEY_ID from the source region (copies are in the target)
    settings = {"KMS_KEY_ID": SOURCE_KEY, "PYTHON": sys.executable}

    # when / then: `serverless package` refuses, naming the variable and the fix
    with pytest.raises(packaging.PackagingError) as raised:
        packaging.package_variant("main", settings, tmp_path)

    output = str(raised.value)
    assert "rds-backup configuration is invalid (1 problems):" in output
    assert "KMS_KEY_ID: key ARN is in us-east-1 but copies and exports are" in output
    assert "set TARGET_KMS_KEY_ID" in output


def test_given_the_target_stack_and_a_china_target_when_packaged_then_it_fails_too(
    tmp_path: Path,
) -> None:
    with pytest.raises(packaging.PackagingError, match="China Regions"):
        packaging.package_variant(
            "target", {"TARGET_REGION": "cn-north-1", "PYTHON": sys.executable}, tmp_path
        )
