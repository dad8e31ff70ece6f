"""probe_drill: inside the drill network (target region), connect to a drill's restored
database with the drill's own credentials and run its SQL checks (rds_backup/drills/probe.py
asks; rds_backup/model/drills.py judges what it answers).

The password is read here from the secret RDS manages for the drill instance (its ARN comes
in the request; Secrets Manager's ``GetSecretValue`` on RDS's ``rds!`` secrets only) and is
never returned, logged or passed on. Each statement runs in a read-only session with a
statement timeout; its answer is the first column of its first row, as JSON can carry it
(numbers, strings, ISO 8601 times). A connection that fails is an answer too (``error``),
so the drill is told as failed at the probe with the reason, instead of a silent retry.

Drivers (pure Python, in the dependency layer): pg8000 for PostgreSQL engines (RDS for
PostgreSQL, Aurora PostgreSQL), PyMySQL for MySQL-compatible ones (MySQL, MariaDB, Aurora
MySQL). Other engines (Oracle, SQL Server, Db2) are not probed: their drills check structure
only and say so.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rds_backup.aws import Aws
from rds_backup.observability import logger

CONNECT_TIMEOUT = 15  # seconds
STATEMENT_TIMEOUT_MS = 30_000
POSTGRES = ("postgres", "aurora-postgresql")
MYSQL = ("mysql", "mariadb", "aurora-mysql", "aurora")
Connect = Callable[[str, int, str, str, str], Any]


def probe(request: Mapping[str, Any], aws: Aws, region: str) -> dict[str, Any]:
    """Run the request's checks; the answers (never the password). With no checks, one
    ``SELECT 1`` proves the database answers."""
    begun = time.monotonic()
    engine = str(request.get("engine", ""))
    connect = driver_for(engine)
    if connect is None:
        return {"error": f"the probe has no driver for engine {engine!r}", "answers": []}
    try:
        user, password = _credentials(aws, region, str(request.get("secret_arn", "")))
    except Exception as error:  # noqa: BLE001 - told as the drill's failure, not retried
        return {"error": f"could not read the drill's secret: {_why(error)}", "answers": []}
    user = user or str(request.get("user", ""))
    default = str(request.get("dbname") or "")
    checks = list(request.get("checks") or []) or [{"name": "", "sql": "SELECT 1"}]
    answers: list[dict[str, Any]] = []
    first: float | None = None
    connections: dict[str, Any] = {}
    try:
        for check in checks:
            dbname = str(check.get("dbname") or default)
            try:
                if dbname not in connections:
                    connections[dbname] = connect(
                        str(request["host"]), int(request["port"]), user, password, dbname
                    )
            except Exception as error:  # noqa: BLE001 - no connection: the drill's failure
                return {"error": f"could not connect: {_why(error)}", "answers": answers}
            try:
                value = _first_value(connections[dbname], str(check["sql"]), engine)
            except Exception as error:  # noqa: BLE001 - one check's failure is its answer
                answers.append({"name": check["name"], "error": _why(error)})
                continue
            first = first if first is not None else round(time.monotonic() - begun, 3)
            if check["name"]:
                answers.append({"name": check["name"], "value": _plain(value)})
    finally:
        for connection in connections.values():
            with contextlib.suppress(Exception):
                connection.close()
    logger.info("drill probed", checks=len(answers), first_answer_seconds=first)
    return {"answers": answers, "first_answer_seconds": first}


def _why(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def driver_for(engine: str) -> Connect | None:
    """The connect function for ``engine`` (the local AWS replaces this map's entries in the
    open when its databases are PostgreSQL underneath: docs/LOCAL_AWS.md)."""
    if engine in DRIVERS:
        return DRIVERS[engine]
    # RDS engine names (RDS API Reference, CreateDBInstance, Engine): postgres,
    # aurora-postgresql; mysql, mariadb, aurora-mysql (and "aurora", Aurora MySQL 1).
    if engine in POSTGRES or engine.startswith("postgres"):
        return DRIVERS["postgres"]
    if engine in MYSQL or engine.startswith(("mysql", "mariadb", "aurora-mysql")):
        return DRIVERS["mysql"]
    return None


def _postgres(host: str, port: int, user: str, password: str, dbname: str) -> Any:
    import pg8000.dbapi

    connection = pg8000.dbapi.connect(
        host=host,
        port=port,
        user=user,
        password=password,
        database=dbname or "postgres",
        timeout=CONNECT_TIMEOUT,
        ssl_context=None,
    )
    cursor = connection.cursor()
    cursor.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    cursor.execute("SET default_transaction_read_only = on")
    return connection


def _mysql(host: str, port: int, user: str, password: str, dbname: str) -> Any:
    import pymysql

    connection = pymysql.connect(
        host=host,
        port=port,
        user=user,
        password=password,
        database=dbname or None,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=STATEMENT_TIMEOUT_MS // 1000,
    )
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
    return connection


DRIVERS: dict[str, Connect] = {"postgres": _postgres, "mysql": _mysql}


def _first_value(connection: Any, sql: str, engine: str) -> Any:
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        row = cursor.fetchone()
    finally:
        cursor.close()
    if engine in MYSQL:
        connection.commit()
    return row[0] if row else None


def _credentials(aws: Aws, region: str, secret_arn: str) -> tuple[str, str]:
    """The username and password RDS keeps in the drill's secret (a JSON document with
    ``username`` and ``password``: RDS User Guide, "Password management with Amazon RDS and
    AWS Secrets Manager")."""
    if not secret_arn:
        raise ValueError("the request names no secret")
    secret = aws.client("secretsmanager", region).get_secret_value(SecretId=secret_arn)
    document = json.loads(secret.get("SecretString") or "{}")
    return str(document.get("username", "")), str(document["password"])


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
