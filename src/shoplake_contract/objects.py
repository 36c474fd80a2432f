"""Raw objects as the event path sees them: the S3 event records of one message, and the
key rules that decide whether an object is loadable (docs/contracts.md "Bad-input catalogue
(object and file level)"). Pure: no I/O."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from shoplake_contract.datasets import DATASETS, has_extension
from shoplake_contract.ids import object_version, source_id
from shoplake_contract.keys import RAW

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
    version: str  # versionId, else the ETag (:func:`shoplake_contract.ids.object_version`)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def source_id(self) -> str:
        return source_id(self.bucket, self.key, self.version)


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
            version=object_version(obj.get("versionId"), obj.get("eTag") or obj.get("sequencer")),
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
        key.startswith("/")
        or "//" in key
        or any(p in ("", ".", "..") for p in parts)
        or any(ord(c) < 32 for c in key)
        or "\\" in key
    ):
        raise InvalidObject("unsafe_key", f"{key!r} has path tricks or control characters")
    if parts[0] != RAW.rstrip("/") or len(parts) < 3:
        raise InvalidObject("outside_raw", f"{key} is not under raw/<dataset>/")
    dataset = parts[1]
    if dataset not in DATASETS:
        raise InvalidObject("unknown_dataset", f"{dataset!r} is not one of {sorted(DATASETS)}")
    if not all(_SAFE_SEGMENT.match(p) for p in parts[1:]):
        raise InvalidObject("unsafe_key", f"{key!r} has characters outside [A-Za-z0-9._=-]")
    spec = DATASETS[dataset]
    prefix, extensions = spec.file_prefix, spec.extensions
    name = parts[-1].lower()
    if not name.startswith(prefix) or not has_extension(name, extensions):
        raise InvalidObject(
            "bad_file_name",
            f"{parts[-1]} does not match {prefix}*{{{','.join(extensions)}}} for {dataset}",
        )
    if obj.size <= 0:
        raise InvalidObject("empty_object", f"{key} has {obj.size} bytes")
    return dataset
