"""`rds-backup redrive` and `rds-backup replay` against the local AWS, in the open: redrive
hands parked events to the local Lambda runner's invocation queues (moto cannot run our
handlers), replay reaches only this stack's chain rules (the local AWS honours FilterArns)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from rds_backup.cli import main
from rds_backup.local.harness import STACK_NAME, LocalAws
from rds_backup.local.server import FAKE_CREDENTIALS
from tests.e2e.support import PREFIX, emails_about, exports_of, local_up, run_nightly
from tests.support import ACCOUNT, rds_event

SOURCE, TARGET = "us-east-1", "us-west-2"
NOTIFY_DLQ = f"{STACK_NAME}-notify-failure-dlq"
FORWARD_DLQ = f"{STACK_NAME}-forward-dlq"
RULE_DLQ = f"{STACK_NAME}-rule-target-dlq"


def _queue(local_aws: LocalAws, region: str, name: str) -> tuple[Any, str]:
    sqs = local_aws.server.client("sqs", region)
    return sqs, sqs.get_queue_url(QueueName=name)["QueueUrl"]


def _depth(local_aws: LocalAws, region: str, name: str) -> int:
    sqs, url = _queue(local_aws, region, name)
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def _park(
    local_aws: LocalAws, region: str, queue: str, event: dict[str, Any], **attrs: str
) -> None:
    """What EventBridge puts in a rule target's DLQ: the event, and why in attributes."""
    sqs, url = _queue(local_aws, region, queue)
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(event),
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attrs.items()
        },
    )


def test_given_notify_failures_parked_when_fixed_and_redriven_then_emails_go_and_dlq_empties(
    local_aws: LocalAws, operator
) -> None:
    # given: SES refused the sender, notify ran out of retries: its DLQ holds the records
    local_aws.configure(SENDER_EMAIL="not-verified@example.com")
    run_nightly(local_aws)
    parked = _depth(local_aws, SOURCE, NOTIFY_DLQ)
    assert parked == 4  # 0060 and 0161 for each of the two databases
    local_aws.configure(SENDER_EMAIL=local_aws.spec.sender_email)  # the fix

    # when: a dry run first, then the redrive
    code, out, _ = operator("redrive", "--dry-run", "--json")
    dry = json.loads(out)
    assert code == 0
    assert dry["invoked"] == 0
    assert _depth(local_aws, SOURCE, NOTIFY_DLQ) == parked  # nothing changed
    would = [m for q in dry["queues"] for m in q["messages"] if m["action"] == "would invoke"]
    assert len(would) == parked
    assert {f for m in would for f in m["functions"]} == {f"{STACK_NAME}-notify"}

    code, out, _ = operator("redrive", "--json")
    local_aws.run_until_quiet()

    # then: every record went back to notify, was deleted, and each run's email went once
    assert code == 0
    assert json.loads(out)["invoked"] == parked
    assert _depth(local_aws, SOURCE, NOTIFY_DLQ) == 0
    found = local_aws.inventory()
    for database in ("orders", "billing"):
        assert [m.outcome for m in emails_about(found, database)] == ["success"]


def test_given_an_rds_event_the_forwarder_parked_when_redriven_then_each_matching_function_runs(
    local_aws: LocalAws, operator
) -> None:
    # given: the copy finished in the target region, but its RDS-EVENT-0060 never reached
    # the source bus (the forwarder's DLQ holds it); PutEvents would refuse source aws.rds
    local_aws.emulator.knobs.drop.add("RDS-EVENT-0060")
    run = run_nightly(local_aws)
    local_aws.emulator.knobs.drop.clear()
    snapshot = f"{PREFIX}-orders-{run}"
    assert exports_of(local_aws.inventory(), "orders", run) == []
    event = rds_event("RDS-EVENT-0060", TARGET, snapshot)
    forwarder = f"arn:aws:events:{TARGET}:{ACCOUNT}:rule/{STACK_NAME}-forward-to-source"
    source_bus = f"arn:aws:events:{SOURCE}:{ACCOUNT}:event-bus/default"
    _park(local_aws, TARGET, FORWARD_DLQ, event, RULE_ARN=forwarder, TARGET_ARN=source_bus)

    # when
    code, out, _ = operator("redrive", "--json")
    local_aws.run_until_quiet()

    # then: the functions whose chain rules match a 0060 got it, as the bus would deliver it
    assert code == 0
    (row,) = [m for q in json.loads(out)["queues"] for m in q["messages"] if "functions" in m]
    assert sorted(row["functions"]) == sorted(
        f"{STACK_NAME}-{name}"
        for name in ("copy_snapshot", "export_snapshot", "notify", "share_vault")
    )
    assert row["action"] == "invoked"
    assert _depth(local_aws, TARGET, FORWARD_DLQ) == 0
    assert [e.status for e in exports_of(local_aws.inventory(), "orders", run)] == ["COMPLETE"]
    assert [m.outcome for m in emails_about(local_aws.inventory(), "orders")] == ["success"]


def _backup_requested(databases: list[str]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "0d9e3c1a-9a43-4f4e-8a43-3b1f6f0c2d11",
        "detail-type": "Backup Requested",
        "source": "rds-backup",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": SOURCE,
        "resources": [],
        "detail": {"databases": databases, "reason": "parked"},
    }


def test_given_an_event_eventbridge_could_not_deliver_when_redriven_then_its_target_runs_it(
    local_aws: LocalAws, operator
) -> None:
    # given: EventBridge gave up delivering a "Backup Requested" to start_backup
    event = _backup_requested(["orders"])
    function = f"arn:aws:lambda:{SOURCE}:{ACCOUNT}:function:{STACK_NAME}-start_backup"
    rule = f"arn:aws:events:{SOURCE}:{ACCOUNT}:rule/{STACK_NAME}-backup-requested"
    _park(local_aws, SOURCE, RULE_DLQ, event, RULE_ARN=rule, TARGET_ARN=function)

    # when
    code, _, _ = operator("redrive")
    local_aws.run_until_quiet()

    # then
    assert code == 0
    assert _depth(local_aws, SOURCE, RULE_DLQ) == 0
    assert [m.outcome for m in emails_about(local_aws.inventory(), "orders")] == ["success"]
    assert emails_about(local_aws.inventory(), "billing") == []


def test_given_a_message_for_another_stacks_function_when_redriven_then_it_is_left_and_named(
    local_aws: LocalAws, operator
) -> None:
    event = rds_event("RDS-EVENT-0042", SOURCE, f"{PREFIX}-orders-20261125-0300")
    foreign = f"arn:aws:lambda:{SOURCE}:{ACCOUNT}:function:someone-else"
    _park(local_aws, SOURCE, RULE_DLQ, event, TARGET_ARN=foreign)

    code, _, err = operator("redrive")

    assert code == 1
    assert "could not be re-driven" in err
    assert _depth(local_aws, SOURCE, RULE_DLQ) == 1  # kept for a person to look at


def test_given_another_teams_rule_on_the_bus_when_replayed_then_only_our_chain_rules_receive(
    local_aws: LocalAws, operator
) -> None:
    # given: a finished night, and another team's rule on the default bus for RDS events
    run_nightly(local_aws)
    events = local_aws.server.client("events", SOURCE)
    sqs = local_aws.server.client("sqs", SOURCE)
    theirs = sqs.create_queue(QueueName="other-team-rds-events")["QueueUrl"]
    events.put_rule(Name="other-team-rds", EventPattern=json.dumps({"source": ["aws.rds"]}))
    events.put_targets(
        Rule="other-team-rds",
        Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{SOURCE}:{ACCOUNT}:other-team-rds-events"}],
    )
    now = datetime.now(UTC)

    # when: the operator replays (the local AWS replays the whole archive, window or not)
    code, out, _ = operator(
        "replay", "--since", (now - timedelta(hours=2)).isoformat(), "--json", "--timeout", "30"
    )
    local_aws.run_until_quiet()

    # then: FilterArns named our chain rules only; the other team's queue received nothing
    assert code == 0
    summary = json.loads(out)
    assert summary["state"] == "COMPLETED"
    assert f"{STACK_NAME}-snapshot-created" in summary["rules"]
    assert "other-team-rds" not in summary["rules"]
    # and: the one count EventBridge gives (the archive's, not the window's) is told
    assert summary["archive_event_count"] > 0
    received = sqs.receive_message(QueueUrl=theirs, MaxNumberOfMessages=10)
    assert received.get("Messages", []) == []


def test_given_a_window_ending_now_when_replayed_then_its_end_is_clamped_and_it_says_why(
    local_aws: LocalAws, operator
) -> None:
    now = datetime.now(UTC)

    code, out, _ = operator("replay", "--since", (now - timedelta(hours=1)).isoformat())

    assert code == 0
    assert "--until clamped to" in out
    assert "at least 10 minutes ago" in out


def test_given_a_window_starting_minutes_ago_when_replayed_then_it_is_refused_with_when_to_retry(
    local_aws: LocalAws, operator
) -> None:
    now = datetime.now(UTC)

    code, _, err = operator("replay", "--since", (now - timedelta(minutes=3)).isoformat())

    assert code == 1
    assert "may not have archived its events yet" in err
    assert "retry after" in err


def test_given_local_up_in_another_process_when_a_parked_event_is_redriven_then_its_run_completes(
    templates, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # given: `rds-backup local up` serving in its own process, and an event EventBridge
    # could not deliver to start_backup parked in the rule-target DLQ
    with local_up() as up:
        for name, value in FAKE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_DEFAULT_REGION", SOURCE)
        sqs = boto3.client("sqs", region_name=SOURCE, endpoint_url=up.url)
        url = sqs.get_queue_url(QueueName=RULE_DLQ)["QueueUrl"]
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(_backup_requested(["orders"])),
            MessageAttributes={
                "TARGET_ARN": {
                    "DataType": "String",
                    "StringValue": f"arn:aws:lambda:{SOURCE}:{ACCOUNT}:function:"
                    f"{STACK_NAME}-start_backup",
                }
            },
        )
        stack = ["--stack", STACK_NAME, "--region", SOURCE, "--endpoint-url", up.url]

        # when: the operator redrives from this process
        code = main(["redrive", *stack, "--json"])
        redriven = json.loads(capsys.readouterr().out)

        # then: the local runner over there ran the chain to the end
        deadline = time.monotonic() + 120
        outcomes: list[str] = []
        while time.monotonic() < deadline and outcomes != ["succeeded"]:
            time.sleep(2)
            assert main(["status", *stack, "--json"]) == 0
            runs = json.loads(capsys.readouterr().out)["runs"]
            outcomes = [r["outcome"] for r in runs if r["database"] == "orders"]
    assert code == 0
    assert redriven["invoked"] == 1
    assert outcomes == ["succeeded"]
    assert up.process.returncode == 0
