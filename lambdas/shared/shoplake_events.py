"""Shared by the Lambda functions (bundled into each zip): object validation, the
idempotency ledger, failure records and alerts. Standard library + boto3 only: it runs
with the Lambda runtime's interpreter.

The ledger lives in the lake bucket under ``state/`` (see docs/contracts.md):
``state/ledger/<source_id>.json`` per raw object version and ``state/failed/<source_id>.json``
for every object that needs a replay.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

log = logging.getLogger("shoplake")
log.setLevel(logging.INFO)

#: dataset -> (file name prefix, allowed extensions); fx_rates are loaded by the warehouse
#: loader directly, so they need no Glue job.
DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "orders": ("orders", (".csv", ".csv.gz")),
    "customers": ("customers", (".json", ".jsonl", ".json.gz", ".jsonl.gz")),
    "products": ("products", (".csv", ".csv.gz")),
    "fx_rates": ("", (".json",)),
}
JOBLESS_DATASETS = {"fx_rates"}
#: suffix -> compression of a raw object. Every suffix rule of the lake (the extensions above
#: and these) is matched case-insensitively, here and in the Glue job (which imports this
#: function), so ``ORDERS_1.CSV.GZ`` is accepted by the Lambda AND gunzipped by the job.
COMPRESSIONS: dict[str, str] = {".gz": "gzip"}
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=\-]*$")


class InvalidObject(ValueError):
    """A raw object that must not be loaded; ``reason`` is a machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class RawObject:
    bucket: str
    key: str
    size: int
    version: str  # versionId, else the ETag

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def source_id(self) -> str:
        return source_id(self.bucket, self.key, self.version)


def source_id(bucket: str, key: str, version: str) -> str:
    """Idempotency key of one raw object version (same rule as the Glue job's)."""
    return hashlib.sha256(f"{bucket}/{key}@{version}".encode()).hexdigest()[:16]


#: failure reason of a job run stopped at one of its limits (expanded size, line length, field
#: count, memory; docs/contracts.md "Limits"): the job's error message starts with it.
LIMIT_EXCEEDED = "limit_exceeded"


def run_failure_reason(state: str, error: str | None) -> str:
    """The reason code of a failed Glue run (docs/contracts.md "Failure reasons")."""
    if f"{LIMIT_EXCEEDED}:" in (error or ""):
        return LIMIT_EXCEEDED
    return f"job_{state.lower()}"


def compression(name: str) -> str | None:
    """``"gzip"`` for a name ending in ``.gz`` (any case), else None (plain text)."""
    lower = name.lower()
    return next((c for suffix, c in COMPRESSIONS.items() if lower.endswith(suffix)), None)


def has_extension(name: str, extensions: tuple[str, ...]) -> bool:
    """``name`` ends with one of ``extensions``, in any case (``.CSV.GZ`` is ``.csv.gz``)."""
    return name.lower().endswith(tuple(e.lower() for e in extensions))


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- pure logic -------------------------------------------------------------------------
def s3_records(body: str) -> list[dict[str, Any]]:
    """The S3 records in one SQS message body; [] for an ``s3:TestEvent``."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise InvalidObject("bad_event", f"message body is not JSON: {body[:200]!r}") from exc
    if isinstance(message, dict) and "Message" in message and "TopicArn" in message:  # via SNS
        message = json.loads(message["Message"])
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise InvalidObject("bad_event", "no Records in the event")
    return records


def parse_record(record: dict[str, Any]) -> RawObject:
    try:
        s3 = record["s3"]
        obj = s3["object"]
        return RawObject(
            bucket=s3["bucket"]["name"],
            key=unquote_plus(obj["key"]),
            size=int(obj.get("size", 0)),
            version=str(obj.get("versionId") or obj.get("eTag") or obj.get("sequencer") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidObject("bad_event", f"malformed S3 record: {exc}") from exc


def validate(obj: RawObject) -> str:
    """Return the dataset of a loadable raw object or raise :class:`InvalidObject`."""
    key = obj.key
    if key.endswith("/"):
        raise InvalidObject("directory_marker", f"{key} is a folder marker, not a file")
    parts = key.split("/")
    if (
        key.startswith("/") or "//" in key or any(p in ("", ".", "..") for p in parts)
        or any(ord(c) < 32 for c in key) or "\\" in key
    ):
        raise InvalidObject("unsafe_key", f"{key!r} has path tricks or control characters")
    if parts[0] != "raw" or len(parts) < 3:
        raise InvalidObject("outside_raw", f"{key} is not under raw/<dataset>/")
    dataset = parts[1]
    if dataset not in DATASETS:
        raise InvalidObject("unknown_dataset", f"{dataset!r} is not one of {sorted(DATASETS)}")
    if not all(_SAFE_SEGMENT.match(p) for p in parts[1:]):
        raise InvalidObject("unsafe_key", f"{key!r} has characters outside [A-Za-z0-9._=-]")
    prefix, extensions = DATASETS[dataset]
    name = parts[-1].lower()
    if not name.startswith(prefix) or not has_extension(name, extensions):
        raise InvalidObject(
            "bad_file_name", f"{parts[-1]} does not match {prefix}*{{{','.join(extensions)}}} for {dataset}"
        )
    if obj.size <= 0:
        raise InvalidObject("empty_object", f"{key} has {obj.size} bytes")
    return dataset


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

    def _get(self, key: str) -> dict[str, Any] | None:
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
        return self._get(f"state/ledger/{sid}.json")

    def put_ledger(self, sid: str, doc: dict[str, Any]) -> None:
        self._put(f"state/ledger/{sid}.json", {**doc, "source_id": sid, "updated_at": now()})

    def failed(self, sid: str) -> dict[str, Any] | None:
        return self._get(f"state/failed/{sid}.json")

    def record_failure(self, sid: str, doc: dict[str, Any]) -> None:
        self._put(f"state/failed/{sid}.json", {**doc, "source_id": sid, "failed_at": now()})

    def alert(self, event: str, **kwargs: Any) -> None:
        subject, message = alert_message(event, **kwargs)
        self.sns.publish(TopicArn=self.topic, Subject=subject, Message=message)
        log.info("alert %s %s", event, message)
