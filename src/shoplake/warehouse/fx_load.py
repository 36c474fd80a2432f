"""Raw FX documents (``raw/fx_rates/**.json``) -> ``RAW.FX_RATES`` through the FX helper's
``shoplake.fx.flatten`` (imported lazily: skipped with a log line when absent). Idempotent by
``_SOURCE_FILE``: a document is loaded once per version (S3 ETag); a changed one replaces its rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from shoplake.warehouse import bookkeeping as book
from shoplake.warehouse import connection as wc
from shoplake.warehouse.manifests import iter_objects
from shoplake.warehouse.results import TableLoad
from shoplake.warehouse.sqlfiles import section_statements
from shoplake_contract import keys
from shoplake_contract.datasets import FX_RATES

log = logging.getLogger(__name__)

FX_DATASET = FX_RATES
FX_PREFIX = keys.raw_prefix(FX_RATES)
#: FX rows per INSERT (one bound JSON array each; well under Snowflake's 16 MB bind limit).
FX_CHUNK_ROWS = 10_000


def _flatten_function() -> Callable[[dict[str, Any]], list[dict[str, Any]]] | None:
    try:
        from shoplake.fx import flatten
    except ImportError:
        return None
    return flatten


def load_fx(conn: Any, s3: Any, bucket: str, run_id: str) -> TableLoad:
    t = TableLoad(dataset=FX_DATASET, table="RAW.FX_RATES")
    flatten = _flatten_function()
    if flatten is None:
        log.info("shoplake.fx not available: FX rates not loaded")
        t.status, t.detail = "SKIPPED", "shoplake.fx.flatten not available"
        return t
    try:
        ledger = book.ledger(conn, FX_DATASET)
        for obj in iter_objects(s3, bucket, FX_PREFIX):
            key = obj["Key"]
            if not key.endswith(".json"):
                continue
            url, etag = f"s3://{bucket}/{key}", obj["ETag"].strip('"')
            previous = ledger.get(url)
            if previous is not None and previous[1] == etag:
                t.files_skipped += 1
                continue
            doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            rows = flatten(doc)
            _insert_fx(conn, url, etag, rows, run_id, replace=previous is not None)
            t.files_loaded += 1
            t.files_replaced += int(previous is not None)
            t.rows_in += len(rows)
            t.rows_loaded += len(rows)
    except Exception as exc:
        log.exception("loading FX rates failed")
        t.status, t.detail = "FAILED", str(exc)
    return t


def _fx_row(row: dict[str, Any]) -> dict[str, Any]:
    """A flattened FX row as JSON values (dates and timestamps in ISO-8601)."""
    return {
        "rate_date": row["rate_date"].isoformat(),
        "base": row["base"],
        "currency": row["currency"],
        "rate": row["rate"],
        "source": row["source"],
        "fetched_at": row["fetched_at"].isoformat() if row["fetched_at"] is not None else None,
    }


def _insert_fx(
    conn: Any, url: str, etag: str, rows: list[dict[str, Any]], run_id: str, *, replace: bool
) -> None:
    (insert_sql,) = section_statements(book.BOOK_SQL, "fx_insert")
    with book.transaction(conn) as cur:
        if replace:
            book.run(conn, cur, book.BOOK_SQL, "fx_forget", [url])
            book.run(conn, cur, book.BOOK_SQL, "ledger_forget", [FX_DATASET, url])
        for start in range(0, len(rows), FX_CHUNK_ROWS):
            doc = json.dumps([_fx_row(r) for r in rows[start : start + FX_CHUNK_ROWS]])
            wc.execute(conn, cur, insert_sql, [url, doc])
        book.run(conn, cur, book.BOOK_SQL, "ledger_record", [FX_DATASET, url, None, etag, None, len(rows), run_id])
