"""``shoplake dlq list | redrive``: failed raw objects, why they failed, and their replay.

Two failure points end in the ingest dead-letter queue with the original S3 event:
``lambda`` (the trigger could not start a job: invalid object, Glue API error; SQS moved the
message after its retries) and ``job`` (the Glue run failed; the job-state handler put the
event there). The reason comes from the failure record ``state/failed/<source_id>.json``
and, for job failures, the message attributes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from shoplake import aws, lake
from shoplake.settings import Settings
from shoplake_contract import objects
from shoplake_contract.ids import source_id
from shoplake_contract.keys import FAILURES, dataset_of_key, source_id_of_key

#: a failure record without a DLQ message this long after it was written lost its message
ORPHAN_AFTER_S = 60


@dataclass
class DeadLetter:
    message_id: str
    receipt_handle: str
    body: str
    source_id: str | None
    object: str | None
    dataset: str | None
    failure_point: str
    reason: str
    detail: str
    failed_at: str | None


def _describe(settings: Settings, m: dict[str, Any]) -> DeadLetter:
    body = m["Body"]
    attrs = {k: v.get("StringValue") for k, v in m.get("MessageAttributes", {}).items()}
    sid = obj = dataset = None
    try:
        records = objects.s3_records(body)
        if records:
            o = objects.parse_record(records[0])
            sid, obj = o.source_id, o.uri
            dataset = dataset_of_key(o.key)
    except objects.InvalidObject:
        pass
    failure = lake.failure(settings, sid or source_id("event", body, "")) or {}
    return DeadLetter(
        message_id=m["MessageId"], receipt_handle=m["ReceiptHandle"], body=body, source_id=sid,
        object=obj or failure.get("object"), dataset=dataset or failure.get("dataset"),
        failure_point=attrs.get("failure_point") or failure.get("failure_point") or "lambda",
        reason=attrs.get("reason") or failure.get("reason") or "unknown (no failure record)",
        detail=str(failure.get("detail") or ""), failed_at=failure.get("failed_at"),
    )


def _queue_url(settings: Settings, name: str) -> str:
    return str(aws.client("sqs", settings).get_queue_url(QueueName=name)["QueueUrl"])


def peek(settings: Settings, hold_seconds: int = 5) -> list[DeadLetter]:
    """Every message in the DLQ (they stay there: hidden for ``hold_seconds`` only), and
    every unresolved failure record whose message the DLQ lost (an emulator killed with
    SIGKILL keeps S3, where the records live, but not its queues)."""
    letters = _messages(settings, hold_seconds)
    return letters + _orphaned_records(settings, {d.source_id for d in letters})


def _orphaned_records(settings: Settings, in_queue: set[str | None]) -> list[DeadLetter]:
    out = []
    for obj in lake.list_keys(settings, FAILURES):
        sid = source_id_of_key(obj["Key"])
        if sid in in_queue:
            continue
        record = lake.failure(settings, sid) or {}
        if record.get("resolved_at") or not record.get("message_body"):
            continue
        if time.time() - obj["LastModified"].timestamp() < ORPHAN_AFTER_S:
            continue  # its message is on the way to the DLQ
        entry = lake.ledger(settings, sid)
        if entry and entry.get("status") != "FAILED":  # replayed: on its way again
            continue
        out.append(DeadLetter(
            message_id=f"record:{sid}", receipt_handle="", body=record["message_body"], source_id=sid,
            object=record.get("object"), dataset=record.get("dataset"),
            failure_point=str(record.get("failure_point") or "lambda"),
            reason=str(record.get("reason") or "unknown"), detail=str(record.get("detail") or ""),
            failed_at=record.get("failed_at")))
    return out


def _messages(settings: Settings, hold_seconds: int) -> list[DeadLetter]:
    sqs = aws.client("sqs", settings)
    url = _queue_url(settings, settings.ingest_dlq)
    seen: dict[str, DeadLetter] = {}
    idle = 0
    while idle < 2:  # two receives in a row with nothing new: every message has been seen
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=hold_seconds,
                                   MessageAttributeNames=["All"], WaitTimeSeconds=1).get("Messages", [])
        fresh = [m for m in msgs if m["MessageId"] not in seen]
        idle = 0 if fresh else idle + 1
        for m in fresh:
            seen[m["MessageId"]] = _describe(settings, m)
    return list(seen.values())


def redrive(settings: Settings, ids: set[str] | None = None) -> list[DeadLetter]:
    """Send DLQ messages (all, or those whose source id or message id is in ``ids``) back to
    the ingest queue, then delete them from the DLQ. The ledger lets a failed object run again
    and stops a loaded one from loading twice."""
    sqs = aws.client("sqs", settings)
    dlq, ingest = _queue_url(settings, settings.ingest_dlq), _queue_url(settings, settings.ingest_queue)
    moved = []
    for d in peek(settings, hold_seconds=30):
        if ids is not None and d.source_id not in ids and d.message_id not in ids:
            continue
        sqs.send_message(QueueUrl=ingest, MessageBody=d.body)
        if d.receipt_handle:  # a failure record whose message the DLQ lost has none
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=d.receipt_handle)
        moved.append(d)
    return moved


def as_dict(d: DeadLetter) -> dict[str, Any]:
    return {k: v for k, v in d.__dict__.items() if k not in ("receipt_handle", "body")} | {
        "event": json.loads(d.body) if d.body.startswith("{") else d.body}
