"""Every bad-input fixture through the DuckDB engine: exact counts, reasons, values, layout."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from jobs_expectations import EXPECTED, QUARANTINED_LINES, counts
from shoplake_jobs.job import JobError

from shoplake_contract.ids import source_id_for_uri

FIXTURES = Path(__file__).parent / "fixtures"


def curated_rows(lake: Path, manifest: dict, order: str = "1") -> list[tuple]:
    files = [str(lake / f) for f in manifest["files"]]
    if not files:
        return []
    return duckdb.sql(
        f"SELECT * EXCLUDE (source_object) FROM read_parquet({files}, hive_partitioning=true) ORDER BY {order}"
    ).fetchall()


def quarantine_rows(lake: Path, manifest: dict) -> list[dict]:
    out: list[dict] = []
    for f in manifest["quarantine_files"]:
        out += [json.loads(line) for line in (lake / f).read_text(encoding="utf-8").splitlines()]
    return sorted(out, key=lambda r: r["line_number"])


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_counts_and_reasons(run_job, tmp_path: Path, fixture: str) -> None:
    lake = tmp_path / "lake"
    manifest = run_job("duckdb", fixture, lake=lake)
    assert counts(manifest) == EXPECTED[fixture]
    assert manifest["rows_read"] == (
        manifest["rows_written"] + manifest["rows_quarantined"] + manifest["duplicates_dropped"]
    )
    quarantined = {r["line_number"]: r["reason"] for r in quarantine_rows(lake, manifest)}
    assert quarantined == QUARANTINED_LINES.get(fixture, {})
    assert len(curated_rows(lake, manifest)) == manifest["rows_written"]
    # the manifest is the commit point and is written last
    sid = manifest["source_id"]
    saved = json.loads((lake / f"curated/_manifests/{manifest['dataset']}/{sid}.json").read_text())
    assert saved == manifest and saved["status"] == "SUCCEEDED" and saved["engine"] == "duckdb"
    assert not (lake / "_staging").exists()


def test_manifest_layout_and_keys(run_job, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    m = run_job("duckdb", "orders_timestamps.csv", lake=lake)
    sid = source_id_for_uri(str(FIXTURES / "orders_timestamps.csv"), "v1")
    assert m["source_id"] == sid
    # one partition per raw object: its ingest date (none in this key: the fixed fallback),
    # whatever the spread of its order dates
    assert m["files"] == [f"curated/orders/ingest_date=1970-01-01/{sid}-0.parquet"]
    assert m["quarantine_files"] == []
    required = {"run_id", "job_name", "engine", "dataset", "source_object", "source_id",
                "source_version", "files", "quarantine_files", "rows_read", "rows_written",
                "rows_quarantined", "quarantined_by_reason", "duplicates_dropped", "started_at",
                "ended_at", "duration_s", "status"}
    assert required <= set(m)
    schema = dict(duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{lake / m['files'][0]}')").fetchall()[i][:2]
                  for i in range(12))
    assert schema["order_ts"] == "TIMESTAMP" and schema["unit_price"] == "DECIMAL(18,2)"
    assert schema["line_number"] == "INTEGER" and "order_date" not in schema


def test_timestamps_are_utc(run_job, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    m = run_job("duckdb", "orders_timestamps.csv", lake=lake)
    got = {r[0]: (r[8], r[-1]) for r in curated_rows(lake, m)}
    # the partition is the raw object's ingest date (this key names none: the fallback), not
    # the UTC date of order_ts
    ingest = date(1970, 1, 1)
    assert got == {
        "T1": (datetime(2026, 1, 1, 10, 0), ingest),
        "T2": (datetime(2025, 12, 31, 20, 0), ingest),
        "T3": (datetime(2026, 1, 2, 1, 0), ingest),
        "T4": (datetime(2026, 1, 1, 10, 0), ingest),
        "T5": (datetime(2026, 1, 1, 10, 0, 0, 123456), ingest),
    }


def test_quoted_fields_and_normalisation(run_job, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    m = run_job("duckdb", "orders_quoted.csv", lake=lake)
    rows = {r[0]: r for r in curated_rows(lake, m)}
    assert rows["Q1"][3] == "P,1"
    assert rows["Q2"][3] == 'P"2\nB' and rows["Q2"][7] == "paid"
    assert rows["Q3"][7] == "shipped"
    m2 = run_job("duckdb", "orders_wrong_types.csv", lake=tmp_path / "lake2")
    (w11,) = curated_rows(tmp_path / "lake2", m2)
    assert w11[:8] == ("W11", 1, "C1", "P1", 3, Decimal("9.99"), "USD", "paid")
    assert w11[10] == Decimal("29.97")  # line_amount


def test_dedupe_keeps_latest_then_last_line(run_job, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    m = run_job("duckdb", "orders_dupes.csv", lake=lake)
    kept = {(r[0], r[1]): r[4] for r in curated_rows(lake, m)}
    assert kept == {("D1", 1): 2, ("D2", 1): 5, ("D2", 2): 6}


def test_quarantine_keeps_original_text(run_job, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    m = run_job("duckdb", "orders_latin1.csv", lake=lake)
    q = quarantine_rows(lake, m)
    assert q[0]["raw_line"].startswith("L2,1,Jos\ufffd,P1") and q[0]["reason"] == "encoding_error"
    assert q[1] == {
        "source_object": str(FIXTURES / "orders_latin1.csv"), "line_number": 4,
        "raw_line": "L3,1,Jos\ufffd", "reason": "malformed_row", "detail": "expected 10 fields, got 3",
    }


def test_customers_normalised(run_job, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    m = run_job("duckdb", "customers_mixed.json", lake=lake)
    c1 = curated_rows(lake, m)[0]
    assert c1[:8] == ("C1", "Ann", "Lee", "ann@example.com", "1", "Oslo", "NO", "gold")


def test_missing_header_column_fails_without_manifest(run_job, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with pytest.raises(JobError, match="header lacks columns \\['currency'\\]"):
        run_job("duckdb", "orders_no_currency.csv", lake=lake)
    assert [p for p in lake.rglob("*") if p.is_file()] == []


def test_missing_source_fails(run_job, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_job("duckdb", tmp_path / "orders_nothing.csv", dataset="orders")


def test_replay_rewrites_same_keys(run_job, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = run_job("duckdb", "orders_ragged.csv", lake=lake)
    second = run_job("duckdb", "orders_ragged.csv", lake=lake)
    assert first["files"] == second["files"] and first["quarantine_files"] == second["quarantine_files"]
    files = sorted(str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file())
    assert files == sorted([*first["files"], *first["quarantine_files"],
                            f"curated/_manifests/orders/{first['source_id']}.json"])


def test_replay_removes_files_of_older_run(run_job, tmp_path: Path) -> None:
    """A re-run of a changed object writes the same keys (its ingest date's partition) and
    leaves no file or row of the older run."""
    lake = tmp_path / "lake"
    src = tmp_path / "orders_a.csv"
    header = (FIXTURES / "orders_header_only.csv").read_text()
    src.write_text(header + "X1,1,C1,P1,1,1.00,EUR,paid,2026-03-01T00:00:00Z,2026-03-01T00:00:00Z\n")
    old = run_job("duckdb", src, lake=lake)
    src.write_text(header + "X1,1,C1,P1,1,1.00,EUR,paid,2026-04-01T00:00:00Z,2026-04-01T00:00:00Z\n")
    new = run_job("duckdb", src, lake=lake)
    assert old["files"] == new["files"] == [f"curated/orders/ingest_date=1970-01-01/{new['source_id']}-0.parquet"]
    assert [r[8] for r in curated_rows(lake, new)] == [datetime(2026, 4, 1)]
    assert sorted(p.relative_to(lake).as_posix() for p in (lake / "curated/orders").rglob("*.parquet")) == new["files"]


def test_invariant_violation_fails_without_manifest(run_job, tmp_path: Path, monkeypatch) -> None:
    """A transform that loses a row is caught by the job's invariant; nothing becomes visible."""
    import shoplake_jobs.job as job_mod

    real = job_mod.T.classify

    def lossy(parsed, dataset, source_object):
        F, _ = job_mod.T.api(parsed)
        return real(parsed.filter(F.col("_line_no") != 2), dataset, source_object)

    monkeypatch.setattr(job_mod.T, "classify", lossy)
    lake = tmp_path / "lake"
    with pytest.raises(JobError, match="invariant failed"):
        run_job("duckdb", "orders_ragged.csv", lake=lake)
    assert [p for p in lake.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_quoting_and_stray_quotes(run_job, tmp_path: Path, seed: int) -> None:
    """Any valid quoting (commas, "" escapes, newlines in fields) loads exactly; every line
    with a quote inside an unquoted field is quarantined alone (issue 12, finding 3)."""
    from jobs_expectations import quoting_file

    src = tmp_path / "orders_quoting.csv"
    valid, stray = quoting_file(src, seed=seed)
    assert stray and any("\n" in v for v in valid.values()) and any('"' in v for v in valid.values())
    lake = tmp_path / "lake"
    m = run_job("duckdb", src, lake=lake)
    assert {r["line_number"]: r["reason"] for r in quarantine_rows(lake, m)} == dict.fromkeys(
        sorted(stray), "malformed_row")
    assert {r[0]: r[3] for r in curated_rows(lake, m)} == valid
