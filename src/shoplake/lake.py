"""Reading the lake's bookkeeping from the operator's side: the ledger, failure records and
run manifests that the Lambda functions and Glue jobs write (layout: docs/contracts.md).

The rules themselves (datasets, source ids, key layout, key validation) are the contract
package ``shoplake_contract`` (src/shoplake_contract), which the Lambda functions and the Glue
job bundle too; this module applies them, it does not restate them.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from shoplake import aws
from shoplake.settings import Settings
from shoplake_contract import keys
from shoplake_contract.datasets import dataset_of_file as dataset_of
from shoplake_contract.ids import source_id

__all__ = ["dataset_of", "failure", "get_json", "ledger", "list_keys", "manifest", "source_id"]


def get_json(settings: Settings, key: str) -> dict[str, Any] | None:
    try:
        body = aws.client("s3", settings).get_object(Bucket=settings.lake_bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    return json.loads(body)


def list_keys(settings: Settings, prefix: str) -> list[dict[str, Any]]:
    s3 = aws.client("s3", settings)
    out: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.lake_bucket, Prefix=prefix):
        out.extend(page.get("Contents", []))
    return out


def ledger(settings: Settings, sid: str) -> dict[str, Any] | None:
    return get_json(settings, keys.ledger_key(sid))


def failure(settings: Settings, sid: str) -> dict[str, Any] | None:
    return get_json(settings, keys.failure_key(sid))


def manifest(settings: Settings, dataset: str, sid: str) -> dict[str, Any] | None:
    return get_json(settings, keys.manifest_key(dataset, sid))
