"""``shoplake deploy``: the platform's infrastructure through CloudFormation.

Two stacks from ``infra/``: ``<project>-artifacts`` (the bucket the code is packaged into)
and ``<project>`` (everything else, infra/shoplake.yaml). A deploy packages the code
(:mod:`.package`), drives each stack through a change set (:mod:`.cloudformation`), then
deploys the warehouse side (:mod:`shoplake.warehouse.setup`). ``--plan`` renders all of it
offline (:mod:`.plan`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shoplake import aws
from shoplake.deploy import cloudformation as cfn_ops
from shoplake.deploy import package
from shoplake.deploy.cloudformation import Change, DeployError, Result
from shoplake.deploy.parameters import DATASETS, artifacts_stack, platform_stack
from shoplake.settings import Settings

#: Parameters the warehouse deploy (storage-integration handshake) owns; a deploy keeps
#: their current values.
SNOWFLAKE_PARAMETERS = ("SnowflakeIamUserArn", "SnowflakeExternalId")


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        return [c for r in self.results for c in r.changes]

    @property
    def outputs(self) -> dict[str, str]:
        return {k: v for r in self.results for k, v in r.outputs.items()}


def deploy(
    settings: Settings,
    echo: Callable[[str], None] = print,
    *,
    execute: bool = True,
    warehouse: bool = True,
) -> Report:
    """Deploy (or with ``execute=False`` only show) every change. A second deploy of the same
    commit says "no changes"."""
    cfn = aws.client("cloudformation", settings)
    echo(f"deploying to {settings.aws_endpoint_url or 'AWS'} ({settings.profile}, region {settings.region})")
    report = Report()
    report.results.append(cfn_ops.apply(cfn, artifacts_stack(settings), echo, execute=execute))
    artifacts = package.build()
    if execute:
        package.upload(aws.client("s3", settings), settings.artifacts_bucket, artifacts, echo)
    current = cfn_ops.parameters_of(cfn_ops.describe(cfn, settings.stack_name))
    snowflake = {k: current[k] for k in SNOWFLAKE_PARAMETERS if k in current}
    spec = platform_stack(settings, package.keys(artifacts), snowflake)
    report.results.append(cfn_ops.apply(cfn, spec, echo, execute=execute))
    if execute and warehouse:
        from shoplake.warehouse.setup import deploy_warehouse

        handshake = deploy_warehouse(settings, report.outputs, echo)
        if handshake and handshake != snowflake:
            echo("storage integration: trusting Snowflake's IAM user in the stage role")
            spec = platform_stack(settings, package.keys(artifacts), handshake)
            report.results.append(cfn_ops.apply(cfn, spec, echo))
    if execute:
        for key, value in sorted(report.outputs.items()):
            echo(f"  {key} = {value}")
    return report


def destroy(settings: Settings, echo: Callable[[str], None] = print, *, force: bool = False) -> None:
    """Delete the stacks. Buckets are retained (DeletionPolicy) unless ``force`` empties
    and deletes them; a bucket that holds data is never deleted otherwise."""
    cfn = aws.client("cloudformation", settings)
    cfn_ops.delete(cfn, settings.stack_name, echo)
    cfn_ops.delete(cfn, artifacts_stack(settings).name, echo)
    s3 = aws.client("s3", settings)
    for bucket in (settings.lake_bucket, settings.artifacts_bucket):
        _remove_bucket(s3, bucket, echo, force=force)
    _remove_pii_key(settings, echo, force=force)


def _remove_pii_key(settings: Settings, echo: Callable[[str], None], *, force: bool) -> None:
    """The PII key is retained like the lake (a new one changes every email_hash)."""
    from botocore.exceptions import ClientError

    from shoplake.pii import secret_name

    sm = aws.client("secretsmanager", settings)
    name = secret_name(settings)
    try:
        described = sm.describe_secret(SecretId=name)
    except ClientError:
        return  # never created, or already deleted
    if not force:
        echo(f"kept secret {name}: the PII hashing key (`shoplake destroy --force` deletes it)")
        return
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    echo(f"deleted secret {name}")
    if described.get("KmsKeyId"):  # its own KMS key, retained with it (PiiKeyEncryptionKey)
        aws.client("kms", settings).schedule_key_deletion(KeyId=described["KmsKeyId"], PendingWindowInDays=7)
        echo(f"scheduled the deletion of its KMS key {described['KmsKeyId']} (7 days)")


def _remove_bucket(s3: object, bucket: str, echo: Callable[[str], None], *, force: bool) -> None:
    from botocore.exceptions import ClientError

    try:
        versions = s3.list_object_versions(Bucket=bucket, MaxKeys=1)  # type: ignore[attr-defined]
    except ClientError:
        return  # no such bucket
    holds_data = bool(versions.get("Versions") or versions.get("DeleteMarkers"))
    if holds_data and not force:
        echo(f"kept s3://{bucket}: it holds data (`shoplake destroy --force` deletes it)")
        return
    paginator = s3.get_paginator("list_object_versions")  # type: ignore[attr-defined]
    for page in paginator.paginate(Bucket=bucket):
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})  # type: ignore[attr-defined]
    s3.delete_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    echo(f"deleted s3://{bucket}")


__all__ = ["DATASETS", "Change", "DeployError", "Report", "deploy", "destroy"]
