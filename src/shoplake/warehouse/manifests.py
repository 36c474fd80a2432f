"""Run manifests (the commit point of a curated write) and S3 listings for the loader."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shoplake.aws import split_s3_uri

log = logging.getLogger(__name__)

MANIFEST_PREFIX = "curated/_manifests"


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


def read_manifests(s3: Any, bucket: str, dataset: str) -> list[Manifest]:
    """SUCCEEDED manifests of ``dataset``, oldest first (by S3 LastModified)."""
    objects = [
        o
        for o in iter_objects(s3, bucket, f"{MANIFEST_PREFIX}/{dataset}/")
        if o["Key"].endswith(".json")
    ]
    objects.sort(key=lambda o: (o["LastModified"], o["Key"]))
    out = []
    for obj in objects:
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"manifest s3://{bucket}/{obj['Key']} is not valid JSON: {exc}") from exc
        manifest = parse_manifest(obj["Key"], doc, bucket)
        if manifest is None:
            log.info(
                "manifest not SUCCEEDED: its files are not loaded",
                extra={"ctx": {"manifest": obj["Key"], "status": doc.get("status")}},
            )
            continue
        if manifest.dataset != dataset:
            raise ValueError(
                f"manifest s3://{bucket}/{obj['Key']} is for dataset {manifest.dataset!r}, "
                f"not {dataset!r}"
            )
        out.append(manifest)
    return out


def etags(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """``{key: ETag}`` of the objects under ``prefix`` (the version of each file)."""
    return {o["Key"]: o["ETag"].strip('"') for o in iter_objects(s3, bucket, prefix)}
