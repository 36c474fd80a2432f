"""``shoplake deploy`` through CloudFormation on the real emulator over HTTP."""

from __future__ import annotations

import base64
import functools
import json
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from shoplake import aws
from shoplake.deploy import DeployError, deploy, destroy, package
from shoplake.settings import ROOT, Settings

pytestmark = pytest.mark.slow


def _quiet(_: str) -> None:
    pass


def _deploy(s: Settings, **kwargs):  # the warehouse side has its own tests
    return deploy(s, echo=_quiet, warehouse=False, **kwargs)


def _source_copy(tmp_path: Path) -> Path:
    for folder in ("lambdas", "jobs", "src/shoplake_contract"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _stack_status(s: Settings) -> str:
    return aws.client("cloudformation", s).describe_stacks(StackName=s.stack_name)["Stacks"][0]["StackStatus"]


def test_deploy_creates_the_stack_and_a_second_deploy_changes_nothing(fresh_emulator: Settings) -> None:
    s = fresh_emulator
    first = _deploy(s)
    assert {c.action for c in first.changes} == {"Add"} and len(first.changes) >= 30
    assert _stack_status(s) == "CREATE_COMPLETE"
    lines: list[str] = []
    second = deploy(s, echo=lines.append, warehouse=False)
    assert second.changes == []
    assert sum("no changes" in line for line in lines) == 2  # both stacks
    s3 = aws.client("s3", s)
    assert s3.get_bucket_versioning(Bucket=s.lake_bucket)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=s.lake_bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
    enc = s3.get_bucket_encryption(Bucket=s.lake_bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "SecureTransport" in s3.get_bucket_policy(Bucket=s.lake_bucket)["Policy"]
    sqs = aws.client("sqs", s)
    url = sqs.get_queue_url(QueueName=s.ingest_queue)["QueueUrl"]
    redrive = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
                         ["Attributes"]["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == 3 and redrive["deadLetterTargetArn"].endswith(s.ingest_dlq)
    assert aws.client("ssm", s).get_parameter(Name=f"{s.ssm_prefix}/lake_bucket")["Parameter"]["Value"] == s.lake_bucket
    esm = aws.client("lambda", s).list_event_source_mappings(FunctionName=s.lambda_name)["EventSourceMappings"]
    assert [(m["BatchSize"], m["MaximumBatchingWindowInSeconds"], m["FunctionResponseTypes"],
             m["ScalingConfig"]) for m in esm] == [(5, 1, ["ReportBatchItemFailures"], {"MaximumConcurrency": 2})]
    jobs = aws.client("glue", s).get_jobs()["Jobs"]
    assert sorted(j["Name"] for j in jobs) == sorted(f"{s.glue_job_prefix}-{d}" for d in ("orders", "customers", "products"))


def test_object_under_raw_raises_an_event_on_the_ingest_queue(fresh_emulator: Settings) -> None:
    s = fresh_emulator
    _deploy(s)
    lam = aws.client("lambda", s)
    for m in lam.list_event_source_mappings(FunctionName=s.lambda_name)["EventSourceMappings"]:
        lam.update_event_source_mapping(UUID=m["UUID"], Enabled=False)  # read the queue ourselves
    s3, sqs = aws.client("s3", s), aws.client("sqs", s)
    url = sqs.get_queue_url(QueueName=s.ingest_queue)["QueueUrl"]
    s3.put_object(Bucket=s.lake_bucket, Key="raw/orders/ingest_date=2026-01-01/orders_a.csv", Body=b"order_id\n1\n")
    s3.put_object(Bucket=s.lake_bucket, Key="curated/not-an-event.txt", Body=b"x")
    keys: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not keys:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(m["Body"])
            keys += [unquote_plus(r["s3"]["object"]["key"]) for r in body.get("Records", [])]
    assert keys == ["raw/orders/ingest_date=2026-01-01/orders_a.csv"]


def test_editing_one_lambda_modifies_exactly_that_function_and_its_code_runs(
    fresh_emulator: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = fresh_emulator
    _deploy(s)
    root = _source_copy(tmp_path)
    marker = uuid.uuid4().hex
    handler = root / "lambdas" / "job_events" / "handler.py"
    handler.write_text(handler.read_text() + f"\n\ndef handler(event, context):\n    return {{'marker': '{marker}'}}\n")
    monkeypatch.setattr(package, "build", functools.partial(package.build, root))
    plan = _deploy(s, execute=False)  # --plan --live: the change set, not executed
    assert [(c.action, c.logical_id, c.replacement) for c in plan.changes] == [("Modify", "JobEventsFunction", "False")]
    assert _stack_status(s) == "CREATE_COMPLETE"
    report = _deploy(s)
    assert [(c.action, c.logical_id) for c in report.changes] == [("Modify", "JobEventsFunction")]
    assert _stack_status(s) == "UPDATE_COMPLETE"
    out = aws.client("lambda", s).invoke(FunctionName=s.job_events_function, Payload=b"{}")
    assert json.loads(out["Payload"].read()) == {"marker": marker}, base64.b64decode(out.get("LogResult", ""))


def test_a_failed_deploy_rolls_back_and_names_the_resource(
    fresh_emulator: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = fresh_emulator
    _deploy(s)
    real_keys = package.keys

    def missing_code(artifacts: list[package.Artifact]) -> dict[str, str]:
        return {**real_keys(artifacts), "TriggerCodeKey": "lambdas/0000/not-uploaded.zip"}

    monkeypatch.setattr(package, "keys", missing_code)
    with pytest.raises(DeployError) as failed:
        _deploy(s)
    assert "TriggerFunction (AWS::Lambda::Function)" in str(failed.value)
    assert "rolled back" in str(failed.value)
    assert _stack_status(s) == "UPDATE_ROLLBACK_COMPLETE"
    monkeypatch.setattr(package, "keys", real_keys)
    assert _deploy(s).changes == []  # the rolled-back stack is the deployed one


def test_destroy_keeps_buckets_with_data_unless_forced(fresh_emulator: Settings) -> None:
    s = fresh_emulator
    _deploy(s)
    s3 = aws.client("s3", s)
    s3.put_object(Bucket=s.lake_bucket, Key="raw/orders/ingest_date=2026-01-01/keep.csv", Body=b"order_id\n1\n")
    lines: list[str] = []
    destroy(s, echo=lines.append)
    cfn = aws.client("cloudformation", s)
    live = [x for x in cfn.list_stacks()["StackSummaries"] if x["StackStatus"] != "DELETE_COMPLETE"]
    assert live == []
    assert s3.head_object(Bucket=s.lake_bucket, Key="raw/orders/ingest_date=2026-01-01/keep.csv")
    assert any("kept s3://shoplake-lake" in line for line in lines)
    # the PII hashing key outlives the stack like the lake (a new key changes every hash)
    sm = aws.client("secretsmanager", s)
    assert len(sm.get_secret_value(SecretId="shoplake/pii-hmac-key")["SecretString"]) == 64
    assert any("kept secret shoplake/pii-hmac-key" in line for line in lines)
    key_id = sm.describe_secret(SecretId="shoplake/pii-hmac-key")["KmsKeyId"]
    destroy(s, echo=_quiet, force=True)
    key = aws.client("kms", s).describe_key(KeyId=key_id)["KeyMetadata"]
    assert key["KeyState"] == "PendingDeletion"
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert not names & {s.lake_bucket, s.artifacts_bucket}
    assert "shoplake/pii-hmac-key" not in {x["Name"] for x in sm.list_secrets()["SecretList"]}
    assert _deploy(s).changes  # a clean account deploys from scratch again
    assert _stack_status(s) == "CREATE_COMPLETE"
