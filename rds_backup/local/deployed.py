"""The main stack "deployed" into the local AWS as far as operators can see it: each function
registered in moto's Lambda with its environment and its own IAM role (with the role's
policies from the generated CloudFormation), and the databases' keys letting the copying roles
use them (the key-policy way, docs/DEPLOY.md).

moto cannot run the functions (the local Lambda runner does, from SQS), but with them
registered ``rds-backup <command> --stack rds-backup-dev --region <source> --endpoint-url …``
reads the configuration from the notify function exactly as on AWS, and ``rds-backup doctor``
finds the copying roles on the copy and reconcile functions as it would on AWS. Used by
``rds-backup local up`` and the doctor tests; the other local worlds do not need it.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

from rds_backup.local.stack import Resolver

if TYPE_CHECKING:
    from rds_backup.local.harness import LocalAws

RUNTIME = "python3.12"  # serverless.yml provider.runtime
COPYING_FUNCTIONS = ("copy_snapshot", "reconcile")  # both call CopyDBSnapshot
# What CopyDBSnapshot needs on the source snapshot's key: RDS uses the key through a grant it
# creates for the caller (the same pair the stack grants on the target key, infra/iam.js).
DATABASE_KEY_ACTIONS = ["kms:CreateGrant", "kms:DescribeKey"]


def deploy(local: LocalAws) -> dict[str, str]:
    """Register the main stack's roles and functions in the local AWS, let the copying roles
    use the databases' keys; return the functions' environment (what an operator exports)."""
    template = local.template("main")
    resolver = Resolver(template, local.spec.source_region, local.main_stack_name)
    _roles(local, template, resolver)
    environment = function_environment(local)
    code = _placeholder_zip()
    lambda_client = local.server.client("lambda", local.spec.source_region)
    for logical_id, function in local.main.functions.items():
        properties = template["Resources"][logical_id]["Properties"]
        lambda_client.create_function(
            FunctionName=function.name,
            Runtime=RUNTIME,
            Role=str(resolver.resolve(properties["Role"])),
            Handler=function.handler,
            Code={"ZipFile": code},
            Environment={"Variables": {**function.environment, **local.environment}},
        )
    allow_copying_roles_on_database_keys(local)
    return environment


def function_environment(local: LocalAws) -> dict[str, str]:
    """What every function of the main stack sees: the template's variables under the
    world's (the local Lambda runner's order)."""
    notify = local.main.function_for("notify")
    base = notify.environment if notify is not None else {}
    return {**base, **local.environment}


def copying_roles(local: LocalAws) -> list[str]:
    """The role ARNs of the functions that copy snapshots, as registered."""
    lambda_client = local.server.client("lambda", local.spec.source_region)
    roles = []
    for short_name in COPYING_FUNCTIONS:
        function = local.main.function_for(short_name)
        assert function is not None, f"the main stack has no {short_name} function"
        config = lambda_client.get_function_configuration(FunctionName=function.name)
        roles.append(str(config["Role"]))
    return roles


def database_keys(local: LocalAws) -> list[str]:
    """The KMS keys the configured databases are encrypted with (source region)."""
    rds = local.server.client("rds", local.spec.source_region)
    keys = []
    for database in local.spec.databases:
        found = rds.describe_db_instances(DBInstanceIdentifier=database)["DBInstances"]
        key = found[0].get("KmsKeyId") if found else None
        if key and key not in keys:
            keys.append(key)
    return keys


def allow_copying_roles_on_database_keys(local: LocalAws) -> None:
    """Add to each database key's policy a statement letting the copying roles use it."""
    roles = copying_roles(local)
    kms = local.server.client("kms", local.spec.source_region)
    for key in database_keys(local):
        policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
        policy.setdefault("Statement", []).append(
            {
                "Sid": "RdsBackupCopyingRole",
                "Effect": "Allow",
                "Principal": {"AWS": roles},
                "Action": DATABASE_KEY_ACTIONS,
                "Resource": "*",
            }
        )
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))


def _roles(local: LocalAws, template: dict[str, Any], resolver: Resolver) -> None:
    iam = local.server.client("iam", local.spec.source_region)
    resources: dict[str, Any] = template.get("Resources", {})
    names: dict[str, str] = {}
    for logical_id, body in resources.items():
        if body.get("Type") != "AWS::IAM::Role" or not _present(body, resolver):
            continue
        properties = body.get("Properties", {})
        name = str(resolver.resolve(properties.get("RoleName", logical_id)))
        names[logical_id] = name
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(
                _clean(resolver.resolve(properties.get("AssumeRolePolicyDocument")))
            ),
        )
        for policy in properties.get("Policies", []):
            _put(iam, name, resolver, policy)
    for body in resources.values():
        if body.get("Type") != "AWS::IAM::Policy" or not _present(body, resolver):
            continue
        properties = body.get("Properties", {})
        for role in properties.get("Roles", []):
            target = names.get(role.get("Ref", "")) if isinstance(role, dict) else str(role)
            if target:
                _put(iam, target, resolver, properties)


def _put(iam: Any, role: str, resolver: Resolver, policy: dict[str, Any]) -> None:
    iam.put_role_policy(
        RoleName=role,
        PolicyName=str(resolver.resolve(policy["PolicyName"])),
        PolicyDocument=json.dumps(_clean(resolver.resolve(policy["PolicyDocument"]))),
    )


def _present(body: dict[str, Any], resolver: Resolver) -> bool:
    condition = body.get("Condition")
    return condition is None or resolver.condition(condition)


def _clean(value: Any) -> Any:
    """Drop what resolved to AWS::NoValue (None), as CloudFormation does."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    return value


def _placeholder_zip() -> bytes:
    """moto stores the code; it never runs it (the local Lambda runner imports the handlers)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "rds-backup local AWS: run by the local Lambda runner\n")
    return buffer.getvalue()
