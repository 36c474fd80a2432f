"""Provisioning against the real emulator over HTTP."""

from __future__ import annotations

import json
import time
from urllib.parse import unquote_plus

import pytest

from shoplake import aws
from shoplake.deploy import build_plan
from shoplake.deploy.apply import Applier, apply_plan
from shoplake.settings import Settings

pytestmark = pytest.mark.slow


def test_deploy_is_idempotent(fresh_emulator: Settings) -> None:
    s = fresh_emulator
    plan = build_plan(s, "000000000000")
    plan.jobs = []  # Glue jobs go to the job runner, not part of this emulator-only test
    first = apply_plan(s, plan, echo=lambda _: None)
    assert any(c.action == "created" for c in first)
    second = apply_plan(s, plan, echo=lambda _: None)
    assert [c for c in second if c.action != "unchanged"] == []
    s3 = aws.client("s3", s)
    assert s3.get_bucket_versioning(Bucket=s.lake_bucket)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=s.lake_bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
    enc = s3.get_bucket_encryption(Bucket=s.lake_bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    sqs = aws.client("sqs", s)
    url = sqs.get_queue_url(QueueName=s.ingest_queue)["QueueUrl"]
    redrive = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
                         ["Attributes"]["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == 3 and redrive["deadLetterTargetArn"].endswith(s.ingest_dlq)
    assert aws.client("ssm", s).get_parameter(Name=f"{s.ssm_prefix}/lake_bucket")["Parameter"]["Value"] == s.lake_bucket


def test_object_under_raw_raises_an_event_on_the_ingest_queue(fresh_emulator: Settings) -> None:
    s = fresh_emulator
    plan = build_plan(s, "000000000000")
    a = Applier(s, echo=lambda _: None)
    for b in plan.buckets:
        a.bucket(b)
    for q in plan.queues:
        a.queue(q)
    for n in plan.notifications:
        a.notification(n, {})
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
