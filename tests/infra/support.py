"""Reading the generated CloudFormation: functions, their rules, IAM statements, intrinsics."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from moto.events.models import EventPattern

ACCOUNT = "123456789012"  # the samples' account
REGION = "us-east-1"  # the samples' source region, and the package-time default
PSEUDO = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}

Template = dict[str, Any]


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def functions(template: Template) -> dict[str, tuple[str, dict[str, Any]]]:
    """Handler module name (``handlers/<name>.handler``) -> (logical id, resource)."""
    found = {}
    for logical_id, body in resources(template, "AWS::Lambda::Function").items():
        handler = body["Properties"]["Handler"]
        match = re.fullmatch(r"handlers/(\w+)\.handler", handler)
        assert match, f"{logical_id}: unexpected handler {handler}"
        found[match.group(1)] = (logical_id, body)
    return found


def target_function(target: dict[str, Any]) -> str | None:
    arn = target.get("Arn")
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return str(arn["Fn::GetAtt"][0])
    return None


def rules_for(template: Template, function_logical_id: str) -> list[dict[str, Any]]:
    """The Properties of every rule with a target on the function."""
    return [
        body["Properties"]
        for body in resources(template, "AWS::Events::Rule").values()
        if any(target_function(t) == function_logical_id for t in body["Properties"]["Targets"])
    ]


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge pattern matching, by moto's implementation (prefix, wildcard, $or, ...)."""
    return EventPattern.load(json.dumps(resolve(pattern))).matches_event(event)


def resolve(value: Any, parameters: dict[str, Any] | None = None) -> Any:
    """Resolve the intrinsics this project emits for the samples' account and region."""
    if isinstance(value, list):
        return [resolve(item, parameters) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            if argument in PSEUDO:
                return PSEUDO[argument]
            if parameters and argument in parameters:
                return parameters[argument]
            return f"ref-{argument}"
        if key == "Fn::GetAtt":
            return f"arn:aws:getatt:{REGION}:{ACCOUNT}:{argument[0]}/{argument[1]}"
        if key == "Fn::Sub":
            return re.sub(
                r"\$\{([^}]+)\}", lambda m: PSEUDO.get(m.group(1), f"ref-{m.group(1)}"), argument
            )
    return {key: resolve(item, parameters) for key, item in value.items()}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(role logical id, where, statement) for every identity statement of the template:
    inline role policies and AWS::IAM::Policy resources attached to roles."""
    for role_id, body in resources(template, "AWS::IAM::Role").items():
        for policy in body["Properties"].get("Policies", []):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                yield role_id, f"{role_id}/{policy['PolicyName']}", statement
    for policy_id, body in resources(template, "AWS::IAM::Policy").items():
        for role in body["Properties"]["Roles"]:
            for statement in as_list(body["Properties"]["PolicyDocument"]["Statement"]):
                yield role["Ref"], policy_id, statement


def function_role(function: dict[str, Any]) -> str:
    role = function["Properties"]["Role"]
    assert "Fn::GetAtt" in role, f"function role is not one of the template's roles: {role}"
    return str(role["Fn::GetAtt"][0])
