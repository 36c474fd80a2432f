"""S3 event (via the SQS ingest queue) -> validate the raw object -> start its Glue job.

Deployed by ``shoplake deploy`` with an SQS event source mapping (ReportBatchItemFailures).
A message that cannot start a job is reported as a batch item failure: SQS retries it and,
after ``maxReceiveCount`` receives, moves the original event to the dead-letter queue. On the
last attempt a failure alert is published and the failure recorded with its reason, so
``shoplake dlq list`` can say why. Invalid objects are never dropped silently.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from shoplake_events import (
    JOBLESS_DATASETS,
    InvalidObject,
    RawObject,
    Store,
    log,
    parse_record,
    s3_records,
    source_id,
    validate,
)

_clients: dict[str, Any] = {}


def _client(name: str) -> Any:
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def job_arguments(obj: RawObject, dataset: str) -> dict[str, str]:
    return {
        "--dataset": dataset,
        "--source_uri": obj.uri,
        "--source_version": obj.version,
        "--lake_bucket": obj.bucket,
    }


def start_job(store: Store, record: dict[str, Any]) -> str:
    """Start the Glue job for one S3 record; returns what happened (for logs and tests)."""
    obj = parse_record(record)
    dataset = validate(obj)
    if dataset in JOBLESS_DATASETS:
        return f"no job for {dataset} (loaded by the warehouse loader): {obj.key}"
    sid = obj.source_id
    entry = store.ledger(sid)
    if entry and entry.get("status") in ("STARTED", "SUCCEEDED"):
        return f"duplicate delivery of {obj.uri} ({sid}): already {entry['status']} as {entry.get('job_run_id')}"
    job_name = f"{os.environ['GLUE_JOB_PREFIX']}-{dataset}"
    run_id = _client("glue").start_job_run(JobName=job_name, Arguments=job_arguments(obj, dataset))["JobRunId"]
    store.put_ledger(sid, {
        "status": "STARTED", "job_name": job_name, "job_run_id": run_id, "dataset": dataset,
        "bucket": obj.bucket, "key": obj.key, "version": obj.version, "size": obj.size,
        "record": record, "attempts": int((entry or {}).get("attempts", 0)) + 1,
    })
    return f"started {job_name} {run_id} for {obj.uri}"


def _retry_later(message: dict[str, Any], receive_count: int, permanent: bool) -> None:
    """Make a failed message visible again soon (backoff) instead of after the full timeout."""
    try:
        queue_name = message["eventSourceARN"].rsplit(":", 1)[-1]
        sqs = _client("sqs")
        url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        delay = 0 if permanent else min(2**receive_count, 30)
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["receiptHandle"], VisibilityTimeout=delay)
    except Exception as exc:  # noqa: BLE001 - the message still retries after the visibility timeout
        log.warning("could not shorten visibility: %s", exc)


def handle_message(store: Store, message: dict[str, Any], max_receive: int) -> bool:
    """Process one SQS message; True when it succeeded."""
    receive_count = int(message.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    body = message.get("body", "")
    obj_uri = dataset = sid = None
    try:
        records = s3_records(body)
        if not records:
            log.info("ignoring S3 test event")
            return True
        for record in records:
            try:
                obj = parse_record(record)
                obj_uri, sid = obj.uri, obj.source_id
                dataset = obj.key.split("/")[1] if obj.key.count("/") >= 2 else None
            except InvalidObject:
                pass
            log.info(start_job(store, record))
        return True
    except Exception as exc:  # noqa: BLE001 - every failure is reported, never swallowed
        permanent = isinstance(exc, InvalidObject)
        reason = exc.reason if isinstance(exc, InvalidObject) else type(exc).__name__
        log.error("cannot start a job for %s (attempt %s/%s): %s", obj_uri, receive_count, max_receive, exc)
        if receive_count >= max_receive:
            sid = sid or source_id("event", body, "")
            store.record_failure(sid, {
                "failure_point": "lambda", "reason": reason, "detail": str(exc), "object": obj_uri,
                "dataset": dataset, "attempts": receive_count, "message_body": body,
            })
            store.alert("ingest_rejected" if permanent else "job_start_failed", dataset=dataset, obj=obj_uri,
                        error=f"{reason}: {exc}", extra={"failure_point": "lambda", "source_id": sid,
                                                         "next": "dead-letter queue"})
        _retry_later(message, receive_count, permanent)
        return False


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store = Store(s3=_client("s3"), sns=_client("sns"))
    max_receive = int(os.environ.get("MAX_RECEIVE_COUNT", "3"))
    failures = [
        {"itemIdentifier": m["messageId"]}
        for m in event.get("Records", [])
        if not handle_message(store, m, max_receive)
    ]
    log.info(json.dumps({"messages": len(event.get("Records", [])), "failed": len(failures)}))
    return {"batchItemFailures": failures}
