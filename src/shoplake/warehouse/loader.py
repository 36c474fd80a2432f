"""``shoplake load``: curated Parquet (committed by run manifests) and raw FX JSON -> RAW tables.

Rules (docs/contracts.md):
- Only files listed in SUCCEEDED manifests ``curated/_manifests/<dataset>/*.json`` are loaded;
  other files under ``curated/`` are invisible.
- Each file is loaded once: COPY load history skips a file already in the table, and the
  loader's ledger ``RAW.LOAD_LEDGER`` records the S3 ETag of the version loaded.
- Replays: re-processing a raw object rewrites the same curated keys. A file whose ETag changed
  has its old rows (``_SOURCE_FILE``) deleted and is copied again in ONE transaction; a file the
  new manifest of the same ``source_id`` no longer lists has its rows removed. So the raw tables
  hold each curated file's rows exactly once (replace, not append) and a replay never double
  counts, independent of dbt's dedupe (which would keep two copies of a replayed row with the
  same ``updated_at``).
- Schema drift: every new file's Parquet columns must equal the table's data columns, else the
  dataset fails with an error naming the file and the columns; nothing of it is loaded.
- One ``RAW.PIPELINE_RUNS`` row per dataset and run (stage ``load``).
- Cost follows rows, not files: a dataset's planned files load in transactions of up to
  ``COPY_BATCH_FILES`` files (one COPY + one stamp per file, one ledger statement per batch),
  after one S3 listing that spares every Parquet open its HEAD requests.
- Hostile or broken input is refused alone: a manifest that is not valid, or a file it lists
  whose key is not ``curated/<dataset>/<partition>=YYYY-MM-DD/<source_id>-<n>.parquet``
  (e.g. ``order_date=0001-12-31 (BC)``, ``order_date=10000-01-01``), is not loaded; every other
  file is. The table's status is WARNING with the reason, and one SNS alert (event
  ``load_refused``) names each refused manifest/file, at every load until it is fixed.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shoplake.settings import Settings, get_settings
from shoplake.warehouse import bookkeeping as book
from shoplake.warehouse import connection as wc
from shoplake.warehouse.fx_load import FX_DATASET, load_fx
from shoplake.warehouse.manifests import (
    Manifest,
    Refusal,
    curated_key_problem,
    etags,
    read_manifests,
)
from shoplake.warehouse.results import LoadError, LoadResult, TableLoad, utcnow
from shoplake.warehouse.schema_check import compare, parquet_columns
from shoplake.warehouse.sqlfiles import section_statements
from shoplake_contract import keys
from shoplake_contract.datasets import JOB_DATASETS

log = logging.getLogger(__name__)

#: the datasets with curated data (a Glue job each), in load order
CURATED_DATASETS: tuple[str, ...] = JOB_DATASETS
#: The first columns of a COPY INTO <table> result (Snowflake's documented order; fakesnow's too).
COPY_RESULT_COLUMNS = ("file", "status", "rows_parsed", "rows_loaded")
#: Files per load transaction (and per ledger statement). Snowflake's own limit for a COPY's
#: FILES list is 1000; 1 gives the earlier one-transaction-per-file load (benchmarks compare).
COPY_BATCH_FILES = 1000
__all__ = ["CURATED_DATASETS", "LoadError", "LoadResult", "TableLoad", "load"]


# --- entry point --------------------------------------------------------------------------
def load(
    settings: Settings | None = None,
    *,
    datasets: Sequence[str] | None = None,
    raise_on_error: bool = True,
) -> LoadResult:
    """Load every committed curated file and raw FX document not loaded yet (for Airflow/CLI)."""
    s = settings or get_settings()
    from shoplake.warehouse.writer_lock import writer_lock

    with writer_lock(s, what="load"):
        return _load(s, datasets=datasets, raise_on_error=raise_on_error)


def _load(s: Settings, *, datasets: Sequence[str] | None, raise_on_error: bool) -> LoadResult:
    from shoplake.aws import client

    s3 = client("s3", s)
    wanted = list(datasets) if datasets else [*CURATED_DATASETS, FX_DATASET]
    result = LoadResult(run_id=uuid.uuid4().hex, tables=[])
    log.info("load started", extra={"ctx": {"run_id": result.run_id, "datasets": ",".join(wanted)}})
    conn = wc.connect(s)
    try:
        wc.create_tables(conn)
        wc.run_statements(conn, section_statements(book.COPY_SQL, "setup", lake_bucket=s.lake_bucket))
        with _ParquetInspector(s, wc.s3_filesystem(conn)) as inspector:
            for dataset in wanted:
                if dataset == FX_DATASET:
                    table = load_fx(conn, s3, s.lake_bucket, result.run_id)
                else:
                    table = _load_curated(conn, s3, s.lake_bucket, dataset, result.run_id, inspector)
                table.ended_at = utcnow()
                result.tables.append(table)
                book.record_run(conn, result.run_id, table)
                if table.refused:
                    _alert_refused(s, result.run_id, table)
                log.info(
                    "table loaded" if table.status != "FAILED" else "table load FAILED",
                    extra={"ctx": _summary(table)},
                )
    finally:
        conn.close()
    if raise_on_error and not result.ok:
        raise LoadError(result)
    return result


def _alert_refused(s: Settings, run_id: str, t: TableLoad) -> None:
    """One SNS alert for the refused manifests/files of a table (contract: docs/contracts.md
    "Alerts"). A failed publish is logged, never fails the load."""
    import json

    from shoplake.orchestration.pipeline import Alert, publish

    message = {
        "pipeline": "shoplake", "event": "load_refused", "dataset": t.dataset,
        "object": t.refused[0].file or t.refused[0].manifest, "run_id": run_id,
        "counts": {"refused": len(t.refused), "files_loaded": t.files_loaded},
        "refused": [{"manifest": r.manifest, "file": r.file, "reason": r.reason} for r in t.refused],
        "error": t.refused[0].reason,
    }
    subject = f"shoplake load {t.dataset}: refused {len(t.refused)} manifest/file(s)"
    try:
        publish(Alert(subject[:100], json.dumps(message)), s)
    except Exception:  # noqa: BLE001 - the alert is best effort, the table status says it too
        log.exception("could not publish the load_refused alert", extra={"ctx": {"dataset": t.dataset}})


def _summary(t: TableLoad) -> dict[str, Any]:
    return {
        "dataset": t.dataset,
        "status": t.status,
        "files_loaded": t.files_loaded,
        "files_replaced": t.files_replaced,
        "files_skipped": t.files_skipped,
        "refused": len(t.refused),
        "rows_loaded": t.rows_loaded,
        "detail": t.detail or "-",
    }


# --- curated Parquet ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Planned:
    key: str
    url: str
    relative: str  # to @CURATED_STAGE/<dataset>/
    etag: str
    manifest: Manifest
    replace: bool


class _ParquetInspector:
    """An in-memory DuckDB reading Parquet footers from S3 (works for either backend), through
    the warehouse connection's own s3fs filesystem when it has one (one warm listing cache)."""

    def __init__(self, settings: Settings, fs: Any = None) -> None:
        self.settings = settings
        self.fs = fs
        self.duck: Any = None

    def __enter__(self) -> _ParquetInspector:
        import duckdb

        from shoplake.aws import s3fs_filesystem

        if self.fs is None:
            self.fs = s3fs_filesystem(self.settings)
        self.duck = duckdb.connect()
        self.duck.register_filesystem(self.fs)
        return self

    def warm(self, bucket: str, prefix: str) -> None:
        """List ``prefix`` once into the filesystem's listing cache. Every Parquet open (footer
        check here, fakesnow's column lookup and read in COPY) otherwise starts with two HEAD
        requests per file (s3fs ``info`` and ``modified``): most of the per-file cost of a load.
        The cache lives as long as this load's connection; the plan is made from a listing of
        the same moment anyway."""
        self.fs.invalidate_cache()
        self.fs.find(f"{bucket}/{prefix}")

    def __exit__(self, *exc: object) -> None:
        self.duck.close()

    def columns(self, url: str) -> dict[str, str]:
        return parquet_columns(self.duck, url)


def _load_curated(
    conn: Any, s3: Any, bucket: str, dataset: str, run_id: str, inspector: _ParquetInspector
) -> TableLoad:
    table_name = dataset.upper()
    t = TableLoad(dataset=dataset, table=f"RAW.{table_name}")
    try:
        manifests, t.refused = read_manifests(s3, bucket, dataset)
        ledger = book.ledger(conn, dataset)
        versions = etags(s3, bucket, keys.curated_prefix(dataset))
        plan, stale = _plan(bucket, dataset, manifests, ledger, versions, t)
        if plan:
            inspector.warm(bucket, keys.curated_prefix(dataset))
            table_columns = book.table_columns(conn, table_name)
            for item in plan:  # check every file before loading any
                compare(t.table, item.url, table_columns, inspector.columns(item.url))
        if stale:
            _forget_files(conn, dataset, stale)
            t.files_removed += len(stale)
        loaded_manifests: dict[str, Manifest] = {}
        for start in range(0, len(plan), COPY_BATCH_FILES):
            batch = plan[start : start + COPY_BATCH_FILES]
            t.rows_loaded += _load_batch(conn, dataset, batch, run_id)
            t.files_loaded += len(batch)
            t.files_replaced += sum(int(item.replace) for item in batch)
            loaded_manifests.update((item.manifest.key, item.manifest) for item in batch)
        t.rows_in = sum(m.rows_written for m in loaded_manifests.values())
        t.rows_quarantined = sum(m.rows_quarantined for m in loaded_manifests.values())
        notes = []
        if t.rows_in != t.rows_loaded:
            t.status = "WARNING"
            notes.append(f"rows_in {t.rows_in} != rows_loaded {t.rows_loaded}")
        if t.files_missing:
            t.status = "WARNING"
            notes.append(f"{t.files_missing} manifest file(s) not in S3 yet")
        if t.refused:
            t.status = "WARNING"
            first = t.refused[0]
            notes.append(
                f"refused {len(t.refused)} manifest/file(s), e.g. {first.file or first.manifest}: "
                f"{first.reason}"
            )
            for r in t.refused:
                log.warning("manifest or file refused, not loaded", extra={"ctx": {"manifest": r.manifest, "file": r.file or "-", "reason": r.reason}})
        if t.files_replaced or t.files_removed:
            notes.append(f"replaced {t.files_replaced}, removed {t.files_removed} file(s)")
        t.detail = "; ".join(notes)
    except Exception as exc:
        log.exception("loading %s failed", dataset)
        t.status = "FAILED"
        t.detail = str(exc)
    return t


def _plan(
    bucket: str,
    dataset: str,
    manifests: list[Manifest],
    ledger: dict[str, tuple[str | None, str | None]],
    versions: dict[str, str],
    t: TableLoad,
) -> tuple[list[_Planned], list[str]]:
    """Files to (re)load and previously loaded files of a source its new manifest dropped."""
    prefix = keys.curated_prefix(dataset)
    plan: list[_Planned] = []
    listed: set[str] = set()
    for m in manifests:
        for key in m.files:
            problem = curated_key_problem(dataset, key)
            if problem is not None:
                # refused alone: the other files (of this manifest too) still load, and the key
                # never reaches the COPY template (whose value check would fail every load)
                t.refused.append(Refusal(f"s3://{bucket}/{m.key}", key, problem))
                continue
            url = f"s3://{bucket}/{key}"
            if url in listed:
                continue
            listed.add(url)
            etag = versions.get(key)
            if etag is None:
                log.warning("manifest file missing in S3", extra={"ctx": {"manifest": m.key, "file": key}})
                t.files_missing += 1
                continue
            previous = ledger.get(url)
            if previous is not None and previous[1] == etag:
                t.files_skipped += 1
                continue
            plan.append(_Planned(key, url, key[len(prefix) :], etag, m, replace=previous is not None))
    current_sources = {m.source_id for m in manifests}
    stale = [
        url
        for url, (source_id, _etag) in ledger.items()
        if source_id in current_sources and url not in listed
    ]
    return plan, stale


def _load_batch(conn: Any, dataset: str, batch: Sequence[_Planned], run_id: str) -> int:
    """Files in ONE transaction: [delete the old rows of replaced files], per file COPY and
    stamp, then one ledger statement for the batch. Rows copied, summed over the batch.

    One COPY per file, because the stamp needs it: the same transaction stamps the rows that
    have no ``_SOURCE_FILE`` yet, which only names one file when one file was copied since the
    last stamp (fakesnow 0.12 knows neither ``INCLUDE_METADATA`` nor ``METADATA$FILENAME``).
    The per-file cost that remains is the COPY itself; the transaction (BEGIN/COMMIT, i.e. a
    WAL sync), the ledger insert and the forget statements are per batch (``COPY_BATCH_FILES``).
    """
    ledger_rows: list[dict[str, Any]] = []
    total = 0
    with book.transaction(conn) as cur:
        replaced = [item.url for item in batch if item.replace]
        if replaced:
            _forget(conn, cur, dataset, replaced)
        for item in batch:
            section = f"copy_{dataset}_replace" if item.replace else f"copy_{dataset}"
            (copy_sql,) = section_statements(book.COPY_SQL, section, file=item.relative)
            wc.execute(conn, cur, copy_sql)
            rows = _copy_rows(cur, item.url)
            if rows is None:  # COPY load history says loaded before, the ledger did not know it
                log.warning("COPY skipped a file the ledger did not know", extra={"ctx": {"file": item.url}})
                rows = 0
            else:
                book.run(conn, cur, book.COPY_SQL, f"stamp_{dataset}", [item.url])
                stamped = _affected(cur)
                if stamped is not None and stamped != rows:
                    raise RuntimeError(
                        f"stamped {stamped} rows with _SOURCE_FILE after copying {rows} from "
                        f"{item.url}: is another load running?"
                    )
            total += rows
            ledger_rows.append({
                "dataset": dataset, "source_file": item.url, "source_id": item.manifest.source_id,
                "etag": item.etag, "manifest_run": item.manifest.run_id, "rows_loaded": rows,
                "load_run_id": run_id,
            })
            log.debug("file loaded", extra={"ctx": {"file": item.url, "rows": rows, "replace": item.replace}})
        book.run(conn, cur, book.BOOK_SQL, "ledger_record_many", [json.dumps(ledger_rows)])
    return total


def _forget(conn: Any, cur: Any, dataset: str, urls: Sequence[str]) -> None:
    """Delete the rows and ledger entries of ``urls`` (inside the caller's transaction)."""
    for url in urls:
        book.run(conn, cur, book.COPY_SQL, f"forget_{dataset}", [url])
        book.run(conn, cur, book.BOOK_SQL, "ledger_forget", [dataset, url])


def _forget_files(conn: Any, dataset: str, urls: Sequence[str]) -> None:
    with book.transaction(conn) as cur:
        _forget(conn, cur, dataset, urls)
    for url in urls:
        log.info("rows of a file dropped by its source's new manifest removed", extra={"ctx": {"file": url}})


def _copy_rows(cur: Any, url: str) -> int | None:
    """Rows loaded by a one-file COPY; None when it skipped the file (load history).

    The columns of a COPY INTO <table> result are documented and fixed (FILE, STATUS,
    ROWS_PARSED, ROWS_LOADED, ERROR_LIMIT, ...; a single STATUS column when no file was
    processed), so they are read by position: ``cursor.description`` costs fakesnow one more
    statement (a DESCRIBE of the result) per file."""
    rows = cur.fetchall()
    if rows and len(rows[0]) == 1:  # "Copy executed with 0 files processed."
        return None
    status_i, loaded_i = COPY_RESULT_COLUMNS.index("status"), COPY_RESULT_COLUMNS.index("rows_loaded")
    if len(rows) != 1 or len(rows[0]) < len(COPY_RESULT_COLUMNS):
        raise RuntimeError(f"COPY of {url} reported {len(rows)} files")
    status = str(rows[0][status_i]).upper()
    if status == "LOAD_SKIPPED":
        return None
    if status != "LOADED":
        raise RuntimeError(f"COPY of {url} ended with status {status}: {rows[0]}")
    return int(rows[0][loaded_i])


def _affected(cur: Any) -> int | None:
    """Rows an UPDATE changed (Snowflake and fakesnow return them as the first column)."""
    try:
        row = cur.fetchone()
    except Exception:
        return cur.rowcount if cur.rowcount is not None and cur.rowcount >= 0 else None
    return int(row[0]) if row else None
