"""Reading the lake's bookkeeping from the operator's side: the ledger, failure records and
run manifests that the Lambda functions and Glue jobs write (layout: docs/contracts.md).

The rules themselves (source ids, key validation, record layout) live in ONE file that the
Lambda functions bundle, ``lambdas/shared/shoplake_events.py``; this module loads that file
rather than restating it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from types import ModuleType
from typing import Any

from botocore.exceptions import ClientError

from shoplake import aws
from shoplake.settings import ROOT, Settings


@cache
def rules() -> ModuleType:
    """``lambdas/shared/shoplake_events.py`` as a module."""
    name = "shoplake_events"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "lambdas" / "shared" / "shoplake_events.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def source_id(bucket: str, key: str, version: str) -> str:
    return str(rules().source_id(bucket, key, version))


def dataset_of(file_name: str) -> str | None:
    """The dataset a local file belongs to by its name, or None."""
    name = file_name.lower()
    for dataset, (prefix, extensions) in rules().DATASETS.items():
        if prefix and name.startswith(prefix) and name.endswith(extensions):
            return str(dataset)
    return None


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
    return get_json(settings, f"state/ledger/{sid}.json")


def failure(settings: Settings, sid: str) -> dict[str, Any] | None:
    return get_json(settings, f"state/failed/{sid}.json")


def manifest(settings: Settings, dataset: str, sid: str) -> dict[str, Any] | None:
    return get_json(settings, f"curated/_manifests/{dataset}/{sid}.json")
