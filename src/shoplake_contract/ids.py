"""Identifiers of the lake: ``source_id``, S3 URI split, the version of a raw object.

``source_id`` = first 16 hex digits of sha256(``<bucket>/<key>@<versionId or ETag>``): the
idempotency key of one raw object version (docs/contracts.md "Curated data"). For a local
path (no bucket) the path itself stands for ``<bucket>/<key>``.
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


def object_version(version_id: str | None, etag: str | None) -> str:
    """The version of a raw object that its ``source_id`` names: the S3 ``VersionId``, else
    (an unversioned bucket, or ``"null"``, the version S3 gives objects written before
    versioning was enabled) the ETag without its quotes. S3 event records carry the ETag
    unquoted and HEAD/LIST answers quoted: stripping them makes both give one source_id."""
    if version_id and version_id != "null":
        return str(version_id)
    return str(etag or "").strip('"')
