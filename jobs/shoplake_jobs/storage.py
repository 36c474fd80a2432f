"""Where the job's outputs go: a local directory or an S3 bucket, behind one small API.

Keys are relative to the lake root (``curated/...``, ``quarantine/...``). The S3 client is
built from the environment only (``AWS_ENDPOINT_URL`` etc. are set by the local runner;
on AWS Glue none are set and the default credential chain applies).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any, Protocol

from shoplake_contract.ids import split_uri

log = logging.getLogger(__name__)


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://"))


def s3_client() -> Any:
    import boto3
    from botocore.config import Config

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint else {},
    )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)


class Store(Protocol):
    root: str

    def uri(self, key: str) -> str: ...
    def list(self, prefix: str) -> list[str]: ...
    def delete(self, keys: list[str]) -> None: ...
    def adopt(self, src: str, key: str) -> None: ...
    def put_text(self, key: str, text: str) -> None: ...
    def copy(self, src: str, key: str) -> None: ...
    def get_text(self, key: str) -> str | None: ...


class LocalStore:
    """A lake rooted at a local directory."""

    def __init__(self, root: str) -> None:
        self.root = str(Path(root).resolve())

    def uri(self, key: str) -> str:
        return os.path.join(self.root, key)

    def list(self, prefix: str) -> list[str]:
        base = Path(self.uri(prefix))
        if not base.is_dir():
            return [prefix] if base.is_file() else []
        return sorted(
            str(p.relative_to(self.root)).replace(os.sep, "/") for p in base.rglob("*") if p.is_file()
        )

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            Path(self.uri(key)).unlink(missing_ok=True)

    def adopt(self, src: str, key: str) -> None:
        """Move a local file (absolute path) to ``key``."""
        dst = Path(self.uri(key))
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(src, dst)
        except OSError:  # another file system
            shutil.move(src, dst)

    def copy(self, src: str, key: str) -> None:
        """Copy a local file (absolute path) to ``key``; the source stays."""
        dst = Path(self.uri(key))
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)

    def put_text(self, key: str, text: str) -> None:
        dst = Path(self.uri(key))
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, dst)

    def get_text(self, key: str) -> str | None:
        path = Path(self.uri(key))
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def remove_tree(self, prefix: str) -> None:
        shutil.rmtree(self.uri(prefix), ignore_errors=True)


class S3Store:
    """A lake in an S3 bucket (AWS or an emulator)."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self.root = f"s3://{bucket}"
        self.s3 = client or s3_client()

    def uri(self, key: str) -> str:
        return f"{self.root}/{key}"

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(keys)

    def delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[i : i + 1000]]
            if batch:
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def adopt(self, src: str, key: str) -> None:
        """Upload a local file, or move an object of this bucket (``s3://`` URI), to ``key``."""
        if is_s3(src):
            bucket, src_key = split_uri(src)
            self.s3.copy_object(
                Bucket=self.bucket, Key=key, CopySource={"Bucket": bucket, "Key": src_key}
            )
            self.s3.delete_object(Bucket=bucket, Key=src_key)
        else:
            self.s3.upload_file(src, self.bucket, key)
            os.unlink(src)

    def copy(self, src: str, key: str) -> None:
        """Copy an ``s3://`` object to ``key`` (server-side; the source stays)."""
        bucket, src_key = split_uri(src)
        self.s3.copy_object(Bucket=self.bucket, Key=key, CopySource={"Bucket": bucket, "Key": src_key})

    def put_text(self, key: str, text: str) -> None:
        self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=text.encode("utf-8"), ContentType="application/json"
        )

    def get_text(self, key: str) -> str | None:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8")
        except self.s3.exceptions.NoSuchKey:
            return None

    def remove_tree(self, prefix: str) -> None:
        self.delete(self.list(prefix))


def open_store(lake: str) -> LocalStore | S3Store:
    """``lake`` = a bucket name, an ``s3://bucket`` URI, or a local directory path."""
    if is_s3(lake):
        bucket, _ = split_uri(lake)
        return S3Store(bucket)
    if os.sep in lake or lake.startswith(".") or os.path.isdir(lake):
        return LocalStore(lake)
    return S3Store(lake)
