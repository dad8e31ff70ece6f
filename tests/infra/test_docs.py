"""docs/DEPLOY.md names rules, alarms and the archive as the templates create them."""

from __future__ import annotations

import re
from pathlib import Path

from tests.infra.conftest import Packaged
from tests.infra.support import resources

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "DEPLOY.md"


def _names(stack: Packaged, kind: str, prop: str) -> set[str]:
    return {
        str(body["Properties"][prop]).removeprefix("rds-backup-dev-")
        for body in resources(stack.template, kind).values()
    }


def test_given_the_deploy_guide_when_it_names_rules_and_alarms_then_the_templates_have_them(
    main_stack: Packaged, target_stack: Packaged
) -> None:
    text = DEPLOY.read_text(encoding="utf-8")
    rules = _names(main_stack, "AWS::Events::Rule", "Name")
    alarms = _names(main_stack, "AWS::CloudWatch::Alarm", "AlarmName") | _names(
        target_stack, "AWS::CloudWatch::Alarm", "AlarmName"
    )
    # One dead-man's-switch alarm per database: the guide names them no-backup-<database>;
    # the fleet's two (no-backup-fleet, no-backup-coverage) by their names.
    alarms = {re.sub(r"^no-backup-(?!fleet$|coverage$).+$", "no-backup-", a) for a in alarms}
    archives = _names(main_stack, "AWS::Events::Archive", "ArchiveName")
    mentioned_rules = set(re.findall(r"rule/rds-backup-(?:prod|<stage>)-([a-z-]+)", text))
    # The first column of the alarms table.
    mentioned_alarms = set(re.findall(r"^\| `rds-backup-<stage>-([a-z-]+)`", text, re.MULTILINE))
    assert mentioned_rules
    assert mentioned_rules <= rules
    assert set(re.findall(r"archive/rds-backup-prod-([a-z-]+)", text)) <= archives
    assert len(mentioned_alarms) == len(alarms)
    assert mentioned_alarms == alarms
