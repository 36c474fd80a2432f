"""Shared by the Lambda functions (bundled into each zip): object validation, the
idempotency ledger, failure records and alerts. Standard library + boto3 only: it runs
with the Lambda runtime's interpreter. The lake's rules it applies are the contract package
``shoplake_contract`` (src/shoplake_contract), bundled into each zip beside it.

The ledger lives in the lake bucket under ``state/`` (see docs/contracts.md):
``state/ledger/<source_id>.json`` per raw object version and ``state/failed/<source_id>.json``
for every object that needs a replay.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

# The lake's rules (datasets, keys, ids, key validation) are the contract package, bundled
# into every zip beside this module; re-exported here for the handlers.
from shoplake_contract.datasets import DATASETS, JOBLESS_DATASETS, compression, has_extension
from shoplake_contract.glue import LIMIT_EXCEEDED
from shoplake_contract.ids import source_id
from shoplake_contract.keys import failure_key, ledger_key
from shoplake_contract.objects import InvalidObject, RawObject, parse_record, s3_records, validate

log = logging.getLogger("shoplake")
log.setLevel(logging.INFO)

__all__ = [
    "DATASETS", "JOBLESS_DATASETS", "LIMIT_EXCEEDED", "InvalidObject", "RawObject", "Store",
    "alert_message", "compression", "has_extension", "log", "now", "parse_record",
    "run_failure_reason", "s3_records", "source_id", "validate",
]


def run_failure_reason(state: str, error: str | None) -> str:
    """The reason code of a failed Glue run (docs/contracts.md "Failure reasons")."""
    if f"{LIMIT_EXCEEDED}:" in (error or ""):
        return LIMIT_EXCEEDED
    return f"job_{state.lower()}"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert_message(event: str, *, dataset: str | None, obj: str | None, run_id: str | None = None,
                  counts: dict[str, Any] | None = None, error: str | None = None,
                  extra: dict[str, Any] | None = None) -> tuple[str, str]:
    """(subject, JSON message) of one alert."""
    ok = error is None
    subject = f"[shoplake] {'OK' if ok else 'FAILED'} {event} {dataset or ''} {(obj or '').rsplit('/', 1)[-1]}"
    body = {"pipeline": os.environ.get("PIPELINE", "shoplake"), "event": event, "dataset": dataset,
            "object": obj, "run_id": run_id, "counts": counts or {}, "error": error, "at": now(),
            **(extra or {})}
    return subject.strip()[:99], json.dumps(body, sort_keys=True)


# --- AWS side effects ---------------------------------------------------------------------
class Store:
    """Ledger, failure records and alerts, with clients built from the environment."""

    def __init__(self, s3: Any = None, sns: Any = None) -> None:
        import boto3

        self.bucket = os.environ["LAKE_BUCKET"]
        self.topic = os.environ["ALERTS_TOPIC_ARN"]
        self.s3 = s3 or boto3.client("s3")
        self.sns = sns or boto3.client("sns")

    def get_json(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            return None
        except Exception as exc:  # noqa: BLE001 - some emulators answer 404 differently
            if "404" in str(exc) or "NoSuchKey" in str(exc) or "Not Found" in str(exc):
                return None
            raise

    def _put(self, key: str, doc: dict[str, Any]) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(doc, indent=1, sort_keys=True).encode(),
                           ContentType="application/json")

    def ledger(self, sid: str) -> dict[str, Any] | None:
        return self.get_json(ledger_key(sid))

    def put_ledger(self, sid: str, doc: dict[str, Any]) -> None:
        self._put(ledger_key(sid), {**doc, "source_id": sid, "updated_at": now()})

    def failed(self, sid: str) -> dict[str, Any] | None:
        return self.get_json(failure_key(sid))

    def record_failure(self, sid: str, doc: dict[str, Any]) -> None:
        self._put(failure_key(sid), {**doc, "source_id": sid, "failed_at": now()})

    def alert(self, event: str, **kwargs: Any) -> None:
        subject, message = alert_message(event, **kwargs)
        self.sns.publish(TopicArn=self.topic, Subject=subject, Message=message)
        log.info("alert %s %s", event, message)
