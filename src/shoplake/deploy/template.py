"""Read the CloudFormation templates and render them offline (pure).

:func:`load` parses the YAML with CloudFormation's short tags (``!Ref``, ``!Sub``, ...) into
the long form. :func:`render` substitutes parameter values, pseudo parameters and the names
or ARNs resources will have, so ``shoplake deploy --plan`` can print every policy document
as AWS will see it, and tests can check those documents without an account. Only what the
templates of this repository use is resolved; anything else raises, so a new intrinsic
cannot slip past the plan silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_SHORT_TAGS = ("Ref", "Condition", "Sub", "GetAtt", "Join", "If", "Not", "Equals", "And", "Or",
               "Select", "Split", "FindInMap", "GetAZs", "Base64", "ImportValue", "Cidr")


class _Loader(yaml.SafeLoader):
    pass


def _construct(tag: str) -> Any:
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def build(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return build


for _tag in _SHORT_TAGS:
    _Loader.add_constructor(f"!{_tag}", _construct(_tag))


def load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe loader + tags


class RenderError(ValueError):
    pass


#: How a resource's Ref and GetAtt Arn look, from its properties (AWS documents these).
_REF = {
    "AWS::S3::Bucket": lambda p, c: p["BucketName"],
    "AWS::SQS::Queue": lambda p, c: f"https://sqs.{c['AWS::Region']}.amazonaws.com/{c['AWS::AccountId']}/{p['QueueName']}",
    "AWS::SNS::Topic": lambda p, c: f"arn:aws:sns:{c['AWS::Region']}:{c['AWS::AccountId']}:{p['TopicName']}",
    "AWS::IAM::Role": lambda p, c: p["RoleName"],
    "AWS::Logs::LogGroup": lambda p, c: p["LogGroupName"],
    "AWS::Lambda::Function": lambda p, c: p["FunctionName"],
    "AWS::Glue::Job": lambda p, c: p["Name"],
    "AWS::Events::Rule": lambda p, c: p["Name"],
    # a generated id, not known before the create: a stable stand-in
    "AWS::KMS::Key": lambda p, c: "kms-key-id",
    # AWS appends a random six-character suffix to the ARN; not renderable, left off
    "AWS::SecretsManager::Secret": lambda p, c: f"arn:aws:secretsmanager:{c['AWS::Region']}:{c['AWS::AccountId']}:secret:{p['Name']}",
}
_ARN = {
    "AWS::S3::Bucket": lambda p, c: f"arn:aws:s3:::{p['BucketName']}",
    "AWS::SQS::Queue": lambda p, c: f"arn:aws:sqs:{c['AWS::Region']}:{c['AWS::AccountId']}:{p['QueueName']}",
    "AWS::IAM::Role": lambda p, c: f"arn:aws:iam::{c['AWS::AccountId']}:role/{p['RoleName']}",
    "AWS::Logs::LogGroup": lambda p, c: f"arn:aws:logs:{c['AWS::Region']}:{c['AWS::AccountId']}:log-group:{p['LogGroupName']}:*",
    "AWS::Lambda::Function": lambda p, c: f"arn:aws:lambda:{c['AWS::Region']}:{c['AWS::AccountId']}:function:{p['FunctionName']}",
    "AWS::Events::Rule": lambda p, c: f"arn:aws:events:{c['AWS::Region']}:{c['AWS::AccountId']}:rule/{p['Name']}",
}
_SUB_VAR = re.compile(r"\$\{([^}!]+)\}")


@dataclass
class Rendered:
    """A template with every intrinsic resolved (resources whose condition is false dropped)."""

    parameters: dict[str, str]
    conditions: dict[str, bool]
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, Any]

    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == rtype}


class _Renderer:
    def __init__(self, template: dict[str, Any], parameters: dict[str, str], region: str, account: str):
        declared = template.get("Parameters", {})
        unknown = set(parameters) - set(declared)
        if unknown:
            raise RenderError(f"parameters not in the template: {sorted(unknown)}")
        self.params: dict[str, str] = {}
        for name, spec in declared.items():
            if name in parameters:
                self.params[name] = str(parameters[name])
            elif "Default" in spec:
                self.params[name] = str(spec["Default"])
            else:
                raise RenderError(f"parameter {name} has no value and no default")
        self.context = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
                        "AWS::StackName": parameters.get("Project", "stack"), "AWS::URLSuffix": "amazonaws.com"}
        self.template = template
        self.conditions: dict[str, bool] = {}
        for name, expr in template.get("Conditions", {}).items():
            self.conditions[name] = bool(self.value(expr))
        self._props_cache: dict[str, dict[str, Any]] = {}

    # --- values ---------------------------------------------------------------------------
    def _props(self, logical: str) -> dict[str, Any]:
        if logical not in self._props_cache:
            res = self.template["Resources"][logical]
            self._props_cache[logical] = self.value(res.get("Properties", {}))
        return self._props_cache[logical]

    def ref(self, name: str) -> str:
        if name in self.params:
            return self.params[name]
        if name in self.context:
            return self.context[name]
        res = self.template["Resources"].get(name)
        if res is None or res["Type"] not in _REF:
            raise RenderError(f"cannot render Ref {name}")
        return _REF[res["Type"]](self._props(name), self.context)

    def get_att(self, logical: str, attr: str) -> str:
        res = self.template["Resources"].get(logical)
        if res is None:
            raise RenderError(f"GetAtt of unknown resource {logical}")
        if attr == "Arn" and res["Type"] in _ARN:
            return _ARN[res["Type"]](self._props(logical), self.context)
        if attr == "QueueName" and res["Type"] == "AWS::SQS::Queue":
            return self._props(logical)["QueueName"]
        raise RenderError(f"cannot render GetAtt {logical}.{attr}")

    def sub(self, arg: Any) -> str:
        text, local = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))

        def one(match: re.Match[str]) -> str:
            var = match.group(1)
            if var in local:
                return str(local[var])
            if "." in var and var.split(".", 1)[0] in self.template["Resources"]:
                return self.get_att(*var.split(".", 1))
            return self.ref(var)

        return _SUB_VAR.sub(one, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(x) for x in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return _NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*arg)
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.value(arg[1]))
            if key == "Fn::If":
                return self.value(arg[1] if self.conditions[arg[0]] else arg[2])
            if key == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Condition":
                return self.conditions[arg]
            if key.startswith("Fn::"):
                raise RenderError(f"cannot render {key}")
        out = {}
        for k, v in node.items():
            rendered = self.value(v)
            if rendered is not _NO_VALUE:
                out[k] = rendered
        return out


_NO_VALUE = object()


def render(template: dict[str, Any], parameters: dict[str, str], *, region: str, account: str) -> Rendered:
    r = _Renderer(template, parameters, region, account)
    resources = {}
    for logical, res in template.get("Resources", {}).items():
        if "Condition" in res and not r.conditions[res["Condition"]]:
            continue
        resources[logical] = {"Type": res["Type"], "Properties": r._props(logical)}
    outputs = {k: r.value(v["Value"]) for k, v in template.get("Outputs", {}).items()}
    return Rendered(r.params, r.conditions, resources, outputs)


def policy_documents(rendered: Rendered) -> list[tuple[str, str, dict[str, Any]]]:
    """Every IAM and resource policy of the template: ``(resource, kind, document)``."""
    docs: list[tuple[str, str, dict[str, Any]]] = []
    for logical, res in rendered.resources.items():
        props, rtype = res["Properties"], res["Type"]
        if rtype == "AWS::IAM::Role":
            docs.append((logical, "trust policy", props["AssumeRolePolicyDocument"]))
            for pol in props.get("Policies", []):
                docs.append((logical, f"permissions {pol['PolicyName']}", pol["PolicyDocument"]))
        elif rtype in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            docs.append((logical, "resource policy", props["PolicyDocument"]))
        elif rtype == "AWS::Lambda::Permission":
            docs.append((logical, "lambda permission", props))
        elif rtype == "AWS::KMS::Key":
            docs.append((logical, "key policy", props["KeyPolicy"]))
    return docs


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False)
