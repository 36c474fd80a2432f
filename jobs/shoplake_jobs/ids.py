"""The idempotency key of one raw object version (no dependencies: the Lambda copies it).

``source_id`` = first 16 hex digits of sha256("<bucket>/<key>@<versionId or ETag>").
For a local path the path itself stands for ``<bucket>/<key>``.
"""

from __future__ import annotations

import hashlib


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` (or ``s3a://``) -> ``(bucket, key)``; a local path -> ``("", path)``."""
    for scheme in ("s3://", "s3a://"):
        if uri.startswith(scheme):
            bucket, _, key = uri[len(scheme) :].partition("/")
            return bucket, key
    return "", uri


def source_id(bucket: str, key: str, version: str | None) -> str:
    """First 16 hex digits of sha256(``<bucket>/<key>@<version>``)."""
    ident = f"{bucket}/{key}@{version or ''}" if bucket else f"{key}@{version or ''}"
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]


def source_id_for_uri(uri: str, version: str | None) -> str:
    """:func:`source_id` of an ``s3://`` URI or a local path."""
    bucket, key = split_uri(uri)
    return source_id(bucket, key, version)
