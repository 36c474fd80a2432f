"""The cleanse job: raw object -> curated Parquet + quarantine JSON Lines + manifest.

Engine-neutral orchestration; the engine is an I/O object (:mod:`io_duckdb` or
:mod:`io_spark`) and every transform is in :mod:`transforms`. Commit point
(docs/contracts.md): outputs are staged, the invariant is checked, the previous manifest and
files of the same ``source_id`` are removed, new files moved to their final keys, and the
manifest is written LAST. Any exception leaves no new manifest.
"""

from __future__ import annotations

import csv
import json
import logging
import posixpath
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from shoplake_contract import keys
from shoplake_contract.ids import source_id_for_uri
from shoplake_jobs import transforms as T
from shoplake_jobs.schemas import REASONS, Dataset, get_dataset
from shoplake_jobs.storage import Store, open_store

log = logging.getLogger("shoplake_jobs.job")


class JobError(RuntimeError):
    """The input or the run is not acceptable; nothing visible was written."""


def run(
    io: Any,
    dataset: str,
    source_uri: str,
    source_version: str | None,
    lake: str,
    job_name: str = "shoplake-cleanse",
    run_id: str | None = None,
) -> dict[str, Any]:
    """Cleanse one raw object; returns the manifest (the run summary)."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    ds = get_dataset(dataset)
    store = open_store(lake)
    run_id = run_id or f"local-{uuid.uuid4().hex[:12]}"
    source_object = "s3://" + source_uri[len("s3a://"):] if source_uri.startswith("s3a://") else source_uri
    sid = source_id_for_uri(source_object, source_version)
    log.info("cleanse %s %s (source_id %s) engine=%s run=%s", dataset, source_object, sid, io.engine, run_id)

    stage = io.stage(store, sid, run_id)
    try:
        counts, files, qfiles = _process(io, ds, source_object, stage)
        moved = _commit(store, ds, sid, files, qfiles)
    except Exception as exc:
        limit = io.limit_error(exc)  # the engine's out-of-memory is a limit, reported as such
        if limit is not None:
            log.error("cleanse %s stopped: %s", source_object, limit)
            raise limit from exc
        raise
    finally:
        io.cleanup(stage)
    ended = datetime.now(UTC)
    manifest = {
        "run_id": run_id,
        "job_name": job_name,
        "engine": io.engine,
        "dataset": ds.name,
        "source_object": source_object,
        "source_id": sid,
        "source_version": source_version,
        "files": moved["curated"],
        "quarantine_files": moved["quarantine"],
        **counts,
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
        "duration_s": round(time.perf_counter() - t0, 3),
        "status": "SUCCEEDED",
    }
    store.put_text(keys.manifest_key(ds.name, sid), json.dumps(manifest, indent=2))
    log.info("cleanse done: %s", json.dumps({k: manifest[k] for k in _COUNT_KEYS}))
    return manifest


_COUNT_KEYS = ("rows_read", "rows_written", "rows_quarantined", "duplicates_dropped")


class _Clock:
    """Debug log of the time each step took."""

    def __init__(self) -> None:
        self.t = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        log.debug("step %s: %.3fs", step, now - self.t)
        self.t = now


def _process(io: Any, ds: Dataset, source_object: str, stage: str) -> tuple[dict[str, Any], list[str], list[str]]:
    tick = _Clock()
    lines = io.keep(io.read_lines(source_object, ds.format))
    tick("read")
    if ds.format == "csv":
        parsed, records = _parse_csv(io, lines, ds)
    else:
        parsed = T.strict_json(io.parse_json(lines, ds))
        (info,) = io.rows(T.probe(lines))
        records = int(info["_nonblank"])
    if parsed is None:  # empty file
        by_reason = {r: 0 for r in REASONS}
        return _counts(0, 0, 0, 0, by_reason), [], []

    tick("parse")
    classified = io.materialize(T.classify(parsed, ds, source_object), "classified")
    groups = io.rows(T.reason_counts(classified, ds))
    found = {r["_reason"]: int(r["n"]) for r in groups}
    distinct_valid = sum(int(r["keys"]) for r in groups if r["_reason"] is None)
    tick("classify")
    unknown = set(found) - set(REASONS) - {None}
    if unknown:
        raise JobError(f"unknown reason codes {sorted(unknown)}")
    by_reason = {r: found.get(r, 0) for r in REASONS}
    rows_read = sum(found.values())
    valid = found.get(None, 0)
    if rows_read != records:
        raise JobError(f"invariant failed: {records} input records but {rows_read} classified")

    dups = valid - distinct_valid
    files = io.write_parquet(T.curated(T.ranked(classified, ds), ds), stage, ds.partition) if valid else []
    tick("write curated")
    quarantined = rows_read - valid
    qfiles = io.write_jsonl(T.quarantine(classified), stage) if quarantined else []
    tick("write quarantine")
    written = io.count_parquet(files)
    q_written = io.count_jsonl(qfiles)
    tick("count outputs")
    for df in (classified, lines):
        io.release(df)
    if rows_read != written + q_written + dups or q_written != sum(by_reason.values()):
        raise JobError(
            f"invariant failed: rows_read={rows_read} != rows_written={written} + "
            f"rows_quarantined={q_written} + duplicates_dropped={dups} "
            f"(by reason: {by_reason})"
        )
    return _counts(rows_read, written, q_written, dups, by_reason), files, qfiles


def _counts(read: int, written: int, quarantined: int, dups: int, by_reason: dict[str, int]) -> dict[str, Any]:
    return {
        "rows_read": read,
        "rows_written": written,
        "rows_quarantined": quarantined,
        "quarantined_by_reason": by_reason,
        "duplicates_dropped": dups,
    }


def _parse_csv(io: Any, lines: Any, ds: Dataset) -> tuple[Any | None, int]:
    """``(parsed frame or None for an empty file, number of data records)``."""
    (info,) = io.rows(T.probe(lines))
    if info["_first"] is None:
        return None, 0
    header_line = int(info["_first"])
    header = parse_header(info["_header"])
    missing = [c for c in ds.names if c not in header]
    if missing:
        raise JobError(f"{ds.name}: header lacks columns {missing} (header: {header})")
    extra = [c for c in header if c not in ds.names]
    if extra:
        log.warning("%s: ignoring columns outside the contract: %s", ds.name, extra)
    multiline = bool(info["_multiline"])
    records = T.csv_records(lines, multiline)
    F, _ = T.api(records)
    if multiline:
        records = io.materialize(records, "records")
        count = io.count(records) - 1
    else:
        count = int(info["_nonblank"]) - 1
    return T.csv_parse(records.filter(F.col("_line_no") > header_line), header, ds), count


def parse_header(text: str) -> list[str]:
    """Column names of a CSV header record (quotes allowed, names trimmed)."""
    row = next(csv.reader([text]), [])
    names = [name.strip() for name in row]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise JobError(f"duplicate header columns {sorted(dupes)}")
    return names


def _commit(store: Store, ds: Dataset, sid: str, files: list[str], qfiles: list[str]) -> dict[str, list[str]]:
    """Replace the outputs of ``sid``: old manifest, old files, then new files (manifest after)."""
    store.delete([keys.manifest_key(ds.name, sid)])
    old = [k for k in store.list(keys.curated_prefix(ds.name)) if posixpath.basename(k).startswith(f"{sid}-")]
    old += store.list(keys.quarantine_prefix(ds.name, sid))
    store.delete(old)
    targets = final_keys(ds, sid, files)
    for src, key in targets:
        store.adopt(src, key)
    qtargets = [(src, keys.quarantine_file_key(ds.name, sid, n)) for n, src in enumerate(qfiles)]
    for src, key in qtargets:
        store.adopt(src, key)
    return {"curated": [k for _, k in targets], "quarantine": [k for _, k in qtargets]}


def final_keys(ds: Dataset, sid: str, files: list[str]) -> list[tuple[str, str]]:
    """``curated/<dataset>/<partition>=<date>/<sid>-<n>.parquet`` for staged part files."""
    by_partition: dict[str, list[str]] = defaultdict(list)
    for f in files:
        part = next((p for p in f.replace("\\", "/").split("/") if p.startswith(f"{ds.partition}=")), None)
        if part is None:
            raise JobError(f"staged file outside a {ds.partition}= directory: {f}")
        by_partition[part].append(f)
    return [
        (src, keys.curated_file_key(ds.name, part, sid, n))
        for part in sorted(by_partition)
        for n, src in enumerate(sorted(by_partition[part]))
    ]
