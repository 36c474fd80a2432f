"""Glue Job State Change events (EventBridge) -> ledger, alerts and the dead-letter queue.

On AWS, Glue emits these events itself; locally the Glue job runner emits the same events to
the emulator's EventBridge. A succeeded run marks the object loaded and announces its counts;
a failed, stopped or timed-out run marks it failed, puts its original S3 event in the DLQ
(with the reason as message attributes) and publishes a failure alert, so
``shoplake dlq redrive`` can replay it after a fix.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from shoplake_events import Store, log, now, source_id

FAILED_STATES = {"FAILED", "TIMEOUT", "STOPPED", "ERROR"}
_clients: dict[str, Any] = {}


def _client(name: str) -> Any:
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    return bucket, key


def s3_event_body(bucket: str, key: str, version: str, size: int) -> str:
    """An S3 ObjectCreated event for one object, as S3 would send it (for replays)."""
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": now(),
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": size, "versionId": version}},
    }]})


def handle(store: Store, detail: dict[str, Any]) -> str:
    job_name, run_id, state = detail["jobName"], detail["jobRunId"], detail["state"]
    run = _client("glue").get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
    args = run.get("Arguments", {})
    dataset, uri, version = args.get("--dataset"), args.get("--source_uri"), args.get("--source_version", "")
    if not uri:
        return f"{job_name} {run_id}: no --source_uri, not an ingest run"
    bucket, key = _split(uri)
    sid = source_id(bucket, key, version)
    entry = store.ledger(sid) or {}
    base = {k: v for k, v in entry.items() if k not in ("status", "updated_at", "error")}
    base.update({"job_name": job_name, "job_run_id": run_id, "dataset": dataset,
                 "bucket": bucket, "key": key, "version": version})
    if state == "SUCCEEDED":
        manifest = store._get(f"curated/_manifests/{dataset}/{sid}.json") or {}
        counts = {k: manifest.get(k) for k in ("rows_read", "rows_written", "rows_quarantined",
                                               "duplicates_dropped", "quarantined_by_reason", "duration_s")}
        store.put_ledger(sid, {**base, "status": "SUCCEEDED", "counts": counts})
        failed = store.failed(sid)
        if failed and not failed.get("resolved_at"):
            store.record_failure(sid, {**failed, "resolved_at": now(), "resolved_by": run_id})
        store.alert("job_succeeded", dataset=dataset, obj=uri, run_id=run_id, counts=counts)
        return f"{run_id} SUCCEEDED {uri}"
    if state not in FAILED_STATES:
        return f"{run_id} {state}: nothing to do"
    error = run.get("ErrorMessage") or detail.get("message") or state
    store.put_ledger(sid, {**base, "status": "FAILED", "error": error})
    if entry.get("record"):
        body = json.dumps({"Records": [entry["record"]]})
    else:
        body = s3_event_body(bucket, key, version, int(entry.get("size", 1)))
    store.record_failure(sid, {"failure_point": "job", "reason": f"job_{state.lower()}", "detail": error,
                               "object": uri, "dataset": dataset, "run_id": run_id, "message_body": body})
    sqs = _client("sqs")
    dlq = sqs.get_queue_url(QueueName=os.environ["INGEST_DLQ"])["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody=body, MessageAttributes={
        "failure_point": {"DataType": "String", "StringValue": "job"},
        "reason": {"DataType": "String", "StringValue": f"job_{state.lower()}"},
        "job_run_id": {"DataType": "String", "StringValue": run_id},
    })
    store.alert("job_failed", dataset=dataset, obj=uri, run_id=run_id, error=error,
                extra={"failure_point": "job", "source_id": sid, "state": state, "next": "dead-letter queue"})
    return f"{run_id} {state} {uri}: in the DLQ"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store = Store(s3=_client("s3"), sns=_client("sns"))
    result = handle(store, event.get("detail", {}))
    log.info(result)
    return {"result": result}
