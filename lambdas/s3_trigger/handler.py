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
from shoplake_ledger import FAILED, RETRYING, STARTED, STARTING, Conflict, Ledger, decide

from shoplake_contract import glue
from shoplake_contract.keys import dataset_of_key

_clients: dict[str, Any] = {}


def _client(name: str) -> Any:
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def job_arguments(obj: RawObject, dataset: str) -> dict[str, str]:
    return glue.job_arguments(dataset, obj.bucket, obj.key, obj.version)


def start_job(store: Store, record: dict[str, Any], ledger: Ledger | None = None) -> str:
    """Start the Glue job for one S3 record unless the ledger says it is done or running;
    returns what happened (for logs and tests)."""
    obj = parse_record(record)
    dataset = validate(obj)
    if dataset in JOBLESS_DATASETS:
        return f"no job for {dataset} (loaded by the warehouse loader): {obj.key}"
    ledger = ledger or Ledger(store, _client("glue"), _client("sqs"))
    sid = obj.source_id
    job_name = glue.job_name(os.environ["GLUE_JOB_PREFIX"], dataset)
    base = {"job_name": job_name, "dataset": dataset, "bucket": obj.bucket, "key": obj.key,
            "version": obj.version, "size": obj.size, "record": record}
    for _ in range(5):  # another writer changed the entry meanwhile: read it again and decide
        entry, etag = ledger.read(sid)
        manifest = ledger.manifest(dataset, sid, obj.version)
        run = ledger.run(entry) if (entry or {}).get("status") == STARTED else None
        d = decide(entry, run, manifest is not None, ledger.limits)
        try:
            if d.action == "skip":
                return f"duplicate delivery of {obj.uri} ({sid}): {d.why}"
            if d.action == "succeeded":
                ledger.mark_succeeded(sid, entry, etag, manifest or {}, base)
                return f"{obj.uri} ({sid}) already committed: ledger marked SUCCEEDED"
            if d.action == "dead_letter":
                ledger.dead_letter(sid, {**(entry or {}), **base}, etag, reason=d.why.split(":", 1)[0],
                                   detail=d.why, body=json.dumps({"Records": [record]}),
                                   run_id=(entry or {}).get("job_run_id"))
                return f"{obj.uri} ({sid}) to the dead-letter queue: {d.why}"
            if d.action == "stop_and_retry" and entry:
                _client("glue").batch_stop_job_run(JobName=entry["job_name"], JobRunIds=[entry["job_run_id"]])
            return _start(ledger, sid, entry, etag, base, obj.uri, d.why)
        except Conflict:
            continue
    raise RuntimeError(f"ledger entry {sid} kept changing while starting {obj.uri}")


def _start(ledger: Ledger, sid: str, entry: dict[str, Any] | None, etag: str | None,
           base: dict[str, Any], uri: str, why: str) -> str:
    """Claim the entry (STARTING), start the run, record its id (STARTED)."""
    previous = int((entry or {}).get("attempts") or 0)
    replay = entry is None or entry.get("status") == FAILED  # a DLQ replay gets a new budget
    doc = {**base, "status": STARTING, "attempts": 1 if replay else previous + 1,
           "previous_run_id": (entry or {}).get("job_run_id"), "why": why}
    claimed = ledger.write(sid, doc, etag)
    dataset = base["dataset"]
    obj = RawObject(base["bucket"], base["key"], base["size"], base["version"])
    try:
        run_id = _client("glue").start_job_run(JobName=base["job_name"],
                                               Arguments=job_arguments(obj, dataset))["JobRunId"]
    except Exception:
        # give the claim back (the attempt did not happen): the SQS retry starts it again
        ledger.write(sid, {**doc, "status": RETRYING, "attempts": previous if not replay else 0}, claimed)
        raise
    ledger.write(sid, {**doc, "status": STARTED, "job_run_id": run_id}, claimed)
    return f"started {base['job_name']} {run_id} for {uri} (attempt {doc['attempts']}: {why})"


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
                dataset = dataset_of_key(obj.key)
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
            _ledger_failed(store, sid, str(exc))
            if _dead_letter(body, reason):
                return True  # in the DLQ with its reason: done with this message
        _retry_later(message, receive_count, permanent)
        return False


def _dead_letter(body: str, reason: str) -> bool:
    """Put the event in the DLQ now, beside its failure record (SQS's own redrive would move
    it only at the next receive). False if that failed: SQS's redrive still will."""
    try:
        sqs = _client("sqs")
        url = sqs.get_queue_url(QueueName=os.environ["INGEST_DLQ"])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
            "failure_point": {"DataType": "String", "StringValue": "lambda"},
            "reason": {"DataType": "String", "StringValue": reason},
        })
        return True
    except Exception as exc:  # noqa: BLE001
        log.warning("could not put the event in the DLQ (SQS redrive will): %s", exc)
        return False


def _ledger_failed(store: Store, sid: str, error: str) -> None:
    """An entry that exists says FAILED too, so the sweeper leaves the object to the DLQ."""
    try:
        ledger = Ledger(store, _client("glue"), _client("sqs"))
        entry, etag = ledger.read(sid)
        if entry and entry.get("status") not in (FAILED, "SUCCEEDED"):
            ledger.write(sid, {**entry, "status": FAILED, "error": error}, etag)
    except Exception as exc:  # noqa: BLE001 - the failure record and the DLQ still tell
        log.warning("could not mark the ledger of %s FAILED: %s", sid, exc)


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
