"""A real database behind the local AWS's DB instances: PostgreSQL (pgserver), so a snapshot
holds the rows of its moment, a restore brings them back under a new endpoint, and a restore
drill's SQL checks run over the wire (pg8000, TCP).

moto keeps RDS's records but no data. With the engine on (``LocalAws(engine=True)``):

- each PostgreSQL DB instance in the local AWS is a database of one PostgreSQL server
  (started once per world, lazily), seeded with rows for the source databases
  (``orders``: one row per order, ``created_at``);
- CreateDBSnapshot keeps a copy of that database as of its call (``CREATE DATABASE …
  TEMPLATE``); CopyDBSnapshot (cross-region, cross-account) shares its data;
- RestoreDBInstanceFromDBSnapshot loads it into a new database, reached at its own
  endpoint: ``127.0.0.1:<port>``, a small TCP relay that presents the instance as a server
  of its own (the client's ``database`` and ``user`` are mapped to the instance's, as a
  separate RDS server would hold them). Its master user logs in with the password of the
  RDS-managed secret once ManageMasterUserPassword is set (RDS User Guide, "Password
  management with Amazon RDS and AWS Secrets Manager": RDS creates the secret ``rds!db-…``
  holding ``username`` and ``password``); the relay's server checks it (scram-sha-256);
- DeleteDBInstance drops the database and closes its endpoint.

Restore time: in timed mode a restored instance is ``creating`` for the profile's
``restore`` duration (growing with the database's size, profiles.py) and RDS-EVENT-0043
"Restored from snapshot …" and RDS-EVENT-0005 "DB instance created." follow it, 0003 "DB
instance deleted." a deletion (texts: RDS User Guide, "Amazon RDS event categories and
event messages"); in instant mode they follow at once. Only PostgreSQL engines are backed;
other engines keep moto's record-only behaviour.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import socket
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from moto.rds.models import DBInstance, RDSBackend, rds_backends
from moto.secretsmanager.models import secretsmanager_backends

SSL_REQUEST = 80877103
PROTOCOL_3 = 196608
POSTGRES_ENGINES = ("postgres", "aurora-postgresql")
RESTORED = ("RDS-EVENT-0043", "restoration", "Restored from snapshot {snapshot}.")
CREATED = ("RDS-EVENT-0005", "creation", "DB instance created.")
DELETED = ("RDS-EVENT-0003", "deletion", "DB instance deleted.")
Emit = Callable[[str, str, str, str, str, str], None]  # account, region, id, arn, event, text


def _name(*parts: str) -> str:
    """A PostgreSQL identifier for a local AWS resource (at most 63 bytes)."""
    text = "_".join(parts).lower()
    return "d" + hashlib.sha256(text.encode()).hexdigest()[:30]


@dataclass
class Endpoint:
    """One restored or seeded instance reached over TCP: a relay to its database."""

    database: str
    role: str
    listener: socket.socket
    socket_path: str
    port: int = 0
    threads: list[threading.Thread] = field(default_factory=list)
    open: bool = True

    def serve(self) -> None:
        self.port = self.listener.getsockname()[1]
        thread = threading.Thread(target=self._accept, name=f"pg-relay-{self.port}", daemon=True)
        thread.start()
        self.threads.append(thread)

    def close(self) -> None:
        self.open = False
        with contextlib.suppress(OSError):
            self.listener.close()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            startup = _read_message(client)
            if _code(startup) == SSL_REQUEST:  # no TLS on the loopback relay
                client.sendall(b"N")
                startup = _read_message(client)
            server.connect(self.socket_path)
            server.sendall(_rewritten(startup, self.database, self.role))
        except OSError:
            client.close()
            server.close()
            return
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _read_message(conn: socket.socket) -> bytes:
    head = _exactly(conn, 4)
    (length,) = struct.unpack("!I", head)
    return head + _exactly(conn, length - 4)


def _exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed during the startup message")
        data += chunk
    return data


def _code(message: bytes) -> int:
    return int(struct.unpack("!I", message[4:8])[0])


def _rewritten(startup: bytes, database: str, role: str) -> bytes:
    """The startup message with ``database`` and ``user`` mapped to the instance's own."""
    if _code(startup) != PROTOCOL_3:
        return startup
    fields = startup[8:].split(b"\0")
    params = dict(zip(fields[0:-2:2], fields[1:-2:2], strict=True))
    params[b"database"] = database.encode()
    params[b"user"] = role.encode()
    body = b"".join(k + b"\0" + v + b"\0" for k, v in params.items()) + b"\0"
    return struct.pack("!II", len(body) + 8, PROTOCOL_3) + body


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for conn in (source, sink):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class PgEngine:
    """One PostgreSQL server for a local AWS world; databases, snapshots and endpoints."""

    def __init__(self) -> None:
        self._server: Any = None
        self._dir = tempfile.TemporaryDirectory(prefix="local-aws-pg-")
        self.instances: dict[tuple[str, str, str], Endpoint] = {}  # (account, region, id)
        self.snapshots: dict[tuple[str, str, str], str] = {}  # → its data's database
        self.lock = threading.RLock()

    # -- the server ---------------------------------------------------------------------

    @property
    def server(self) -> Any:
        if self._server is None:
            # only a world with the engine pays for starting it
            from pgserver import get_server  # type: ignore[attr-defined]

            self._server = get_server(Path(self._dir.name) / "data", cleanup_mode="stop")
            self._require_passwords()
        return self._server

    def _require_passwords(self) -> None:
        """Only the admin connects without a password (the local AWS's own work); every
        instance's master user must give its password, as on RDS."""
        data = Path(self._server.pgdata)
        (data / "pg_hba.conf").write_text("local all postgres trust\nlocal all all scram-sha-256\n")
        self.sql("postgres", "SELECT pg_reload_conf()")

    @property
    def socket_path(self) -> str:
        uri = str(self.server.get_uri())
        host = uri.split("host=", 1)[1].split("&", 1)[0]
        return f"{host}/.s.PGSQL.5432"

    def _connect(self, database: str) -> Any:
        import pg8000.native

        return pg8000.native.Connection(
            "postgres", unix_sock=self.socket_path, database=database, timeout=30
        )

    def sql(self, database: str, statement: str, **params: Any) -> list[list[Any]]:
        conn = self._connect(database)
        try:
            return list(conn.run(statement, **params) or [])
        finally:
            conn.close()

    def stop(self) -> None:
        for endpoint in self.instances.values():
            endpoint.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.cleanup()
        self._dir.cleanup()

    # -- databases ------------------------------------------------------------------------

    def create(self, key: tuple[str, str, str], master: str, rows: int | None = None) -> Endpoint:
        """A new instance's database (empty, or ``rows`` orders seeded) and its endpoint."""
        with self.lock:
            database = _name("db", *key)
            self.sql("postgres", f'CREATE DATABASE "{database}"')
            if rows is not None:
                self._seed(database, rows)
            return self._open(key, database, master)

    def _seed(self, database: str, rows: int) -> None:
        conn = self._connect(database)
        try:
            conn.run(
                "CREATE TABLE orders (id serial PRIMARY KEY, amount numeric(10,2) NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            )
            conn.run(
                "INSERT INTO orders (amount, created_at) SELECT n * 1.25, now() - "
                "make_interval(mins => :rows - n) FROM generate_series(1, :rows) AS n",
                rows=rows,
            )
        finally:
            conn.close()

    def insert_rows(self, key: tuple[str, str, str], rows: int) -> None:
        """Orders written after a snapshot (they must not appear in its restore)."""
        endpoint = self.instances[key]
        self.sql(
            endpoint.database,
            "INSERT INTO orders (amount) SELECT n * 2 FROM generate_series(1, :rows) AS n",
            rows=rows,
        )

    def count(self, key: tuple[str, str, str], statement: str) -> Any:
        rows = self.sql(self.instances[key].database, statement)
        return rows[0][0] if rows else None

    def snapshot(self, source: tuple[str, str, str], snapshot: tuple[str, str, str]) -> None:
        with self.lock:
            endpoint = self.instances.get(source)
            if endpoint is None or snapshot in self.snapshots:
                return
            data = _name("snap", *snapshot)
            self.sql("postgres", f'CREATE DATABASE "{data}" TEMPLATE "{endpoint.database}"')
            self.snapshots[snapshot] = data

    def share(self, source: tuple[str, str, str], target: tuple[str, str, str]) -> None:
        """A copy of a snapshot holds the same data (snapshots never change)."""
        if source in self.snapshots:
            self.snapshots.setdefault(target, self.snapshots[source])

    def restore(
        self, snapshot: tuple[str, str, str], key: tuple[str, str, str], master: str
    ) -> Endpoint | None:
        with self.lock:
            data = self.snapshots.get(snapshot)
            if data is None:
                return None
            database = _name("db", *key)
            self.sql("postgres", f'CREATE DATABASE "{database}" TEMPLATE "{data}"')
            return self._open(key, database, master)

    def drop(self, key: tuple[str, str, str]) -> None:
        with self.lock:
            endpoint = self.instances.pop(key, None)
            if endpoint is None:
                return
            endpoint.close()
            self.sql("postgres", f'DROP DATABASE IF EXISTS "{endpoint.database}" WITH (FORCE)')
            with contextlib.suppress(Exception):
                self.sql("postgres", f'DROP ROLE IF EXISTS "{endpoint.role}"')

    def set_password(self, key: tuple[str, str, str], password: str) -> None:
        endpoint = self.instances[key]
        self.sql(
            "postgres",
            f"ALTER ROLE \"{endpoint.role}\" WITH LOGIN PASSWORD '{password}'",
        )

    def _open(self, key: tuple[str, str, str], database: str, master: str) -> Endpoint:
        role = _name("role", *key)
        self.sql("postgres", f'CREATE ROLE "{role}" LOGIN')
        self.sql("postgres", f'GRANT ALL PRIVILEGES ON DATABASE "{database}" TO "{role}"')
        with contextlib.suppress(Exception):  # a seeded or restored one has orders
            self.sql(database, f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        endpoint = Endpoint(database, role, listener, self.socket_path)
        endpoint.serve()
        self.instances[key] = endpoint
        return endpoint


# --- moto, backed by the engine --------------------------------------------------------------


@dataclass
class Backing:
    """What the installed patches consult: the engine, how to emit, how long a restore is."""

    engine: PgEngine
    emit: Emit
    restore_time: Callable[[str, str, int], timedelta] | None = None  # (id, region, GiB)
    later: Callable[[timedelta, Callable[[], None]], None] | None = None  # timed mode


_backing: Backing | None = None
_originals: dict[str, Any] = {}
_restoring = threading.local()  # moto's restore creates its instance through create_db_instance


def use(backing: Backing | None) -> None:
    """Back moto's PostgreSQL instances with ``backing`` (None: moto's records only)."""
    global _backing
    _install()
    _backing = backing


def _key(backend: Any, identifier: str) -> tuple[str, str, str]:
    name = identifier.rsplit(":", 1)[-1].lower()
    region = identifier.split(":")[3] if identifier.startswith("arn:") else backend.region_name
    account = identifier.split(":")[4] if identifier.startswith("arn:") else backend.account_id
    return (account, region, name)


def _postgres(instance: Any) -> bool:
    return str(getattr(instance, "engine", "")).lower() in POSTGRES_ENGINES


def _install() -> None:
    if _originals:
        return
    for name in (
        "create_db_instance",
        "create_db_snapshot",
        "copy_db_snapshot",
        "restore_db_instance_from_db_snapshot",
        "delete_db_instance",
        "modify_db_instance",
    ):
        _originals[name] = getattr(RDSBackend, name)
        setattr(RDSBackend, name, globals()[f"_{name}"])
    _originals["address"] = DBInstance.address
    DBInstance.address = property(_address)  # type: ignore[assignment, method-assign]


def _address(self: Any) -> str:
    if getattr(self, "local_endpoint", None) is not None:
        return "127.0.0.1"
    return str(_originals["address"].fget(self))


def _create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
    instance = _originals["create_db_instance"](self, db_kwargs)
    backing = _backing
    if backing is not None and _postgres(instance) and not getattr(_restoring, "on", False):
        key = (self.account_id, self.region_name, instance.db_instance_identifier.lower())
        rows = seeded_rows(instance.db_instance_identifier)
        endpoint = backing.engine.create(key, instance.master_username or "app", rows)
        _attach(instance, endpoint)
        password = db_kwargs.get("master_user_password")
        if password:
            backing.engine.set_password(key, str(password))
    return instance


def seeded_rows(database: str) -> int:
    """How many orders a seeded source database holds (stable per name, 100-999)."""
    return 100 + int(hashlib.sha256(database.lower().encode()).hexdigest()[:6], 16) % 900


def _attach(instance: Any, endpoint: Endpoint) -> None:
    instance.local_endpoint = endpoint
    instance.port = endpoint.port


def _create_db_snapshot(self: Any, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
    snapshot = _originals["create_db_snapshot"](self, db_instance_identifier, *args, **kwargs)
    backing = _backing
    if backing is not None and getattr(snapshot, "snapshot_type", "manual") == "manual":
        source = (self.account_id, self.region_name, db_instance_identifier.lower())
        target = (self.account_id, self.region_name, snapshot.db_snapshot_identifier.lower())
        backing.engine.snapshot(source, target)
    return snapshot


def _copy_db_snapshot(
    self: Any,
    source_db_snapshot_identifier: str,
    target_db_snapshot_identifier: str,
    *args: Any,
    **kwargs: Any,
) -> Any:
    copy = _originals["copy_db_snapshot"](
        self, source_db_snapshot_identifier, target_db_snapshot_identifier, *args, **kwargs
    )
    backing = _backing
    if backing is not None:
        target = (self.account_id, self.region_name, target_db_snapshot_identifier.lower())
        backing.engine.share(_key(self, source_db_snapshot_identifier), target)
    return copy


def _restore_db_instance_from_db_snapshot(
    self: Any, from_snapshot_id: str, overrides: dict[str, Any]
) -> Any:
    _restoring.on = True
    try:
        instance = _originals["restore_db_instance_from_db_snapshot"](
            self, from_snapshot_id, overrides
        )
    finally:
        _restoring.on = False
    backing = _backing
    if backing is None or not _postgres(instance):
        return instance
    key = (self.account_id, self.region_name, instance.db_instance_identifier.lower())
    snapshot = _key(self, from_snapshot_id)
    endpoint = backing.engine.restore(snapshot, key, instance.master_username or "app")
    if endpoint is None:
        return instance
    _attach(instance, endpoint)
    arn = instance.db_instance_arn
    identifier = instance.db_instance_identifier

    def available() -> None:
        instance.status = "available"
        event_id, _, text = RESTORED
        backing.emit(key[0], key[1], identifier, arn, event_id, text.format(snapshot=snapshot[2]))
        backing.emit(key[0], key[1], identifier, arn, CREATED[0], CREATED[2])

    if backing.later is not None and backing.restore_time is not None:
        instance.status = "creating"
        size = int(getattr(instance, "allocated_storage", 20) or 20)
        backing.later(backing.restore_time(identifier, key[1], size), available)
    else:
        available()
    return instance


def _delete_db_instance(self: Any, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
    instance = _originals["delete_db_instance"](self, db_instance_identifier, *args, **kwargs)
    backing = _backing
    key = (self.account_id, self.region_name, db_instance_identifier.lower())
    if backing is not None and key in backing.engine.instances:
        backing.engine.drop(key)
        backing.emit(
            key[0], key[1], db_instance_identifier, instance.db_instance_arn, *DELETED[::2]
        )
    return instance


def _modify_db_instance(self: Any, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
    instance = _originals["modify_db_instance"](self, db_instance_identifier, db_kwargs)
    backing = _backing
    key = (self.account_id, self.region_name, db_instance_identifier.lower())
    secret = getattr(instance, "master_user_secret", None)
    if backing is not None and key in backing.engine.instances and secret is not None:
        # RDS generates the password and keeps it only in its secret (moto writes a fixed
        # placeholder): a fresh one, set on the instance's master user.
        password = secrets.token_urlsafe(24)
        value = {"username": instance.master_username or "app", "password": password}
        secretsmanager_backends[self.account_id][self.region_name].put_secret_value(
            secret.secret_arn, json.dumps(value), "", secrets.token_hex(16), ["AWSCURRENT"]
        )
        backing.engine.set_password(key, password)
    return instance


def backends(account: str, region: str) -> Iterator[Any]:
    """moto's RDS backend of ``account`` in ``region`` (for the harness)."""
    yield rds_backends[account][region]
