"""The event path end to end on the embedded stack: S3 put -> SQS -> Lambda -> Glue job runner
-> cleanse job -> curated Parquet + quarantine + manifest -> EventBridge -> job-state Lambda
-> ledger, alerts, DLQ. Real processes over HTTP; nothing mocked."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest

from shoplake import alerts, aws, dlq, lake
from shoplake.deploy import deploy
from shoplake.ingest import ingest, wait
from shoplake.settings import Settings

pytestmark = pytest.mark.slow

HEADER = "order_id,line_number,customer_id,product_id,quantity,unit_price,currency,status,order_ts,updated_at\n"


def _row(order: str, line: int = 1, qty: str = "2", price: str = "9.99", cur: str = "USD") -> str:
    return f"{order},{line},C000001,P00001,{qty},{price},{cur},placed,2026-01-01T10:00:00Z,2026-01-01T10:00:00Z\n"


def _quiet(_: str) -> None:
    pass


def _put(s: Settings, key: str, body: bytes) -> str:
    aws.client("s3", s).put_object(Bucket=s.lake_bucket, Key=key, Body=body)
    return key


def _wait(s: Settings, keys: set[str], timeout: float = 180) -> Any:
    result = wait(s, timeout=timeout, poll=0.5, echo=_quiet, keys=keys)
    assert not result.timed_out, [(o.key, o.status) for o in result.objects]
    return result


def _alerts_for(s: Settings, obj: str, event: str, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in alerts.latest(s, 1000) if a.get("object") == obj and a.get("event") == event]
        if found:
            return found
        time.sleep(0.5)
    return []


def _dlq_entry(s: Settings, obj: str, timeout: float = 60) -> dlq.DeadLetter | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for d in dlq.peek(s, hold_seconds=1):
            if d.object == obj:
                return d
        time.sleep(1)
    return None


def test_file_becomes_curated_and_quarantine_with_counts(stack: Settings, tmp_path: Path) -> None:
    f = tmp_path / "orders_2026-02-01.csv"
    f.write_text(HEADER + _row("O1") + _row("O1") + _row("O2", qty="-1") + _row("O3", price="abc") + _row("O4"))
    [up] = ingest([f], stack, echo=_quiet)
    assert up.action == "uploaded" and up.key == "raw/orders/ingest_date=2026-02-01/orders_2026-02-01.csv"
    result = _wait(stack, {up.key})
    [obj] = result.objects
    assert obj.status == "SUCCEEDED"
    counts = obj.detail["counts"]
    assert counts["rows_read"] == 5 and counts["rows_written"] == 2 and counts["duplicates_dropped"] == 1
    assert counts["quarantined_by_reason"]["non_positive_quantity"] == 1
    assert counts["quarantined_by_reason"]["bad_type"] == 1
    m = lake.manifest(stack, "orders", obj.source_id)
    assert m and m["status"] == "SUCCEEDED" and len(m["files"]) >= 1
    keys = {o["Key"] for o in lake.list_keys(stack, "curated/orders/")}
    assert set(m["files"]) <= keys
    assert any(k.startswith(f"quarantine/orders/{obj.source_id}") for k in
               (o["Key"] for o in lake.list_keys(stack, "quarantine/orders/")))
    assert _alerts_for(stack, f"s3://{stack.lake_bucket}/{up.key}", "job_succeeded")
    # the raw object is untouched
    body = aws.client("s3", stack).get_object(Bucket=stack.lake_bucket, Key=up.key)["Body"].read()
    assert body == f.read_bytes()
    # re-ingesting identical content uploads nothing (no new version, no new event)
    assert ingest([f], stack, echo=_quiet)[0].action == "unchanged"


def test_duplicate_delivery_starts_one_run(stack: Settings) -> None:
    key = _put(stack, "raw/orders/ingest_date=2026-02-02/orders_dup.csv", (HEADER + _row("D1")).encode())
    result = _wait(stack, {key})
    [obj] = result.objects
    first_run = obj.detail["job_run_id"]
    sqs = aws.client("sqs", stack)
    url = sqs.get_queue_url(QueueName=stack.ingest_queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Records": [obj.detail["record"]]}))
    time.sleep(3)
    _wait(stack, {key})
    runs = aws.client("glue", stack).get_job_runs(JobName=f"{stack.glue_job_prefix}-orders")["JobRuns"]
    mine = [r for r in runs if r["Arguments"].get("--source_uri", "").endswith("orders_dup.csv")]
    assert [r["Id"] for r in mine] == [first_run]


def test_gzip_and_header_only_files_load(stack: Settings) -> None:
    gz = _put(stack, "raw/orders/ingest_date=2026-02-03/orders_gz.csv.gz", gzip.compress((HEADER + _row("G1")).encode()))
    hdr = _put(stack, "raw/orders/ingest_date=2026-02-03/orders_hdr.csv", HEADER.encode())
    result = _wait(stack, {gz, hdr})
    by_key = {o.key: o for o in result.objects}
    assert by_key[gz].status == "SUCCEEDED" and by_key[gz].detail["counts"]["rows_written"] == 1
    assert by_key[hdr].status == "SUCCEEDED" and by_key[hdr].detail["counts"]["rows_read"] == 0


def test_upper_case_suffix_loads_and_a_gzip_bomb_dead_letters_with_limit_exceeded(stack: Settings) -> None:
    """Issue 12: ``.CSV.GZ`` is gunzipped by the job as the Lambda's rule says; ~1 MB of gzip
    that expands to 1 GiB without a line end stops at the 1 MiB line cap (default limits) and
    reaches the DLQ with reason limit_exceeded."""
    up = _put(stack, "raw/orders/ingest_date=2026-02-06/ORDERS_UP.CSV.GZ",
              gzip.compress((HEADER + _row("U1") + _row("U2")).encode()))
    member = gzip.compress(b"\0" * (16 << 20), compresslevel=9)
    bomb = _put(stack, "raw/orders/ingest_date=2026-02-06/orders_bomb.csv.gz", member * 64)
    result = _wait(stack, {up, bomb})
    by_key = {o.key: o for o in result.objects}
    assert by_key[up].status == "SUCCEEDED", by_key[up].detail
    assert by_key[up].detail["counts"]["rows_written"] == 2
    entry = _dlq_entry(stack, f"s3://{stack.lake_bucket}/{bomb}")
    assert entry is not None and entry.failure_point == "job" and entry.reason == "limit_exceeded"
    assert "line 1 is longer than 1048576 bytes" in str(entry.detail)


@pytest.mark.parametrize("key,body,reason", [
    ("raw/unknown/ingest_date=2026-02-04/stuff.csv", b"a,b\n1,2\n", "unknown_dataset"),
    ("raw/orders/ingest_date=2026-02-04/orders_empty.csv", b"", "empty_object"),
    ("raw/orders/ingest_date=2026-02-04/", b"", "directory_marker"),
    ("raw/orders/ingest_date=2026-02-04/notes.txt", b"hello", "bad_file_name"),
])
def test_invalid_object_alerts_and_lands_in_dlq(stack: Settings, key: str, body: bytes, reason: str) -> None:
    _put(stack, key, body)
    obj = f"s3://{stack.lake_bucket}/{key}"
    entry = _dlq_entry(stack, obj)
    assert entry is not None, f"{key} not in the DLQ"
    assert entry.failure_point == "lambda" and entry.reason == reason
    assert _alerts_for(stack, obj, "ingest_rejected")


_JOB_FIELDS = ("Role", "Command", "DefaultArguments", "MaxRetries", "Timeout", "GlueVersion",
               "WorkerType", "NumberOfWorkers", "ExecutionProperty")


def _restore_jobs(glue: Any, saved: dict[str, dict[str, Any]]) -> None:
    existing = set(glue.list_jobs()["JobNames"])  # through the runner (MiniStack has no ListJobs)
    for name, job in saved.items():
        definition = {k: job[k] for k in _JOB_FIELDS if job.get(k) is not None}
        if name in existing:
            glue.update_job(JobName=name, JobUpdate=definition)
        else:
            glue.create_job(Name=name, **definition)


def test_failures_at_both_points_are_replayable_without_duplicates(stack: Settings) -> None:
    glue = aws.client("glue", stack)
    # 1. the Lambda cannot start the job: its Glue job does not exist
    job = f"{stack.glue_job_prefix}-customers"
    saved = {name: glue.get_job(JobName=name)["Job"] for name in (job, f"{stack.glue_job_prefix}-orders")}
    glue.delete_job(JobName=job)
    c_key = _put(stack, "raw/customers/ingest_date=2026-02-05/customers_x.json",
                 b'{"customer_id":"C9","first_name":"A","last_name":"B","email":"A@X.COM","phone":"1",'
                 b'"city":"Oslo","country":"no","loyalty_tier":"Gold","signup_at":"2026-01-01T00:00:00Z",'
                 b'"updated_at":"2026-01-01T00:00:00Z"}\n')
    # 2. the job run fails: its script location (in the artifacts prefix) points nowhere
    o_job = f"{stack.glue_job_prefix}-orders"
    definition = glue.get_job(JobName=o_job)["Job"]
    glue.update_job(JobName=o_job, JobUpdate={
        "Role": definition["Role"], "Command": {**definition["Command"], "ScriptLocation": f"s3://{stack.artifacts_bucket}/jobs/{'0' * 32}/missing.py"},
        "DefaultArguments": definition["DefaultArguments"]})
    o_key = _put(stack, "raw/orders/ingest_date=2026-02-05/orders_fail.csv", (HEADER + _row("F1") + _row("F2")).encode())

    c_obj, o_obj = (f"s3://{stack.lake_bucket}/{k}" for k in (c_key, o_key))
    c_entry, o_entry = _dlq_entry(stack, c_obj), _dlq_entry(stack, o_obj)
    assert c_entry and c_entry.failure_point == "lambda" and c_entry.reason == "EntityNotFoundException"
    assert o_entry and o_entry.failure_point == "job" and o_entry.reason == "job_failed"
    assert _alerts_for(stack, c_obj, "job_start_failed") and _alerts_for(stack, o_obj, "job_failed")

    # the fix: put both job definitions back; then replay everything. (CloudFormation does
    # not repair changes made behind its back: a deploy of the same template is "no changes".)
    _restore_jobs(glue, saved)
    assert deploy(stack, echo=_quiet).changes == []
    moved = dlq.redrive(stack)
    assert {d.object for d in moved} >= {c_obj, o_obj}
    result = _wait(stack, {c_key, o_key})
    assert {o.key: o.status for o in result.objects} == {c_key: "SUCCEEDED", o_key: "SUCCEEDED"}
    # no duplicates: one manifest per object version, curated rows = clean input rows
    o_state = next(o for o in result.objects if o.key == o_key)
    m = lake.manifest(stack, "orders", o_state.source_id)
    assert m and m["rows_written"] == 2
    assert lake.failure(stack, o_state.source_id)["resolved_at"]
    # a second redrive of an already-loaded object starts nothing new
    left = dlq.peek(stack, hold_seconds=1)
    assert all(d.object not in (c_obj, o_obj) for d in left), [(d.message_id, d.object, d.reason, d.failure_point) for d in left]
