"""Make the account match :func:`shoplake.deploy.resources.build_plan`: read, compare, change
only what differs. The same plain boto3 code runs against MiniStack, compose and real AWS."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from shoplake import aws
from shoplake.deploy.resources import LambdaSpec, Plan, build_plan
from shoplake.settings import ROOT, Settings

_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


@dataclass
class Change:
    kind: str
    name: str
    action: str  # created | updated | unchanged

    def __str__(self) -> str:
        return f"{self.action:>9}  {self.kind:<22} {self.name}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _canon(value: Any) -> Any:
    """Policies come back as strings or dicts; compare them as parsed JSON."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def deterministic_zip(files: dict[str, Path]) -> bytes:
    """A zip whose bytes depend only on the file contents (stable CodeSha256)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[arcname].read_bytes())
    return buf.getvalue()


def package_dir(src: Path, prefix: str = "") -> dict[str, Path]:
    return {
        f"{prefix}{p.relative_to(src).as_posix()}": p
        for p in sorted(src.rglob("*.py"))
        if "__pycache__" not in p.parts and not p.name.startswith("test_")
    }


def lambda_zip(spec: LambdaSpec) -> bytes:
    files = package_dir(ROOT / spec.source_dir)
    for shared in spec.shared:
        files[Path(shared).name] = ROOT / shared
    return deterministic_zip(files)


class Applier:
    def __init__(self, settings: Settings, echo: Callable[[str], None]) -> None:
        self.s = settings
        self.echo = echo
        self.changes: list[Change] = []
        self.s3 = aws.client("s3", settings)
        self.sqs = aws.client("sqs", settings)
        self.sns = aws.client("sns", settings)
        self.iam = aws.client("iam", settings)
        self.ssm = aws.client("ssm", settings)
        self.lam = aws.client("lambda", settings)
        self.events = aws.client("events", settings)
        self.glue = aws.client("glue", settings)

    def record(self, kind: str, name: str, action: str) -> None:
        change = Change(kind, name, action)
        self.changes.append(change)
        if action != "unchanged":
            self.echo(f"  {change}")

    # --- S3 ---------------------------------------------------------------------------
    def bucket(self, spec: dict[str, Any]) -> None:
        name = spec["Bucket"]
        action = "unchanged"
        try:
            self.s3.head_bucket(Bucket=name)
        except ClientError:
            kwargs: dict[str, Any] = {"Bucket": name}
            if self.s.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.s.region}
            self.s3.create_bucket(**kwargs)
            action = "created"
        if spec["Versioning"] and self.s3.get_bucket_versioning(Bucket=name).get("Status") != "Enabled":
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            action = action if action == "created" else "updated"
        try:
            current = self.s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
            same = current["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        except (ClientError, KeyError, IndexError):
            same = False
        if not same:
            self.s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=spec["Encryption"])
            action = action if action == "created" else "updated"
        block = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
        try:
            current_block = self.s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except ClientError:
            current_block = {}
        if current_block != block:
            self.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
            action = action if action == "created" else "updated"
        self.record("s3 bucket", name, action)

    def notification(self, spec: dict[str, Any], queue_arns: dict[str, str]) -> None:
        bucket = spec["Bucket"]
        want = [dict(c, QueueArn=c["QueueArn"]) for c in spec["QueueConfigurations"]]
        current = self.s3.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations", [])

        def norm(cfgs: list[dict[str, Any]]) -> list[Any]:
            return sorted(
                (c.get("Id"), c["QueueArn"], tuple(sorted(c["Events"])),
                 json.dumps(c.get("Filter", {}), sort_keys=True).lower())
                for c in cfgs
            )

        if norm(current) == norm(want):
            self.record("s3 notification", bucket, "unchanged")
            return
        self.s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": want}
        )
        self.record("s3 notification", bucket, "created" if not current else "updated")

    def artifact(self, spec: dict[str, Any]) -> None:
        if "SourceDir" in spec:
            src = Path(spec["SourceDir"])
            body = deterministic_zip(package_dir(src, prefix=f"{src.name}/"))
        else:
            body = Path(spec["Source"]).read_bytes()
        digest = hashlib.md5(body).hexdigest()  # noqa: S324 - matches the S3 ETag of a single-part put
        try:
            etag = self.s3.head_object(Bucket=spec["Bucket"], Key=spec["Key"])["ETag"].strip('"')
        except ClientError:
            etag = None
        if etag == digest:
            self.record("artifact", f"s3://{spec['Bucket']}/{spec['Key']}", "unchanged")
            return
        self.s3.put_object(Bucket=spec["Bucket"], Key=spec["Key"], Body=body)
        self.record("artifact", f"s3://{spec['Bucket']}/{spec['Key']}", "created" if etag is None else "updated")

    # --- SQS / SNS --------------------------------------------------------------------
    def queue(self, spec: dict[str, Any]) -> str:
        name = spec["QueueName"]
        attrs = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in spec["Attributes"].items()}
        try:
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError:
            url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
            self.record("sqs queue", name, "created")
            return url
        current = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        diff = {k: v for k, v in attrs.items() if _canon(current.get(k)) != _canon(v)}
        if diff:
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes=diff)
        self.record("sqs queue", name, "updated" if diff else "unchanged")
        return url

    def topic(self, spec: dict[str, Any]) -> str:
        existing = {t["TopicArn"] for page in self.sns.get_paginator("list_topics").paginate() for t in page["Topics"]}
        arn = self.sns.create_topic(Name=spec["Name"])["TopicArn"]  # idempotent
        self.record("sns topic", spec["Name"], "unchanged" if arn in existing else "created")
        return arn

    def subscription(self, spec: dict[str, Any]) -> None:
        subs = self.sns.list_subscriptions_by_topic(TopicArn=spec["TopicArn"])["Subscriptions"]
        if any(x["Protocol"] == spec["Protocol"] and x["Endpoint"] == spec["Endpoint"] for x in subs):
            self.record("sns subscription", f"{spec['Protocol']}:{spec['Endpoint']}", "unchanged")
            return
        self.sns.subscribe(**spec, ReturnSubscriptionArn=True)
        self.record("sns subscription", f"{spec['Protocol']}:{spec['Endpoint']}", "created")

    # --- IAM / SSM --------------------------------------------------------------------
    def role(self, spec: dict[str, Any]) -> None:
        name = spec["RoleName"]
        action = "unchanged"
        try:
            current = self.iam.get_role(RoleName=name)["Role"]
            if _canon(current.get("AssumeRolePolicyDocument")) != spec["Trust"]:
                self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(spec["Trust"]))
                action = "updated"
        except ClientError:
            self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(spec["Trust"]))
            action = "created"
        policy_name = f"{name}-least-privilege"
        try:
            doc = self.iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        except ClientError:
            doc = None
        if _canon(doc) != spec["Policy"]:
            self.iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(spec["Policy"]))
            action = action if action == "created" else "updated"
        self.record("iam role", name, action)

    def parameter(self, spec: dict[str, Any]) -> None:
        try:
            value = self.ssm.get_parameter(Name=spec["Name"])["Parameter"]["Value"]
        except ClientError:
            value = None
        if value == spec["Value"]:
            self.record("ssm parameter", spec["Name"], "unchanged")
            return
        self.ssm.put_parameter(Name=spec["Name"], Value=spec["Value"], Type=spec["Type"], Overwrite=True)
        self.record("ssm parameter", spec["Name"], "created" if value is None else "updated")

    # --- Lambda / EventBridge ---------------------------------------------------------
    def function(self, spec: LambdaSpec) -> None:
        body = lambda_zip(spec)
        sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
        config = {
            "Role": spec.role, "Handler": spec.handler, "Runtime": spec.runtime, "Timeout": spec.timeout,
            "MemorySize": spec.memory, "Environment": {"Variables": spec.environment},
        }
        try:
            current = self.lam.get_function_configuration(FunctionName=spec.name)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            self.lam.create_function(FunctionName=spec.name, Code={"ZipFile": body}, Publish=False, **config)
            self._wait_function(spec.name)
            self.record("lambda function", spec.name, "created")
            return
        action = "unchanged"
        if current.get("CodeSha256") != sha:
            self.lam.update_function_code(FunctionName=spec.name, ZipFile=body)
            self._wait_function(spec.name)
            action = "updated"
        want = dict(config)
        have = {k: current.get(k) for k in want}
        if have != want:
            self.lam.update_function_configuration(FunctionName=spec.name, **config)
            self._wait_function(spec.name)
            action = "updated"
        self.record("lambda function", spec.name, action)

    def _wait_function(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cfg = self.lam.get_function_configuration(FunctionName=name)
            if cfg.get("State", "Active") == "Active" and cfg.get("LastUpdateStatus", "Successful") != "InProgress":
                return
            time.sleep(0.3)

    def event_source_mapping(self, spec: dict[str, Any]) -> None:
        maps = self.lam.list_event_source_mappings(FunctionName=spec["FunctionName"])["EventSourceMappings"]
        mine = [m for m in maps if m["EventSourceArn"] == spec["EventSourceArn"]]
        if not mine:
            self.lam.create_event_source_mapping(Enabled=True, **spec)
            self.record("event source mapping", f"{spec['EventSourceArn']} -> {spec['FunctionName']}", "created")
            return
        m = mine[0]
        tunables = ("BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "ScalingConfig")
        diff = {k: spec[k] for k in tunables if m.get(k) != spec[k]}
        if diff:
            self.lam.update_event_source_mapping(UUID=m["UUID"], **diff)
        self.record("event source mapping", f"{spec['EventSourceArn']} -> {spec['FunctionName']}",
                    "updated" if diff else "unchanged")

    def rule(self, spec: dict[str, Any]) -> None:
        name = spec["Name"]
        # an event pattern, or a schedule
        shape = ({"EventPattern": json.dumps(spec["EventPattern"])} if "EventPattern" in spec
                 else {"ScheduleExpression": spec["ScheduleExpression"]})
        action = "unchanged"
        try:
            current = self.events.describe_rule(Name=name)
            if any(_canon(current.get(k)) != _canon(v) for k, v in shape.items()):
                action = "updated"
        except ClientError:
            current = None
            action = "created"
        if action != "unchanged":
            self.events.put_rule(Name=name, State="ENABLED", **shape)
        targets = self.events.list_targets_by_rule(Rule=name)["Targets"]
        target = spec["Target"]
        if not any(t["Id"] == target["Id"] and t["Arn"] == target["Arn"] for t in targets):
            self.events.put_targets(Rule=name, Targets=[target])
            action = action if action == "created" else "updated"
        # AWS refuses the invocation without this; MiniStack does not check, but we add it anyway.
        rule_arn = self.events.describe_rule(Name=name)["Arn"]
        try:
            self.lam.add_permission(
                FunctionName=spec["FunctionName"], StatementId=f"{name}-invoke", Action="lambda:InvokeFunction",
                Principal="events.amazonaws.com", SourceArn=rule_arn,
            )
        except ClientError as exc:
            if _code(exc) != "ResourceConflictException":
                raise
        self.record("eventbridge rule", name, action)

    # --- Glue -------------------------------------------------------------------------
    def job(self, spec: dict[str, Any]) -> None:
        name = spec["Name"]
        definition = {k: v for k, v in spec.items() if k != "Name"}
        try:
            current = self.glue.get_job(JobName=name)["Job"]
        except ClientError as exc:
            if _code(exc) != "EntityNotFoundException":
                raise
            self.glue.create_job(Name=name, **definition)
            self.record("glue job", name, "created")
            return
        keys = ("Role", "Command", "DefaultArguments", "ExecutionProperty", "MaxRetries", "Timeout")
        if all(_canon(current.get(k)) == definition[k] for k in keys):
            self.record("glue job", name, "unchanged")
            return
        self.glue.update_job(JobName=name, JobUpdate=definition)
        self.record("glue job", name, "updated")


def account_id(settings: Settings) -> str:
    try:
        return str(aws.client("sts", settings).get_caller_identity()["Account"])
    except Exception:  # noqa: BLE001 - emulators without STS: fall back to the configured id
        return settings.account_id


def apply_plan(settings: Settings, plan: Plan, echo: Callable[[str], None]) -> list[Change]:
    a = Applier(settings, echo)
    for b in plan.buckets:
        a.bucket(b)
    queue_arns = {}
    for q in plan.queues:
        url = a.queue(q)
        queue_arns[q["QueueName"]] = url
    for t in plan.topics:
        a.topic(t)
    for sub in plan.subscriptions:
        a.subscription(sub)
    for nconf in plan.notifications:
        a.notification(nconf, queue_arns)
    for r in plan.roles:
        a.role(r)
    for prm in plan.parameters:
        a.parameter(prm)
    for art in plan.artifacts:
        if Path(art.get("Source") or art["SourceDir"]).exists():
            a.artifact(art)
    if (ROOT / "lambdas").exists():
        for f in plan.functions:
            if (ROOT / f.source_dir / "handler.py").exists():
                a.function(f)
        for m in plan.event_source_mappings:
            a.event_source_mapping(m)
        for rule in plan.rules:
            a.rule(rule)
    if settings.glue_endpoint_url or settings.aws_endpoint_url is None:
        for j in plan.jobs:
            a.job(j)
    return a.changes


def deploy(settings: Settings, echo: Callable[[str], None] = print) -> list[Change]:
    """Provision everything; returns the changes. A second run reports no changes."""
    echo(f"deploying to {settings.aws_endpoint_url or 'AWS'} ({settings.profile}) ...")
    plan = build_plan(settings, account_id(settings))
    changes = apply_plan(settings, plan, echo)
    changed = [c for c in changes if c.action != "unchanged"]
    echo(f"deploy: {len(changed)} change(s), {len(changes) - len(changed)} unchanged"
         if changed else f"deploy: no changes ({len(changes)} resources up to date)")
    return changes
