"""200 files dropped at once: every object is loaded exactly once through the real event path
(S3 -> SQS -> Lambda -> Glue job runner -> cleanse job -> manifest), nothing lands in the DLQ.

The elapsed time is printed (``-s``), never asserted: figures belong to benchmarks/.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shoplake import aws, dlq, lake
from shoplake.ingest import wait
from shoplake.settings import Settings

pytestmark = pytest.mark.slow

FILES = 200
PREFIX = "raw/orders/ingest_date=2026-03-01/"
HEADER = "order_id,line_number,customer_id,product_id,quantity,unit_price,currency,status,order_ts,updated_at\n"


def _body(n: int) -> bytes:
    rows = [
        f"BURST{n:03d},{line},C000001,P00001,{line},4.50,EUR,placed,2026-03-01T09:00:00Z,2026-03-01T09:00:00Z\n"
        for line in range(1, 2 + n % 2 + 1)  # 2 or 3 lines
    ]
    return (HEADER + "".join(rows)).encode()


def _all_runs(s: Settings) -> list[dict[str, Any]]:
    glue = aws.client("glue", s)
    runs: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"JobName": f"{s.glue_job_prefix}-orders", "MaxResults": 200}
    while True:
        page = glue.get_job_runs(**kwargs)
        runs += page["JobRuns"]
        if not page.get("NextToken"):
            return runs
        kwargs["NextToken"] = page["NextToken"]


def _drop_from_dlq(s: Settings, objects: set[str]) -> int:
    """Delete the DLQ messages of ``objects`` (after a failure, so later tests of the session
    do not wade through them); the others become visible again at once."""
    sqs = aws.client("sqs", s)
    url = sqs.get_queue_url(QueueName=s.ingest_dlq)["QueueUrl"]
    dropped = 0
    for d in dlq.peek(s, hold_seconds=60):
        if d.object in objects:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=d.receipt_handle)
            dropped += 1
        else:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=d.receipt_handle, VisibilityTimeout=0)
    return dropped


def test_burst_of_200_files_loads_each_exactly_once(stack: Settings) -> None:
    keys = {f"{PREFIX}orders_burst_{n:03d}.csv": _body(n) for n in range(FILES)}
    ours = {f"s3://{stack.lake_bucket}/{k}" for k in keys}
    try:
        _burst(stack, keys, ours)
    except BaseException:
        _drop_from_dlq(stack, ours)
        raise


def _burst(stack: Settings, keys: dict[str, bytes], ours: set[str]) -> None:
    s3 = aws.client("s3", stack)

    def put(item: tuple[str, bytes]) -> tuple[str, str]:
        key, body = item
        return key, s3.put_object(Bucket=stack.lake_bucket, Key=key, Body=body)["VersionId"]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        versions = dict(pool.map(put, keys.items()))
    put_s = time.perf_counter() - t0
    result = wait(stack, timeout=1200, poll=2.0, echo=lambda _m: None, keys=set(keys))
    total_s = time.perf_counter() - t0
    print(f"\nburst: {FILES} files put in {put_s:.1f}s, all final after {total_s:.1f}s")

    assert not result.timed_out, Counter(o.status for o in result.objects)
    assert len(result.objects) == FILES
    bad = {o.key: (o.status, o.detail.get("reason") or o.detail.get("error")) for o in result.objects
           if o.status != "SUCCEEDED"}
    assert not bad, f"{len(bad)} not SUCCEEDED, e.g. {list(bad.items())[:5]}"

    # exactly one manifest per object version, with that object's rows
    sids = {key: lake.source_id(stack.lake_bucket, key, v) for key, v in versions.items()}
    assert {o.source_id for o in result.objects} == set(sids.values())
    manifests = {m["Key"] for m in lake.list_keys(stack, "curated/_manifests/orders/")}
    for key, sid in sids.items():
        assert f"curated/_manifests/orders/{sid}.json" in manifests, key
        m = lake.manifest(stack, "orders", sid)
        assert m and m["source_object"] == f"s3://{stack.lake_bucket}/{key}"
        assert m["rows_written"] == keys[key].count(b"\n") - 1

    # one Glue run per object version: no duplicate start for any source_id
    runs = [r for r in _all_runs(stack) if r["Arguments"].get("--source_uri", "").startswith(
        f"s3://{stack.lake_bucket}/{PREFIX}orders_burst_")]
    started = Counter((r["Arguments"]["--source_uri"], r["Arguments"].get("--source_version")) for r in runs)
    twice = {k: n for k, n in started.items() if n > 1}
    assert not twice, twice
    assert len(started) == FILES
    assert all(r["JobRunState"] == "SUCCEEDED" for r in runs)

    # the queues are unaffected: nothing of the burst in the DLQ, no failure records
    assert not [d for d in dlq.peek(stack, hold_seconds=1) if d.object in ours]
    assert not [sid for sid in sids.values() if lake.failure(stack, sid)]
