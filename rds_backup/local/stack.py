"""Read what would be deployed out of the CloudFormation that ``serverless package`` wrote.

Only what the local AWS needs: the functions (handler, environment, async retries, on-failure
destination), the EventBridge rules (pattern or schedule, targets), the archive and the queues.
A tiny resolver turns the intrinsic functions serverless emits (Ref, Fn::GetAtt, Fn::Sub,
Fn::Join, Fn::Select, Fn::Split, Fn::If) into values for one account and region.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
PARTITION = "aws"
DEFAULT_RETRIES = 2  # Lambda's default MaximumRetryAttempts for async invocations
SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template lacks something the local AWS needs; the message says what."""


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str  # the deployed FunctionName, e.g. rds-backup-dev-copy_snapshot
    handler: str  # e.g. handlers/copy_snapshot.handler
    environment: dict[str, str]
    max_retries: int = DEFAULT_RETRIES
    on_failure: str | None = None  # destination ARN: an event bus or an SQS queue

    @property
    def short_name(self) -> str:
        """The handler module's name (copy_snapshot), used in the timeline."""
        return self.handler.rsplit(".", 1)[0].rsplit("/", 1)[-1]

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0].replace("/", ".")

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class Rule:
    logical_id: str
    name: str
    event_bus: str  # bus name; "default" unless the template says otherwise
    pattern: dict[str, Any] | None
    schedule: str | None
    functions: tuple[str, ...]  # logical ids of target functions
    buses: tuple[str, ...]  # ARNs of target event buses (cross-region forwarding)
    enabled: bool = True
    # per target function: Input / InputPath / InputTransformer, applied by EventBridge
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Archive:
    name: str
    pattern: dict[str, Any] | None
    event_bus: str = "default"  # the bus it archives (from SourceArn)


@dataclass(frozen=True)
class Stack:
    region: str
    functions: dict[str, Function] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    archives: tuple[Archive, ...] = ()
    queues: tuple[str, ...] = ()  # names of the template's own SQS queues (DLQs)

    def function_for(self, short_name: str) -> Function | None:
        for function in self.functions.values():
            if function.short_name == short_name:
                return function
        return None


def read_stack(template: dict[str, Any], region: str, stack_name: str = "local") -> Stack:
    """Everything the local AWS needs from ``template``, resolved for ``region``."""
    resolver = Resolver(template, region, stack_name)
    resources: dict[str, Any] = template.get("Resources", {})
    functions = _functions(resources, resolver)
    rules = tuple(
        _rule(logical_id, body.get("Properties", {}), resolver, functions)
        for logical_id, body in resources.items()
        if body.get("Type") == "AWS::Events::Rule"
    )
    archives = tuple(
        Archive(
            name=str(
                resolver.resolve(body["Properties"].get("ArchiveName", logical_id.lower()[:48]))
            ),
            pattern=_pattern(resolver.resolve(body["Properties"].get("EventPattern"))),
            event_bus=str(resolver.resolve(body["Properties"].get("SourceArn", "default"))).rsplit(
                "/", 1
            )[-1],
        )
        for logical_id, body in resources.items()
        if body.get("Type") == "AWS::Events::Archive"
    )
    queues = tuple(
        resolver.queue_name(logical_id)
        for logical_id, body in resources.items()
        if body.get("Type") == "AWS::SQS::Queue"
    )
    return Stack(region, functions, rules, archives, queues)


def _functions(resources: dict[str, Any], resolver: Resolver) -> dict[str, Function]:
    invoke_configs = {
        resolver.function_logical_id(body["Properties"].get("FunctionName")): body["Properties"]
        for body in resources.values()
        if body.get("Type") == "AWS::Lambda::EventInvokeConfig"
    }
    functions = {}
    for logical_id, body in resources.items():
        if body.get("Type") != "AWS::Lambda::Function":
            continue
        properties = body.get("Properties", {})
        variables = properties.get("Environment", {}).get("Variables", {})
        environment = {}
        for key, value in variables.items():
            resolved = resolver.resolve(value)
            if isinstance(resolved, str | int | float | bool):
                environment[key] = (
                    str(resolved).lower() if isinstance(resolved, bool) else str(resolved)
                )
        config = invoke_configs.get(logical_id, {})
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get(
            "Destination"
        ) or properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        functions[logical_id] = Function(
            logical_id=logical_id,
            name=str(resolver.resolve(properties.get("FunctionName", logical_id))),
            handler=str(properties.get("Handler", "")),
            environment=environment,
            max_retries=int(config.get("MaximumRetryAttempts", DEFAULT_RETRIES)),
            on_failure=str(resolver.resolve(destination)) if destination else None,
        )
    return functions


def _rule(
    logical_id: str, properties: dict[str, Any], resolver: Resolver, functions: dict[str, Function]
) -> Rule:
    function_targets = []
    bus_targets = []
    inputs = {}
    for target in properties.get("Targets", []):
        arn_spec = target.get("Arn")
        target_function = resolver.function_logical_id(arn_spec)
        if target_function in functions:
            function_targets.append(target_function)
            shaping = {
                key: resolver.resolve(target[key])
                for key in ("Input", "InputPath", "InputTransformer")
                if key in target
            }
            if shaping:
                inputs[target_function] = shaping
            continue
        arn = str(resolver.resolve(arn_spec))
        if ":event-bus/" in arn:
            bus_targets.append(arn)
        else:
            raise TemplateError(f"rule {logical_id}: target {arn} is neither a function nor a bus")
    bus = str(resolver.resolve(properties.get("EventBusName", "default")))
    return Rule(
        logical_id=logical_id,
        name=str(resolver.resolve(properties.get("Name", logical_id)))[:64],
        event_bus=bus.rsplit("/", 1)[-1],
        pattern=_pattern(resolver.resolve(properties.get("EventPattern"))),
        schedule=properties.get("ScheduleExpression"),
        functions=tuple(function_targets),
        buses=tuple(bus_targets),
        enabled=properties.get("State", "ENABLED") == "ENABLED",
        inputs=inputs,
    )


def _pattern(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        loaded: dict[str, Any] = json.loads(value)
        return loaded
    if isinstance(value, dict):
        return value
    raise TemplateError(f"an EventPattern must be JSON text or an object, got {type(value)}")


class Resolver:
    """Resolve intrinsic functions for one stack in one account and region."""

    def __init__(self, template: dict[str, Any], region: str, stack_name: str) -> None:
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.region = region
        self.pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::Region": region,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::NoValue": None,
        }
        self.parameters = {
            name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()
        }
        self.conditions: dict[str, Any] = template.get("Conditions", {})

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {key: self.resolve(item) for key, item in value.items()}
        ((key, argument),) = value.items()
        if key == "Ref":
            return self.ref(argument)
        if key == "Fn::GetAtt":
            logical_id, attribute = (
                argument.split(".", 1) if isinstance(argument, str) else argument
            )
            return self.get_att(logical_id, attribute)
        if key == "Fn::Sub":
            return self.sub(argument)
        if key == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.resolve(items))
        if key == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            separator, text = argument
            return str(self.resolve(text)).split(separator)
        if key == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if key.startswith("Fn::"):
            return None  # ImportValue, FindInMap, …: unknown locally
        return {key: self.resolve(argument)}

    def condition(self, name: str) -> bool:
        return self.evaluate(self.conditions.get(name))

    def evaluate(self, spec: Any) -> bool:
        """A condition: Fn::Equals/Not/And/Or over values, or {"Condition": name}."""
        if not isinstance(spec, dict) or len(spec) != 1:
            return bool(self.resolve(spec))
        ((key, argument),) = spec.items()
        if key == "Condition":
            return self.condition(argument)
        if key == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return bool(left == right)
        if key == "Fn::Not":
            return not self.evaluate(argument[0])
        if key == "Fn::And":
            return all(self.evaluate(item) for item in argument)
        if key == "Fn::Or":
            return any(self.evaluate(item) for item in argument)
        return bool(self.resolve(spec))

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        body = self.resources.get(name)
        if body is None:
            return name
        kind = body.get("Type", "")
        properties = body.get("Properties", {})
        if kind == "AWS::Lambda::Function":
            return self.resolve(properties.get("FunctionName", name))
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{self.queue_name(name)}"
        for key in ("Name", "TableName", "RoleName", "BucketName", "EventBusName"):
            if key in properties:
                return self.resolve(properties[key])
        return name

    def get_att(self, logical_id: str, attribute: str) -> Any:
        body = self.resources.get(logical_id, {})
        kind = body.get("Type", "")
        properties = body.get("Properties", {})
        prefix = f"arn:{PARTITION}"
        if attribute in ("QueueName", "Name"):
            return (
                self.queue_name(logical_id) if kind == "AWS::SQS::Queue" else self.ref(logical_id)
            )
        if attribute != "Arn":
            return None
        if kind == "AWS::Lambda::Function":
            return f"{prefix}:lambda:{self.region}:{ACCOUNT}:function:{self.ref(logical_id)}"
        if kind == "AWS::SQS::Queue":
            return f"{prefix}:sqs:{self.region}:{ACCOUNT}:{self.queue_name(logical_id)}"
        if kind == "AWS::Events::EventBus":
            return f"{prefix}:events:{self.region}:{ACCOUNT}:event-bus/{self.ref(logical_id)}"
        if kind == "AWS::Events::Archive":
            name = self.resolve(properties.get("ArchiveName", logical_id))
            return f"{prefix}:events:{self.region}:{ACCOUNT}:archive/{name}"
        if kind == "AWS::IAM::Role":
            return f"{prefix}:iam::{ACCOUNT}:role/{self.ref(logical_id)}"
        return f"{prefix}:local:{self.region}:{ACCOUNT}:{logical_id}"

    def queue_name(self, logical_id: str) -> str:
        properties = self.resources.get(logical_id, {}).get("Properties", {})
        return str(self.resolve(properties.get("QueueName", logical_id)))

    def sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument
            variables = {key: self.resolve(value) for key, value in variables.items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return SUB_VARIABLE.sub(replace, str(text)).replace("${!", "${")

    def function_logical_id(self, value: Any) -> str | None:
        """The logical id of the function ``value`` points at (GetAtt/Ref/Sub), if any."""
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Fn::GetAtt":
                logical_id = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
                return str(logical_id)
            if key == "Ref" and isinstance(argument, str):
                return argument
        resolved = self.resolve(value)
        if isinstance(resolved, str):
            name = resolved.split(":function:", 1)[-1].split(":", 1)[0]
            for logical_id, body in self.resources.items():
                if body.get("Type") == "AWS::Lambda::Function" and (
                    self.ref(logical_id) == name or logical_id == name
                ):
                    return logical_id
        return None
