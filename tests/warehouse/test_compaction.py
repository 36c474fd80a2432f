"""Curated files sized for the warehouse (issue 11 item 5): a generated day of customers with a
long ``updated_at`` history, through the real cleanse job (DuckDB engine) on MiniStack S3 and
``shoplake load``, is one curated file that loads every row exactly once, idempotently."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from shoplake_jobs import run as run_job
from shoplake_jobs.schemas import FALLBACK_INGEST_DATE, ingest_date_of

from shoplake.generate import GenerateConfig, generate
from shoplake.warehouse import load, query

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning")

DAY = "2026-01-01"


def _count(lake: Any, sql: str) -> tuple[Any, ...]:
    (row,) = query(sql, lake.settings).rows
    return tuple(row)


def _cleanse(lake: Any, key: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name, value in lake.settings.aws_env().items():  # the job's own S3 client
        monkeypatch.setenv(name, value)
    version = lake.s3.head_object(Bucket=lake.bucket, Key=key)["ETag"].strip('"')
    return run_job(
        "duckdb",
        dataset="customers",
        source_uri=f"s3://{lake.bucket}/{key}",
        source_version=version,
        lake=f"s3://{lake.bucket}",
    )


def test_a_day_of_customers_with_long_history_is_one_file_loaded_once(
    lake: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(tmp_path / "gen", GenerateConfig(orders=6_000, seed=3, days=1))
    source = tmp_path / "gen" / f"day={DAY}" / f"customers_{DAY}.json"
    key = f"raw/customers/ingest_date={DAY}/{source.name}"
    lake.s3.upload_file(str(source), lake.bucket, key)

    manifest = _cleanse(lake, key, monkeypatch)
    # the rows span hundreds of updated_at dates (one file each in the old layout) ...
    dates = lake.read_parquet(manifest["files"], "SELECT count(DISTINCT updated_at::DATE) FROM f")
    assert dates[0] > 100
    # ... and are one file of the object's ingest date now
    sid = manifest["source_id"]
    assert manifest["files"] == [f"curated/customers/ingest_date={DAY}/{sid}-0.parquet"]
    rows = manifest["rows_written"]
    assert rows > 1_000

    first = load(lake.settings, datasets=["customers"]).table("customers")
    assert (first.status, first.files_loaded, first.rows_loaded) == ("SUCCEEDED", 1, rows)
    every_row_once = (
        "SELECT count(*), count(DISTINCT customer_id), count(DISTINCT _source_file), "
        "count(_loaded_at) FROM raw.customers"
    )
    assert _count(lake, every_row_once) == (rows, rows, 1, rows)

    # a re-run of the same object version writes the same keys, and the load stays exact
    again = _cleanse(lake, key, monkeypatch)
    assert (again["files"], again["rows_written"]) == (manifest["files"], rows)
    second = load(lake.settings, datasets=["customers"]).table("customers")
    assert second.files_loaded + second.files_skipped == 1 and second.files_removed == 0
    assert _count(lake, every_row_once) == (rows, rows, 1, rows)
    third = load(lake.settings, datasets=["customers"]).table("customers")
    assert (third.files_loaded, third.files_skipped) == (0, 1)
    assert _count(lake, "SELECT count(*) FROM raw.customers") == (rows,)


def test_files_of_the_old_layout_load_and_a_replay_replaces_them(lake: Any) -> None:
    """Customers committed as ``updated_date=`` before the layout change still load; the
    replay of their object (new layout) drops their rows and loads the new file once."""
    sid = hashlib.sha256(b"old-layout").hexdigest()[:16]
    old = [
        lake.parquet(
            "customers", f"curated/customers/updated_date={d}/{sid}-0.parquet", n=5, start=s, day=d
        )
        for s, d in ((0, "2025-03-01"), (5, "2025-07-09"))
    ]
    lake.manifest("customers", sid, old, rows=10)
    first = load(lake.settings, datasets=["customers"]).table("customers")
    assert (first.status, first.files_loaded, first.rows_loaded) == ("SUCCEEDED", 2, 10)

    new = lake.parquet(
        "customers", f"curated/customers/ingest_date=2026-01-05/{sid}-0.parquet", n=10
    )
    lake.manifest("customers", sid, [new], rows=10)
    second = load(lake.settings, datasets=["customers"]).table("customers")
    assert (second.status, second.files_loaded, second.files_removed) == ("SUCCEEDED", 1, 2)
    assert _count(lake, "SELECT count(*), count(DISTINCT _source_file) FROM raw.customers") == (
        10,
        1,
    )


def test_a_batch_of_files_loads_in_one_transaction(lake: Any) -> None:
    """Many files of several sources in one load: every file once, each row stamped with its
    own file, one ledger row per file."""
    keys = []
    for i in range(12):
        keys += lake.source(
            "orders", f"raw/orders/o{i}.csv", [3, 2], start=100 * i, day=f"2026-01-{i + 1:02d}"
        )
    result = load(lake.settings, datasets=["orders"]).table("orders")
    assert (result.status, result.files_loaded, result.rows_loaded) == ("SUCCEEDED", 24, 60)
    per_file = query(
        "SELECT _source_file, count(*) FROM raw.orders GROUP BY 1 ORDER BY 1", lake.settings
    ).rows
    sizes = {f"s3://{lake.bucket}/{k}": (3 if k.endswith("-0.parquet") else 2) for k in keys}
    assert dict(per_file) == sizes
    ledger = query(
        "SELECT source_file, rows_loaded FROM raw.load_ledger WHERE dataset = 'orders'",
        lake.settings,
    ).rows
    assert {f: int(n) for f, n in ledger} == sizes


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://lake/raw/customers/ingest_date=2026-03-04/customers.json", "2026-03-04"),
        ("s3://lake/raw/customers/ingest_date=2026-03-04/customers_2025-01-01.json", "2026-03-04"),
        ("s3://lake/raw/customers/customers_2025-01-01.json", "2025-01-01"),
        ("s3://lake/raw/customers/ingest_date=2026-02-30/customers_2025-01-01.json", "2025-01-01"),
        ("s3://lake/raw/products/x/products.csv", FALLBACK_INGEST_DATE),
        ("s3://lake/raw/products/products_0001-01-01.csv", FALLBACK_INGEST_DATE),
        ("/tmp/raw_full/customers_2026-01-01.json", "2026-01-01"),
    ],
)
def test_ingest_date_comes_from_the_key_alone(uri: str, expected: str) -> None:
    assert ingest_date_of(uri) == expected
