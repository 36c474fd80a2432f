"""Raw landing of FX responses on S3 (write once, never overwrite) and their flat form.

Key: ``raw/fx_rates/ingest_date=<run date>/<source>_<start>_<end>.json`` where start/end are
the calendar dates the request asked for. Document::

    {"source": "frankfurter", "request_url": "...", "fetched_at": "2026-11-29T14:00:00Z",
     "response": <the API body, unchanged>}

The rates in ``response`` are keyed by ECB business date: weekends and TARGET holidays have
no entry. An order placed on a day without an entry takes the rates of the latest business
day on or before it (as-of join on ``rate_date <= order_date``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from shoplake.fx.errors import RawConflictError
from shoplake_contract import keys
from shoplake_contract.datasets import FX_RATES

log = logging.getLogger(__name__)

PREFIX = keys.raw_prefix(FX_RATES).rstrip("/")


def raw_key(source: str, start: date, end: date, ingest_date: date) -> str:
    return keys.raw_key(
        FX_RATES, ingest_date.isoformat(), f"{source}_{start.isoformat()}_{end.isoformat()}.json"
    )


def build_doc(
    source: str, request_url: str, fetched_at: datetime, body: dict[str, Any]
) -> dict[str, Any]:
    if fetched_at.tzinfo is None:
        raise ValueError("fetched_at must be timezone-aware")
    stamp = fetched_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "source": source,
        "request_url": request_url,
        "fetched_at": stamp,
        "response": body,
    }


def encode(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode()


def existing_state(
    s3: Any, bucket: str, key: str, doc: dict[str, Any]
) -> Literal["absent", "identical"]:
    """``absent`` or ``identical`` (same ``response``); raise if the key holds something else."""
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return "absent"
        raise
    try:
        stored = json.loads(obj["Body"].read())
    except ValueError as exc:
        raise RawConflictError(
            f"s3://{bucket}/{key} exists and is not JSON; not overwriting"
        ) from exc
    if isinstance(stored, dict) and stored.get("response") == doc["response"]:
        return "identical"
    raise RawConflictError(
        f"s3://{bucket}/{key} exists with a different response (fetched_at "
        f"{stored.get('fetched_at') if isinstance(stored, dict) else '?'}); raw data is never "
        "overwritten: investigate the upstream change, then move the old object aside"
    )


def put_new(s3: Any, bucket: str, key: str, doc: dict[str, Any]) -> Literal["written", "identical"]:
    """Create the object only if absent (``If-None-Match: *``); a lost race is re-checked."""
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=encode(doc),
            ContentType="application/json",
            IfNoneMatch="*",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
            raise
        return existing_state(s3, bucket, key, doc)  # raises on different content
    log.info("raw FX file written", extra={"ctx": {"uri": f"s3://{bucket}/{key}"}})
    return "written"


def _naive_utc(stamp: str) -> datetime:
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def flatten(raw_doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (ECB business date, currency) of a raw FX document.

    Columns: ``rate_date`` (date: the ECB business date the rate was published for),
    ``base`` (str), ``currency`` (str), ``rate`` (float: units of ``currency`` per 1 ``base``),
    ``source`` (str), ``fetched_at`` (naive UTC datetime). Handles single-date and range
    bodies; the base currency itself has no row. Rows are sorted by date, currency.
    """
    body = raw_doc["response"]
    base = body["base"]
    amount = float(body.get("amount", 1.0))
    series = {body["date"]: body["rates"]} if "date" in body else body["rates"]
    fetched_at = _naive_utc(raw_doc["fetched_at"])
    rows = []
    for day in sorted(series):
        for currency, rate in sorted(series[day].items()):
            rows.append(
                {
                    "rate_date": date.fromisoformat(day),
                    "base": base,
                    "currency": currency,
                    "rate": float(rate) / amount,
                    "source": raw_doc["source"],
                    "fetched_at": fetched_at,
                }
            )
    return rows
