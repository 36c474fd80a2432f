"""Run manifests (the commit point of a curated write) and S3 listings for the loader."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from shoplake.aws import split_s3_uri
from shoplake_contract import keys
from shoplake_contract.datasets import dataset

log = logging.getLogger(__name__)

#: A curated file name: ``<source_id>-<n>.parquet`` (source_id = 16 hex digits, docs/contracts.md).
FILE_NAME = re.compile(r"^[0-9a-f]{16}-[0-9]+\.parquet$")
#: A partition value: a calendar date ``YYYY-MM-DD`` (4-digit year; a year 0 / BC date or a
#: 5-digit year written by a bad timestamp is refused, docs/contracts.md "Curated data").
PARTITION_VALUE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def partition_columns(name: str) -> tuple[str, ...]:
    """Partition columns a curated key of ``name`` may have: the current one, then those of
    earlier layouts (``updated_date`` of customers/products), whose committed files still load
    and are replaced when their source is replayed (the contract's catalogue)."""
    spec = dataset(name)
    return (str(spec.partition), *spec.legacy_partitions)


def curated_key_problem(dataset: str, key: str) -> str | None:
    """Why ``key`` is not ``curated/<dataset>/<partition>=YYYY-MM-DD/<source_id>-<n>.parquet``
    (None when it is): the loader refuses such a file alone (docs/contracts.md)."""
    prefix = keys.curated_prefix(dataset)
    if not key.startswith(prefix):
        return f"not under {prefix}"
    parts = key[len(prefix) :].split("/")
    if len(parts) != 2:
        return f"not <partition>/<file> under {prefix}"
    directory, name = parts
    columns = partition_columns(dataset)
    column_name, eq, value = directory.partition("=")
    if not eq or column_name not in columns:
        return f"partition directory {directory!r} is not {columns[0]}=YYYY-MM-DD"
    if not PARTITION_VALUE.match(value):
        return f"partition value {value!r} is not a date YYYY-MM-DD"
    try:
        date.fromisoformat(value)
    except ValueError:
        return f"partition value {value!r} is not a calendar date"
    if not FILE_NAME.match(name):
        return f"file name {name!r} is not <source_id>-<n>.parquet"
    return None


@dataclass(frozen=True)
class Refusal:
    """A manifest, or one file it lists, that the loader will not load, and why."""

    manifest: str  # s3://bucket/curated/_manifests/...
    file: str | None  # bucket-relative key; None when the whole manifest is refused
    reason: str


@dataclass(frozen=True)
class Manifest:
    """One SUCCEEDED job run for one raw object version (``curated/_manifests/<ds>/<id>.json``)."""

    key: str
    dataset: str
    source_id: str
    run_id: str
    files: tuple[str, ...]  # bucket-relative keys
    rows_read: int
    rows_written: int
    rows_quarantined: int


def parse_manifest(key: str, doc: dict[str, Any], bucket: str) -> Manifest | None:
    """The manifest, or None when its run did not succeed (its files stay invisible)."""
    if doc.get("status") != "SUCCEEDED":
        return None
    files = []
    for name in doc.get("files", []):
        if not isinstance(name, str):
            raise ValueError(f"manifest {key} lists a file that is not a string: {name!r}")
        if name.startswith(("s3://", "s3a://")):
            file_bucket, name = split_s3_uri(name)
            if file_bucket != bucket:
                raise ValueError(f"manifest {key} lists a file in another bucket: {file_bucket}")
        files.append(name.lstrip("/"))
    return Manifest(
        key=key,
        dataset=str(doc["dataset"]),
        source_id=str(doc["source_id"]),
        run_id=str(doc.get("run_id", "")),
        files=tuple(files),
        rows_read=int(doc.get("rows_read", 0)),
        rows_written=int(doc.get("rows_written", 0)),
        rows_quarantined=int(doc.get("rows_quarantined", 0)),
    )


def iter_objects(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """Every object under ``prefix`` (paginated ``list_objects_v2`` entries)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def read_manifests(s3: Any, bucket: str, dataset: str) -> tuple[list[Manifest], list[Refusal]]:
    """SUCCEEDED manifests of ``dataset``, oldest first (by S3 LastModified), and the manifests
    refused (not JSON, another dataset, a file in another bucket): each refused on its own, so
    one bad manifest never fails the others."""
    objects = [
        o
        for o in iter_objects(s3, bucket, keys.manifest_prefix(dataset))
        if o["Key"].endswith(".json")
    ]
    objects.sort(key=lambda o: (o["LastModified"], o["Key"]))
    out: list[Manifest] = []
    refused: list[Refusal] = []
    for obj in objects:
        url = f"s3://{bucket}/{obj['Key']}"
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        try:
            doc = json.loads(body)
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
            manifest = parse_manifest(obj["Key"], doc, bucket)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            refused.append(Refusal(url, None, f"not a valid manifest: {type(exc).__name__}: {exc}"))
            continue
        if manifest is None:
            log.info(
                "manifest not SUCCEEDED: its files are not loaded",
                extra={"ctx": {"manifest": obj["Key"], "status": doc.get("status")}},
            )
            continue
        if manifest.dataset != dataset:
            refused.append(Refusal(url, None, f"manifest is for dataset {manifest.dataset!r}, not {dataset!r}"))
            continue
        out.append(manifest)
    return out, refused


def etags(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """``{key: ETag}`` of the objects under ``prefix`` (the version of each file)."""
    return {o["Key"]: o["ETag"].strip('"') for o in iter_objects(s3, bucket, prefix)}
