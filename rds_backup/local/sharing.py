"""Sharing RDS snapshots between the local AWS's accounts, as RDS does (moto stores the
``restore`` attribute but nothing reads it across accounts). ``install()`` patches moto's RDS
classes once per process (the server and in-process ``mock_aws`` share them).

Sharing (ModifyDBSnapshotAttribute / ModifyDBClusterSnapshotAttribute, attribute ``restore``):
- moto already keeps at most 20 accounts (``SharedSnapshotQuotaExceeded``; RDS User Guide,
  "Sharing a DB snapshot for Amazon RDS": "up to 20 other AWS accounts").
- An encrypted snapshot cannot be made public: ``all`` is refused (API reference,
  ModifyDBSnapshotAttribute: "You can't use all as a value for that parameter in this case").
- A snapshot encrypted with the account's default key (``aws/rds``) cannot be shared (RDS
  User Guide, "Sharing encrypted snapshots for Amazon RDS"; Aurora User Guide, "Sharing
  encrypted snapshots"). AWS documents no error for it; the local AWS answers
  ``InvalidParameterValue`` (the code shelvery-aws-backups reads as "cannot be shared due to
  AWS limitations"). Should a share happen anyway, the copy fails as in the field (below).

Using a shared snapshot from the other account (its ARN; the API references say a shared
snapshot is named by its ARN):
- CopyDBSnapshot / CopyDBClusterSnapshot and RestoreDBInstanceFromDBSnapshot /
  RestoreDBClusterFromSnapshot find it in its owner's account when it is shared with the
  caller (``restore`` holds the caller's account or ``all``), else ``DBSnapshotNotFound`` /
  ``DBClusterSnapshotNotFoundFault``: the caller cannot tell it from a snapshot that does
  not exist (moto looked the id up in the caller's own account and always failed).
- An encrypted shared snapshot: the copy must name a key of the caller's (API reference,
  CopyDBSnapshot KmsKeyId: "If you copy an encrypted DB snapshot that is shared from another
  Amazon Web Services account, then you must specify a value for this parameter"); without
  one, ``KMSKeyNotAccessibleFault`` "The target KMS key [None] does not exist, ..." (as
  awslabs/rds-snapshot-tool#70 saw). The source key's policy must let the caller's account
  create grants (Aurora User Guide, "Copying a DB cluster snapshot across accounts", step 2;
  aurora-snapshot-tool#29: without ``kms:CreateGrant`` the copy fails), else
  ``KMSKeyNotAccessibleFault`` "The source snapshot KMS key [<arn>] does not exist, is not
  enabled or you do not have permissions to access it." (the field text, aurora-snapshot-
  tool#26/#29). The default ``aws/rds`` key's policy only ever allows its own account.
- DB snapshots may come from another account *and* region in one step (API reference,
  CopyDBSnapshot SourceDBSnapshotIdentifier: "You can also specify an ARN of a snapshot that
  is in a different account and a different Amazon Web Services Region").
- DB cluster snapshots: the API reference (CopyDBClusterSnapshot) and the Aurora User
  Guide's "DB cluster snapshot copying" now say the same, but its "Copying a DB cluster
  snapshot across accounts" still says "You can only copy DB cluster snapshots across
  accounts in the same AWS Region", as older guides did. The local AWS holds the stricter
  reading by default (``allow_cluster_one_step(True)`` lifts it) and answers
  ``InvalidParameterCombination``: code copying a shared cluster snapshot must work both
  ways (copy in the snapshot's region, then across regions in the vault account).
- A DB instance cannot be restored from a snapshot that is shared *and* encrypted (RDS User
  Guide, "Sharing a DB snapshot for Amazon RDS": "make a copy of the DB snapshot and restore
  the DB instance from the copy"): ``InvalidParameterCombination`` here; an unencrypted one
  restores. A DB cluster restores from a shared snapshot, encrypted or not (same guide),
  given the source key's policy.

DescribeDBSnapshots / DescribeDBClusterSnapshots: ``SnapshotType="shared"`` lists what other
accounts share with the caller in the region; ``IncludeShared=True`` (without a SnapshotType)
adds those to the caller's own; a DB(Cluster)SnapshotIdentifier that is another account's ARN
answers that snapshot when it is shared with the caller (API reference, DescribeDBSnapshots,
SnapshotType and IncludeShared). Public snapshots (``SnapshotType="public"``) are not modelled:
the chain never makes a snapshot public.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from moto.core.responses import ActionResult
from moto.kms.models import KmsBackend, kms_backends
from moto.rds.exceptions import (
    DBClusterSnapshotNotFoundError,
    DBInstanceAlreadyExists,
    DBSnapshotNotFoundFault,
    RDSClientError,
)
from moto.rds.models import DBClusterSnapshot, DBSnapshot, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

from rds_backup.local import policy

DEFAULT_KEY_ALIAS = "alias/aws/rds"
MOTO_DEFAULT_KEY = "default_kms_key_id"  # moto's key id for "encrypted, no KmsKeyId given"
RESTORE = "restore"
PUBLIC = "all"

_originals: dict[tuple[type, str], Any] = {}

_settings = {"cluster_one_step": False}


def allow_cluster_one_step(allowed: bool = True) -> None:
    """Let CopyDBClusterSnapshot take another account's snapshot from another region in one
    step (the current API reference) instead of refusing it (the cross-account guide)."""
    _settings["cluster_one_step"] = allowed


class InvalidParameterValue(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValue", message)


class InvalidParameterCombination(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterCombination", message)


class KmsKeyNotAccessible(RDSClientError):
    def __init__(self, which: str, key: str | None) -> None:
        super().__init__(
            "KMSKeyNotAccessibleFault",
            f"The {which} KMS key [{key}] does not exist, is not enabled or you do not have "
            "permissions to access it.",
        )


# -- facts about a snapshot ----------------------------------------------------------------


def arn_parts(identifier: str) -> tuple[str, str, str] | None:
    """(region, account, name) of an RDS snapshot ARN; None for a plain identifier."""
    if not identifier.startswith("arn:"):
        return None
    parts = identifier.split(":")
    if len(parts) < 7:
        return None
    return parts[3], parts[4], parts[-1]


def shared_with(snapshot: Any, account: str) -> bool:
    values = snapshot.attributes.get(RESTORE, [])
    return account in values or PUBLIC in values


def owner(snapshot: Any) -> tuple[str, str]:
    """(account, region) of the snapshot's own backend."""
    return snapshot.backend.account_id, snapshot.backend.region_name


def _key_arn_parts(key: str) -> tuple[str | None, str | None, str]:
    """(region, account, id-or-alias) of a KMS key reference (ARN, alias ARN, id, alias)."""
    if key.startswith("arn:"):
        parts = key.split(":")
        resource = parts[5] if len(parts) > 5 else ""
        name = resource.removeprefix("key/") if resource.startswith("key/") else resource
        return parts[3], parts[4], name
    return None, None, key


def find_key(key: str, account: str, region: str) -> Any | None:
    """moto's key named by ``key`` (an ARN names its own account and region)."""
    key_region, key_account, name = _key_arn_parts(key)
    backend = kms_backends[key_account or account][key_region or region]
    try:
        key_id = backend.any_id_to_key_id(name) if name.startswith("alias/") else name
        return backend.keys.get(key_id) if key_id else None
    except Exception:  # noqa: BLE001 - moto raises several kinds for an unknown alias
        return None


def is_default_key(key: str | None, account: str, region: str) -> bool:
    """Whether ``key`` is the account's default RDS key (``aws/rds``) in ``region``: its alias,
    moto's placeholder for "encrypted without a KmsKeyId", or the key that alias names."""
    if not key:
        return False
    if key == MOTO_DEFAULT_KEY or key.endswith(DEFAULT_KEY_ALIAS):
        return True
    _, _, name = _key_arn_parts(key)
    if name.startswith("alias/"):
        return False
    key_region, key_account, _ = _key_arn_parts(key)
    backend = kms_backends[key_account or account][key_region or region]
    found = backend.keys.get(name)
    return found is not None and DEFAULT_KEY_ALIAS in found.aliases


def encrypted(snapshot: Any) -> bool:
    return bool(getattr(snapshot, "encrypted", False))


def key_allows(key: str | None, owner_account: str, region: str, caller: str) -> bool:
    """Whether the key policy of ``key`` (of ``owner_account`` in ``region``) lets ``caller``
    create grants for RDS, as a copy or restore of a snapshot encrypted with it needs. The
    default ``aws/rds`` key is AWS managed: its policy allows its own account only."""
    if caller == owner_account:
        return True
    if key is None or is_default_key(key, owner_account, region):
        return False
    found = find_key(key, owner_account, region)
    if found is None:
        return False
    decision = policy.evaluate(
        found.policy,
        policy.Caller(caller),
        "kms:CreateGrant",
        found.arn,
        {
            "kms:CallerAccount": caller,
            "kms:GrantIsForAWSResource": "true",
            "kms:ViaService": f"rds.{region}.amazonaws.com",
            "aws:PrincipalAccount": caller,
        },
    )
    return decision.allowed


# -- the patched moto methods --------------------------------------------------------------


def _foreign(backend: Any, identifier: str, resource_type: type) -> Any | None:
    """The other account's snapshot named by the ARN ``identifier`` when it is shared with
    ``backend``'s account; None when ``identifier`` is not another account's ARN. Raise
    not-found when it does not exist or is not shared with the caller."""
    parts = arn_parts(identifier)
    if parts is None or parts[1] == backend.account_id:
        return None
    region, account, name = parts
    snapshots = rds_backends[account][region].resource_map[resource_type]  # type: ignore[index]
    snapshot = snapshots.get(name) or snapshots.get(name.lower())
    if snapshot is None or not shared_with(snapshot, backend.account_id):
        if resource_type is DBSnapshot:
            raise DBSnapshotNotFoundFault(identifier)
        raise DBClusterSnapshotNotFoundError(identifier)
    return snapshot


def _get_snapshot(
    self: Any, identifier: str, resource_type: type, not_found_exception: type
) -> Any:
    """moto looks every id up in the caller's account: another account's ARN is found there
    when shared with the caller (for the copies)."""
    found = _foreign(self, identifier, resource_type)
    if found is not None:
        return found
    return _originals[(RDSBackend, "get_snapshot")](
        self, identifier, resource_type, not_found_exception
    )


def _check_share(snapshot: Any, values_to_add: Iterable[str] | None) -> None:
    added = [value for value in values_to_add or [] if value]
    if not added or not encrypted(snapshot):
        return
    if PUBLIC in added:
        raise InvalidParameterValue(
            "An encrypted snapshot cannot be shared publicly: use a list of account IDs, "
            "not 'all', in ValuesToAdd (ModifyDBSnapshotAttribute)."
        )
    account, region = owner(snapshot)
    if is_default_key(snapshot.kms_key_id, account, region):
        raise InvalidParameterValue(
            "A snapshot encrypted with the default KMS key (aws/rds) cannot be shared with "
            "another account: copy it with a customer managed key whose policy allows that "
            "account, then share the copy."
        )


def _modify_db_snapshot_attribute(
    self: Any,
    db_snapshot_identifier: str,
    attribute_name: str,
    values_to_add: list[str] | None = None,
    values_to_remove: list[str] | None = None,
) -> Any:
    if attribute_name == RESTORE:
        snapshot = self.describe_db_snapshots(None, db_snapshot_identifier)[0]
        _check_share(snapshot, values_to_add)
    return _originals[(RDSBackend, "modify_db_snapshot_attribute")](
        self, db_snapshot_identifier, attribute_name, values_to_add, values_to_remove
    )


def _modify_db_cluster_snapshot_attribute(
    self: Any,
    db_cluster_snapshot_identifier: str,
    attribute_name: str,
    values_to_add: list[str] | None = None,
    values_to_remove: list[str] | None = None,
) -> Any:
    if attribute_name == RESTORE:
        snapshot = self.describe_db_cluster_snapshots(None, db_cluster_snapshot_identifier)[0]
        _check_share(snapshot, values_to_add)
    return _originals[(RDSBackend, "modify_db_cluster_snapshot_attribute")](
        self, db_cluster_snapshot_identifier, attribute_name, values_to_add, values_to_remove
    )


def _check_copy(backend: Any, source: Any, kms_key_id: str | None) -> None:
    """What RDS checks before copying another account's shared ``source`` into ``backend``."""
    if not encrypted(source):
        return
    if not kms_key_id:
        raise KmsKeyNotAccessible("target", None)
    account, region = owner(source)
    if not key_allows(source.kms_key_id, account, region, backend.account_id):
        raise KmsKeyNotAccessible("source snapshot", source.kms_key_id)
    target_region, target_account, _ = _key_arn_parts(kms_key_id)
    foreign_key = bool(target_account) and target_account != backend.account_id
    if foreign_key and not key_allows(
        kms_key_id, str(target_account), target_region or "", backend.account_id
    ):
        raise KmsKeyNotAccessible("target", kms_key_id)


def _copy_db_snapshot(
    self: Any,
    source_db_snapshot_identifier: str,
    target_db_snapshot_identifier: str,
    *args: Any,
    **kwargs: Any,
) -> Any:
    source = _foreign(self, source_db_snapshot_identifier, DBSnapshot)
    if source is not None:
        _check_copy(self, source, kwargs.get("kms_key_id", args[0] if args else None))
    return _originals[(RDSBackend, "copy_db_snapshot")](
        self, source_db_snapshot_identifier, target_db_snapshot_identifier, *args, **kwargs
    )


def _copy_db_cluster_snapshot(
    self: Any,
    source_db_cluster_snapshot_identifier: str,
    target_db_cluster_snapshot_identifier: str,
    *args: Any,
    **kwargs: Any,
) -> Any:
    source = _foreign(self, source_db_cluster_snapshot_identifier, DBClusterSnapshot)
    if source is not None:
        if owner(source)[1] != self.region_name and not _settings["cluster_one_step"]:
            raise InvalidParameterCombination(
                "A DB cluster snapshot shared from another account can only be copied in its "
                f"own Region ({owner(source)[1]}): copy it there, then copy that copy to "
                f"{self.region_name}."
            )
        _check_copy(self, source, kwargs.get("kms_key_id", args[0] if args else None))
    return _originals[(RDSBackend, "copy_db_cluster_snapshot")](
        self,
        source_db_cluster_snapshot_identifier,
        target_db_cluster_snapshot_identifier,
        *args,
        **kwargs,
    )


def _restore_db_instance_from_db_snapshot(
    self: Any, from_snapshot_id: str, overrides: dict[str, Any]
) -> Any:
    snapshot = _foreign(self, from_snapshot_id, DBSnapshot)
    if snapshot is None:
        return _originals[(RDSBackend, "restore_db_instance_from_db_snapshot")](
            self, from_snapshot_id, overrides
        )
    if encrypted(snapshot):
        raise InvalidParameterCombination(
            "A DB instance cannot be restored from a DB snapshot that is both shared and "
            "encrypted: copy the snapshot into this account, then restore from the copy."
        )
    if overrides["db_instance_identifier"] in self.databases:
        raise DBInstanceAlreadyExists()
    # moto's own restore, from the shared snapshot instead of one found by name here
    original = snapshot.database
    props: dict[str, Any] = {}
    for key, value in original.__dict__.items():
        name = key[1:] if key.startswith("_") else key
        if name not in ("backend", "db_parameter_group_name", "vpc_security_group_ids",
                        "max_allocated_storage"):  # fmt: skip
            props[name] = copy.copy(value)
    props["kms_key_id"] = snapshot.kms_key_id
    props["storage_encrypted"] = snapshot.encrypted
    if not original.option_group_supplied:
        props.pop("option_group_name", None)
    for key, value in overrides.items():
        if value:
            props[key] = value
    return self.create_db_instance(props)


def _restore_db_cluster_from_snapshot(
    self: Any, from_snapshot_id: str, overrides: dict[str, Any]
) -> Any:
    snapshot = _foreign(self, from_snapshot_id, DBClusterSnapshot)
    if snapshot is None:
        return _originals[(RDSBackend, "restore_db_cluster_from_snapshot")](
            self, from_snapshot_id, overrides
        )
    account, region = owner(snapshot)
    if encrypted(snapshot) and not key_allows(
        snapshot.kms_key_id, account, region, self.account_id
    ):
        raise KmsKeyNotAccessible("source snapshot", snapshot.kms_key_id)
    props = copy.copy(snapshot.cluster.get_cfg())
    for key, value in overrides.items():
        if value:
            props[key] = value
    return self.create_db_cluster(props)


def shared_snapshots(backend: Any, resource_type: type) -> list[Any]:
    """What other accounts share with ``backend``'s account in its region."""
    found: list[Any] = []
    for account, regions in list(rds_backends.items()):
        if account == backend.account_id or backend.region_name not in regions:
            continue
        snapshots = regions[backend.region_name].resource_map[resource_type]  # type: ignore[index]
        found.extend(
            s for s in list(snapshots.values())
            if s.snapshot_type == "manual" and shared_with(s, backend.account_id)
        )  # fmt: skip
    return found


def _describe(
    response: Any, resource_type: type, identifier_param: str, owner_param: str, key: str
) -> ActionResult | None:
    """The shared part of DescribeDB(Cluster)Snapshots; None: moto's own answer is right."""
    params = response.params
    backend = response.backend
    identifier = params.get(identifier_param)
    snapshot_type = params.get("SnapshotType")
    foreign = _foreign(backend, identifier, resource_type) if identifier else None
    if foreign is not None:
        return ActionResult({key: [foreign]})
    if snapshot_type == "shared" or (snapshot_type is None and params.get("IncludeShared")):
        shared = shared_snapshots(backend, resource_type)
        if identifier:
            shared = [s for s in shared if identifier.lower() in (s.arn.lower(), _name(s))]
        owned_by = params.get(owner_param)
        if owned_by:
            shared = [s for s in shared if owned_by.lower() in _owners(s)]
        filters = {f["Name"]: f["Values"] for f in params.get("Filters", [])}
        if filters and shared:
            kept = backend._filter_resources(
                {str(i): s for i, s in enumerate(shared)}, filters, resource_type
            )
            shared = list(kept.values())
        if snapshot_type == "shared":
            return ActionResult({key: shared})
        own = backend_describe(backend, resource_type, params)
        return ActionResult({key: [*own, *shared]})
    return None


def _name(snapshot: Any) -> str:
    return str(
        getattr(snapshot, "db_snapshot_identifier", None)
        or getattr(snapshot, "db_cluster_snapshot_identifier", "")
    ).lower()


def _owners(snapshot: Any) -> set[str]:
    if isinstance(snapshot, DBSnapshot):
        return {snapshot.db_instance_identifier.lower(), snapshot.database.db_instance_arn.lower()}
    return {snapshot.db_cluster_identifier.lower(), snapshot.cluster.db_cluster_arn.lower()}


def backend_describe(backend: Any, resource_type: type, params: dict[str, Any]) -> list[Any]:
    """The caller's own snapshots, as moto answers them (automated and manual)."""
    filters = {f["Name"]: f["Values"] for f in params.get("Filters", [])}
    if resource_type is DBSnapshot:
        return list(
            backend.describe_db_snapshots(
                params.get("DBInstanceIdentifier"), params.get("DBSnapshotIdentifier"),
                None, filters,
            )
        )  # fmt: skip
    return list(
        backend.describe_db_cluster_snapshots(
            params.get("DBClusterIdentifier"), params.get("DBClusterSnapshotIdentifier"),
            None, filters,
        )
    )  # fmt: skip


def _describe_db_snapshots(self: Any) -> ActionResult:
    answered = _describe(
        self, DBSnapshot, "DBSnapshotIdentifier", "DBInstanceIdentifier", "DBSnapshots"
    )
    if answered is not None:
        return answered
    result: ActionResult = _originals[(RDSResponse, "describe_db_snapshots")](self)
    return result


def _describe_db_cluster_snapshots(self: Any) -> ActionResult:
    answered = _describe(
        self,
        DBClusterSnapshot,
        "DBClusterSnapshotIdentifier",
        "DBClusterIdentifier",
        "DBClusterSnapshots",
    )
    if answered is not None:
        return answered
    result: ActionResult = _originals[(RDSResponse, "describe_db_cluster_snapshots")](self)
    return result


def _describe_key(self: Any, key_id: str) -> Any:
    """KMS DescribeKey: a key behind an ``alias/aws/...`` alias (moto makes ``aws/rds`` on
    first use, as a customer key) is AWS managed, ``KeyManager`` ``AWS`` (KMS Developer
    Guide, "AWS managed keys"): what share_vault reads to refuse the default key."""
    key = _originals[(KmsBackend, "describe_key")](self, key_id)
    if any(str(alias).startswith("alias/aws/") for alias in getattr(key, "aliases", ()) or ()):
        key.key_manager = "AWS"
    return key


_PATCHES: tuple[tuple[type, str, Any], ...] = (
    (KmsBackend, "describe_key", _describe_key),
    (RDSBackend, "get_snapshot", _get_snapshot),
    (RDSBackend, "modify_db_snapshot_attribute", _modify_db_snapshot_attribute),
    (RDSBackend, "modify_db_cluster_snapshot_attribute", _modify_db_cluster_snapshot_attribute),
    (RDSBackend, "copy_db_snapshot", _copy_db_snapshot),
    (RDSBackend, "copy_db_cluster_snapshot", _copy_db_cluster_snapshot),
    (RDSBackend, "restore_db_instance_from_db_snapshot", _restore_db_instance_from_db_snapshot),
    (RDSBackend, "restore_db_cluster_from_snapshot", _restore_db_cluster_from_snapshot),
    (RDSResponse, "describe_db_snapshots", _describe_db_snapshots),
    (RDSResponse, "describe_db_cluster_snapshots", _describe_db_cluster_snapshots),
)


def install() -> None:
    """Patch moto's RDS classes (once per process; later calls do nothing). Whatever was in
    place is wrapped, so the order with ``limits.install()`` does not matter."""
    for owner_class, name, replacement in _PATCHES:
        if (owner_class, name) not in _originals:
            _originals[(owner_class, name)] = getattr(owner_class, name)
            setattr(owner_class, name, replacement)


def installed() -> bool:
    return bool(_originals)
