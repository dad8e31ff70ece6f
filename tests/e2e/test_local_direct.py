"""The fleet benchmark's in-process dispatch (rds_backup/local/direct.py) answers exactly what
the loopback wire answers: the same parsed answers, the same errors, the same night."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from rds_backup.local.bench import fleet as bench
from rds_backup.local.server import FAKE_CREDENTIALS, HARNESS_CONFIG, LocalServer

REGION = "us-east-1"
SERVER_ADDED = {"connection", "date", "server", "access-control-allow-origin"}


@pytest.fixture
def direct_server() -> Iterator[LocalServer]:
    server = LocalServer()
    server.dispatch_in_process()
    yield server
    server.stop()


def client(server: LocalServer, service: str) -> object:
    """A client from a new session (built-in handlers are read when a session is made)."""
    return boto3.session.Session(**{k.lower(): v for k, v in FAKE_CREDENTIALS.items()}).client(
        service, region_name=REGION, endpoint_url=server.url, config=HARNESS_CONFIG
    )


def answers(rds, s3) -> dict[str, object]:
    rds.create_db_instance(
        DBInstanceIdentifier="orders", DBInstanceClass="db.t3.micro", Engine="postgres"
    )
    rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="orders-1")
    s3.create_bucket(Bucket="exports")
    s3.put_object(Bucket="exports", Key="a/b.parquet", Body=b"\x00PAR1" * 1000)
    with pytest.raises(ClientError) as missing:
        rds.describe_db_snapshots(DBSnapshotIdentifier="nope")
    described = rds.describe_db_snapshots()
    snapshots = described["DBSnapshots"]
    fetched = s3.get_object(Bucket="exports", Key="a/b.parquet")
    for snapshot in snapshots:
        snapshot.pop("SnapshotCreateTime", None)
        snapshot.pop("InstanceCreateTime", None)
        snapshot.pop("OriginalSnapshotCreateTime", None)
    return {
        "snapshots": snapshots,
        "error": missing.value.response["Error"],
        "status": missing.value.response["ResponseMetadata"]["HTTPStatusCode"],
        "object": fetched["Body"].read(),
        # The application's headers (names: dates and request ids differ per call). Not
        # compared: what the HTTP server adds (connection, date, its own server name) and
        # flask_cors's header for browsers, which the in-process path leaves out.
        "headers": [
            sorted(set(answer["ResponseMetadata"]["HTTPHeaders"]) - SERVER_ADDED)
            for answer in (described, fetched)
        ],
        "content_type": fetched["ContentType"],
        "head_length": s3.head_object(Bucket="exports", Key="a/b.parquet")["ContentLength"],
        "missing_key": _error(lambda: s3.get_object(Bucket="exports", Key="none")),
        "listing": [o["Key"] for o in s3.list_objects_v2(Bucket="exports")["Contents"]],
    }


def _error(call) -> dict[str, object]:
    with pytest.raises(ClientError) as raised:
        call()
    return {
        "error": raised.value.response["Error"],
        "status": raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


def test_given_the_same_calls_when_sent_in_process_or_over_loopback_then_the_answers_are_equal(
    direct_server: LocalServer,
):
    wire = LocalServer()
    wire.reset()
    try:
        over_loopback = answers(client(wire, "rds"), client(wire, "s3"))
    finally:
        wire.stop()

    direct_server.reset()  # moto's state is the process's: both servers share it
    in_process = answers(client(direct_server, "rds"), client(direct_server, "s3"))

    assert in_process == over_loopback
    assert in_process["error"]["Code"] == "DBSnapshotNotFound"


def test_given_a_small_fleet_when_benched_in_process_then_the_night_is_the_loopback_night(
    local_server: LocalServer, direct_server: LocalServer
):
    over_loopback = bench.fleet_row(local_server, "moderate", 3)

    in_process = bench.fleet_row(direct_server, "moderate", 3)

    assert in_process == over_loopback
    assert in_process["success_emails"] == 3


def _one_route_app(callback) -> object:
    """moto's shape of a server: a dispatcher whose service app has one moto view."""
    from flask import Flask
    from moto.core.utils import convert_to_flask_response
    from moto.moto_server.werkzeug_app import BackendRequest

    service = Flask("one-route")
    service.request_class = BackendRequest
    service.add_url_rule(
        "/", endpoint="only", view_func=convert_to_flask_response(callback), methods=["POST"]
    )

    class Dispatcher:
        def get_application(self, environ):
            return service

        def __call__(self, environ, start_response):
            return service(environ, start_response)

    return Dispatcher()


def _answered_both_ways(callback) -> list[tuple[str, bytes]]:
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    from rds_backup.local import direct

    app = _one_route_app(callback)
    answers = []
    for answer in (direct._answer, lambda a, e: run_wsgi_app(a, e, buffered=True)):
        environ = EnvironBuilder(method="POST", path="/", data=b"Action=Go").get_environ()
        chunks, status, _ = answer(app, environ)
        answers.append((status, b"".join(chunks)))
    return answers


def _view(outcome: str):
    from moto.core.exceptions import JsonRESTError

    def view(request, url, headers):
        if outcome == "client error":  # moto calling another service that refused
            raise ClientError({"Error": {"Code": "Nope", "Message": "refused"}}, "Go")
        if outcome == "http exception":  # moto's own errors are werkzeug HTTP exceptions
            raise JsonRESTError("InvalidParameterValue", "bad value")
        return 200, {"x-amzn-requestid": "r"}, "<GoResponse/>"

    return view


@pytest.mark.parametrize(
    ("outcome", "status", "said"),
    [
        ("answer", "200 OK", b"<GoResponse/>"),
        ("client error", "400 BAD REQUEST", b"refused"),
        ("http exception", "400 BAD REQUEST", b"bad value"),
    ],
)
def test_given_each_way_a_moto_view_ends_when_answered_in_process_then_flask_answers_the_same(
    outcome, status, said
):
    in_process, through_flask = _answered_both_ways(_view(outcome))

    assert in_process == through_flask
    assert in_process[0] == status
    assert said in in_process[1]


def test_given_a_path_no_route_matches_when_answered_in_process_then_flask_answers_404():
    from werkzeug.test import EnvironBuilder

    from rds_backup.local import direct

    environ = EnvironBuilder(method="POST", path="/elsewhere").get_environ()

    _, status, _ = direct._answer(_one_route_app(_view("answer")), environ)

    assert status.startswith("404")
