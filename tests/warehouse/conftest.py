"""Fixtures for the warehouse tests: a private lake bucket on the session's MiniStack
(``emulator`` from tests/conftest.py) and a writer for curated Parquet + run manifests."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shoplake import aws
from shoplake.settings import Settings

ORDERS_SQL = """
SELECT 'O' || lpad(({start} + i // 2)::VARCHAR, 6, '0') AS order_id,
       (i % 2 + 1)::INTEGER AS line_number,
       'C' || (i % 7)::VARCHAR AS customer_id,
       'P' || (i % 5)::VARCHAR AS product_id,
       (i % 3 + 1)::INTEGER AS quantity,
       (10 + i % 13 + 0.25)::DECIMAL(18, 2) AS unit_price,
       'EUR' AS currency,
       'paid' AS status,
       TIMESTAMP '{day} 08:00:00' + to_minutes(i) AS order_ts,
       TIMESTAMP '{day} 09:00:00' + to_minutes(i) AS updated_at,
       ((i % 3 + 1) * (10 + i % 13 + 0.25))::DECIMAL(18, 2) AS line_amount,
       's3://lake/raw/orders/x.csv' AS source_object
FROM range({n}) t(i)
"""

CUSTOMERS_SQL = """
SELECT 'C' || i::VARCHAR AS customer_id, 'Ann' AS first_name, 'Lee' AS last_name,
       'a' || i::VARCHAR || '@x.org' AS email, '+3312345' AS phone, 'Paris' AS city,
       'FR' AS country, 'gold' AS loyalty_tier, TIMESTAMP '2025-01-01 00:00:00' AS signup_at,
       TIMESTAMP '{day} 00:00:00' AS updated_at, 's3://lake/raw/customers/c.json' AS source_object
FROM range({n}) t(i)
"""

PRODUCTS_SQL = """
SELECT 'P' || i::VARCHAR AS product_id, 'SKU' || i::VARCHAR AS sku, 'Thing' AS name,
       'toys' AS category, 4.50::DECIMAL(18, 2) AS unit_cost, 9.99::DECIMAL(18, 2) AS list_price,
       'EUR' AS currency, (i % 2 = 0) AS is_active, TIMESTAMP '{day} 00:00:00' AS updated_at,
       's3://lake/raw/products/p.csv' AS source_object
FROM range({n}) t(i)
"""

SQL_BY_DATASET = {"orders": ORDERS_SQL, "customers": CUSTOMERS_SQL, "products": PRODUCTS_SQL}
PARTITION = {"orders": "order_date", "customers": "ingest_date", "products": "ingest_date"}


class Lake:
    """Writes curated files and manifests the way the Glue job does (docs/contracts.md)."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings
        self.bucket = settings.lake_bucket
        self.s3 = aws.client("s3", settings)
        self.workdir = workdir
        self.duck = duckdb.connect()
        self.s3.create_bucket(Bucket=self.bucket)

    def parquet(
        self,
        dataset: str,
        key: str,
        *,
        n: int = 10,
        start: int = 0,
        day: str = "2026-01-05",
        edit: Callable[[str], str] | None = None,
    ) -> str:
        """Write one curated Parquet file at ``key``; ``edit`` may rewrite the SELECT."""
        sql = SQL_BY_DATASET[dataset].format(n=n, start=start, day=day)
        if edit:
            sql = edit(sql)
        local = self.workdir / f"{uuid.uuid4().hex}.parquet"
        self.duck.execute(f"COPY ({sql}) TO '{local}' (FORMAT parquet)")
        self.s3.upload_file(str(local), self.bucket, key)
        return key

    def source(
        self,
        dataset: str,
        name: str,
        sizes: list[int],
        *,
        day: str = "2026-01-05",
        start: int = 0,
        status: str = "SUCCEEDED",
        manifest: bool = True,
        run_id: str | None = None,
        edit: Callable[[str], str] | None = None,
        quarantined: int = 0,
    ) -> list[str]:
        """One raw object's curated output: files ``<source_id>-<n>.parquet`` + its manifest."""
        source_id = hashlib.sha256(f"{self.bucket}/{name}".encode()).hexdigest()[:16]
        keys = []
        offset = start
        for i, n in enumerate(sizes):
            key = f"curated/{dataset}/{PARTITION[dataset]}={day}/{source_id}-{i}.parquet"
            keys.append(self.parquet(dataset, key, n=n, start=offset, day=day, edit=edit))
            offset += n
        if manifest:
            self.manifest(dataset, source_id, keys, rows=sum(sizes), status=status, run_id=run_id,
                          quarantined=quarantined)
        return keys

    def manifest(
        self,
        dataset: str,
        source_id: str,
        keys: list[str],
        *,
        rows: int,
        status: str = "SUCCEEDED",
        run_id: str | None = None,
        quarantined: int = 0,
    ) -> None:
        doc: dict[str, Any] = {
            "run_id": run_id or uuid.uuid4().hex,
            "job_name": f"shoplake-cleanse-{dataset}",
            "engine": "duckdb",
            "dataset": dataset,
            "source_object": f"s3://{self.bucket}/raw/{dataset}/x",
            "source_id": source_id,
            "source_version": "v1",
            "files": keys,
            "quarantine_files": [],
            "rows_read": rows + quarantined,
            "rows_written": rows,
            "rows_quarantined": quarantined,
            "quarantined_by_reason": {},
            "duplicates_dropped": 0,
            "status": status,
        }
        self.s3.put_object(
            Bucket=self.bucket,
            Key=f"curated/_manifests/{dataset}/{source_id}.json",
            Body=json.dumps(doc).encode(),
        )

    def read_parquet(self, keys: list[str], sql: str) -> tuple[Any, ...]:
        """An independent DuckDB read of curated files: ``sql`` over the view ``f``."""
        con = duckdb.connect()
        con.register_filesystem(aws.s3fs_filesystem(self.settings))
        urls = ", ".join(f"'s3://{self.bucket}/{k}'" for k in keys)
        con.execute(f"CREATE VIEW f AS SELECT * FROM read_parquet([{urls}], hive_partitioning = false)")
        row = con.execute(sql).fetchone()
        con.close()
        assert row is not None
        return tuple(row)


def private_settings(emulator: Settings, home: Path) -> Settings:
    """The session emulator with a bucket and a warehouse file of our own."""
    bucket = f"wh-{uuid.uuid4().hex[:12]}"
    return emulator.model_copy(update={"lake_bucket": bucket, "home": home, "warehouse_path": None})


@pytest.fixture
def lake(emulator: Settings, tmp_path: Path) -> Lake:
    """A fresh bucket and warehouse file per test."""
    return Lake(private_settings(emulator, tmp_path / "home"), tmp_path)


@pytest.fixture(scope="module")
def module_lake(emulator: Settings, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A bucket and warehouse file shared by the tests of one module."""
    tmp = tmp_path_factory.mktemp("wh-lake")
    return Lake(private_settings(emulator, tmp / "home"), tmp)
