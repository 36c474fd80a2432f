"""Drive one CloudFormation stack through a change set: create, print, execute, wait.

Plain boto3 CloudFormation calls, the same against MiniStack, compose and AWS.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from shoplake.deploy.parameters import StackSpec

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
#: Stack states from which a change set cannot be created until something is done.
_STUCK = {"ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED"}
_IN_PROGRESS_SUFFIX = "_IN_PROGRESS"


class DeployError(RuntimeError):
    """A deploy failed; the message names the resource and CloudFormation's reason."""


@dataclass(frozen=True)
class Change:
    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str = ""  # True | False | Conditional ("" for Add/Remove)
    physical_id: str = ""

    def __str__(self) -> str:
        repl = {"True": "replace", "Conditional": "may replace"}.get(self.replacement, "")
        return f"{self.action:<7} {self.logical_id:<28} {self.resource_type:<32} {repl}".rstrip()


@dataclass
class Result:
    stack: str
    changes: list[Change] = field(default_factory=list)
    status: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    executed: bool = False


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack, or None when there is none (or only a deleted one)."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    stack = stacks[0] if stacks else None
    if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
        return None
    return stack


def outputs(stack: dict[str, Any] | None) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}


def parameters_of(stack: dict[str, Any] | None) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in (stack or {}).get("Parameters", [])}


def _wait_not_in_progress(cfn: Any, name: str, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while True:
        stack = describe(cfn, name)
        if stack is None or not stack["StackStatus"].endswith(_IN_PROGRESS_SUFFIX) \
                or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            return stack
        if time.monotonic() > deadline:
            raise DeployError(f"stack {name} still {stack['StackStatus']} after {timeout:.0f}s")
        time.sleep(0.5)


def _change(raw: dict[str, Any]) -> Change:
    rc = raw.get("ResourceChange", {})
    return Change(rc.get("Action", "?"), rc.get("LogicalResourceId", "?"), rc.get("ResourceType", "?"),
                  str(rc.get("Replacement", "")), rc.get("PhysicalResourceId", ""))


def _wait_change_set(cfn: Any, cs_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        cs = cfn.describe_change_set(ChangeSetName=cs_id)
        if cs["Status"] in ("CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE"):
            changes = list(cs.get("Changes", []))
            token = cs.get("NextToken")
            while token:
                page = cfn.describe_change_set(ChangeSetName=cs_id, NextToken=token)
                changes += page.get("Changes", [])
                token = page.get("NextToken")
            cs["Changes"] = changes
            return cs
        if time.monotonic() > deadline:
            raise DeployError(f"change set {cs_id} still {cs['Status']} after {timeout:.0f}s")
        time.sleep(0.3)


def failure_reasons(cfn: Any, stack_id: str, since: float) -> list[str]:
    """``<resource> (<type>): <reason>`` of the resources that failed since ``since``."""
    reasons: list[str] = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
        for ev in page["StackEvents"]:
            ts = ev["Timestamp"].timestamp() if hasattr(ev["Timestamp"], "timestamp") else 0
            if ts and ts < since - 5:
                return list(reversed(reasons))
            status = ev.get("ResourceStatus", "")
            reason = ev.get("ResourceStatusReason", "")
            if status.endswith("_FAILED") and ev.get("ResourceType") != "AWS::CloudFormation::Stack" \
                    and "Resource creation cancelled" not in reason and "cancelled" not in reason.lower():
                reasons.append(f"{ev['LogicalResourceId']} ({ev['ResourceType']}): {reason}")
    return list(reversed(reasons)) or validation_failures(cfn, stack_id)


def validation_failures(cfn: Any, stack_id: str) -> list[str]:
    """What CloudFormation's pre-deployment validation refused (DescribeEvents): a stack that
    "failed validation" has no failed resource events."""
    try:
        events = cfn.describe_events(StackName=stack_id)["OperationEvents"]
    except (ClientError, AttributeError):
        return []
    out = []
    for ev in events:
        if ev.get("ValidationStatus") == "FAILED" or ev.get("EventType") == "VALIDATION_ERROR":
            where = ev.get("LogicalResourceId") or "template"
            rtype = f" ({ev['ResourceType']})" if ev.get("ResourceType") else ""
            reason = ev.get("ValidationStatusReason") or ev.get("ResourceStatusReason") or ""
            out.append(f"{where}{rtype}: {reason}")
    return out


def apply(
    cfn: Any,
    spec: StackSpec,
    echo: Callable[[str], None],
    *,
    execute: bool = True,
    timeout: float = 1800,
) -> Result:
    """Bring ``spec`` live through one change set. ``execute=False``: create and print it, then
    delete it (``--plan`` against a live endpoint)."""
    result = Result(spec.name)
    stack = _wait_not_in_progress(cfn, spec.name, timeout)
    if stack and stack["StackStatus"] in _STUCK:
        raise DeployError(f"stack {spec.name} is {stack['StackStatus']}: fix or delete it "
                          f"(`shoplake destroy`), then deploy again")
    if stack and stack["StackStatus"] in ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"):
        # a first create that rolled back (or a change set never executed) cannot be updated
        cfn.delete_stack(StackName=stack["StackId"])
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack["StackId"],
                                                     WaiterConfig={"Delay": 1, "MaxAttempts": 600})
        stack = None
    cs_type = "UPDATE" if stack else "CREATE"
    name = f"{spec.name}-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    try:
        created = cfn.create_change_set(
            StackName=spec.name, ChangeSetName=name, ChangeSetType=cs_type,
            TemplateBody=spec.body, Capabilities=CAPABILITIES,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in spec.parameters.items()],
            Tags=[{"Key": "shoplake:stack", "Value": spec.name}],
        )
    except ClientError as exc:
        raise DeployError(f"{spec.name}: CloudFormation refused the change set: "
                          f"{exc.response.get('Error', {}).get('Message', exc)}") from exc
    cs = _wait_change_set(cfn, created["Id"], timeout=300)
    if cs["Status"] == "FAILED":
        reason = cs.get("StatusReason", "")
        if any(marker in reason for marker in _NO_CHANGES):
            cfn.delete_change_set(ChangeSetName=created["Id"])
            stack = describe(cfn, spec.name)
            result.status, result.outputs = stack["StackStatus"], outputs(stack)
            echo(f"{spec.name}: no changes ({stack['StackStatus']})")
            return result
        raise DeployError(f"{spec.name}: change set failed: {reason}")
    result.changes = [_change(c) for c in cs["Changes"]]
    echo(f"{spec.name}: change set {name} ({cs_type.lower()}, {len(result.changes)} change(s))")
    for change in result.changes:
        echo(f"  {change}")
    if not execute:
        cfn.delete_change_set(ChangeSetName=created["Id"])
        if cs_type == "CREATE":  # the change set's placeholder stack (REVIEW_IN_PROGRESS)
            cfn.delete_stack(StackName=spec.name)
        echo(f"{spec.name}: change set not executed (--plan)")
        return result
    started = time.time()
    cfn.execute_change_set(ChangeSetName=created["Id"])
    waiter = "stack_create_complete" if cs_type == "CREATE" else "stack_update_complete"
    try:
        cfn.get_waiter(waiter).wait(StackName=created["StackId"],
                                    WaiterConfig={"Delay": 1, "MaxAttempts": int(timeout)})
    except WaiterError:
        stack = _wait_not_in_progress(cfn, created["StackId"], timeout)
        status = (stack or {}).get("StackStatus", "DELETED")
        reasons = failure_reasons(cfn, created["StackId"], started) or [
            (stack or {}).get("StackStatusReason") or "no reason given"]
        if cs_type == "CREATE" and any("already exists" in r for r in reasons):
            reasons.append("a resource with that name exists outside the stack (a bucket "
                           "`shoplake destroy` kept because it holds data?): delete it, or "
                           "`shoplake destroy --force`, then deploy again")
        raise DeployError(f"{spec.name}: deploy failed and was rolled back ({status}): "
                          + "; ".join(reasons)) from None
    stack = describe(cfn, spec.name)
    result.executed = True
    result.status, result.outputs = stack["StackStatus"], outputs(stack)
    echo(f"{spec.name}: {result.status} in {time.time() - started:.1f}s")
    return result


def delete(cfn: Any, name: str, echo: Callable[[str], None], timeout: float = 1800) -> bool:
    """Delete the stack; False when there was none."""
    stack = describe(cfn, name)
    if stack is None:
        echo(f"{name}: no such stack")
        return False
    started = time.time()
    cfn.delete_stack(StackName=stack["StackId"])
    try:
        cfn.get_waiter("stack_delete_complete").wait(
            StackName=stack["StackId"], WaiterConfig={"Delay": 1, "MaxAttempts": int(timeout)})
    except WaiterError:
        reasons = failure_reasons(cfn, stack["StackId"], started)
        raise DeployError(f"{name}: delete failed: " + "; ".join(reasons or ["no reason given"])) from None
    echo(f"{name}: deleted")
    return True
