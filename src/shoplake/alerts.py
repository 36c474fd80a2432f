"""``shoplake alerts``: the latest SNS alerts, from the local subscription queue.

A queue is not a log: each call moves new messages from the queue into
``<home>/alerts.jsonl`` (deduplicated by message id) and shows the newest from there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shoplake import aws
from shoplake.settings import Settings


def _log_path(settings: Settings) -> Path:
    return settings.home / "alerts.jsonl"


def collect(settings: Settings) -> int:
    """Drain the alerts queue into the local log; returns how many were new."""
    sqs = aws.client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.alerts_queue)["QueueUrl"]
    path = _log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    seen = {a["message_id"] for a in read_log(settings)}
    new = 0
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            return new
        with path.open("a") as fh:
            for m in msgs:
                alert = parse(m["Body"], m["MessageId"])
                if alert["message_id"] not in seen:
                    fh.write(json.dumps(alert, sort_keys=True) + "\n")
                    seen.add(alert["message_id"])
                    new += 1
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])


def parse(body: str, message_id: str) -> dict[str, Any]:
    """An SNS envelope (or a raw message) -> {subject, message fields...}."""
    try:
        envelope = json.loads(body)
    except ValueError:
        return {"message_id": message_id, "subject": None, "raw": body}
    if isinstance(envelope, dict) and "Message" in envelope:
        try:
            message = json.loads(envelope["Message"])
        except ValueError:
            message = {"text": envelope["Message"]}
        return {"message_id": envelope.get("MessageId", message_id), "subject": envelope.get("Subject"),
                "timestamp": envelope.get("Timestamp"), **message}
    return {"message_id": message_id, "subject": None, **envelope}


def read_log(settings: Settings) -> list[dict[str, Any]]:
    path = _log_path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def latest(settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    collect(settings)
    return read_log(settings)[-limit:]
