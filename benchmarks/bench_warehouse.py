"""Benchmark of ``shoplake load``: N curated order rows (Parquet in the curated layout with run
manifests, on a private MiniStack started by ``shoplake.stack``) loaded into the local
warehouse (DuckDB file behind fakesnow). Prints wall/CPU seconds of the first load, of the
second load (every file skipped) and of an independent DuckDB read of the same Parquet, and
checks that the totals agree. Wall time suffers when other processes share the cores.

Run: ``.venv/bin/python benchmarks/bench_warehouse.py [ROWS [FILES]]`` (default 1000000 10)
"""

from __future__ import annotations

import hashlib
import json
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from shoplake import aws
from shoplake import stack as stack_mod
from shoplake.settings import Settings, load_settings
from shoplake.warehouse import load, query
from shoplake_contract.datasets import ORDERS as ORDERS_DATASET

ORDERS = """
SELECT 'O' || lpad(({start} + i // 3)::VARCHAR, 9, '0') AS order_id,
       (i % 3 + 1)::INTEGER AS line_number,
       'C' || (hash(i) % 50000)::VARCHAR AS customer_id,
       'P' || (hash(i + 7) % 2000)::VARCHAR AS product_id,
       (i % 4 + 1)::INTEGER AS quantity,
       ((hash(i) % 10000) / 100 + 1)::DECIMAL(18, 2) AS unit_price,
       'EUR' AS currency, 'paid' AS status,
       TIMESTAMP '2026-01-05 00:00:00' + to_seconds(i % 86400) AS order_ts,
       TIMESTAMP '2026-01-05 00:00:00' + to_seconds(i % 86400 + 60) AS updated_at,
       ((i % 4 + 1) * ((hash(i) % 10000) / 100 + 1))::DECIMAL(18, 2) AS line_amount,
       's3://lake/raw/orders/orders.csv' AS source_object
FROM range({n}) t(i)
"""


def _timed(fn):  # type: ignore[no-untyped-def]
    began, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - began, time.process_time() - cpu


def write_lake(settings: Settings, rows: int, files: int, work: Path) -> list[str]:
    s3 = aws.client("s3", settings)
    s3.create_bucket(Bucket=settings.lake_bucket)
    con = duckdb.connect()
    source_id = hashlib.sha256(b"bench").hexdigest()[:16]
    keys, per_file = [], rows // files
    for i in range(files):
        local = work / f"{i}.parquet"
        con.execute(f"COPY ({ORDERS.format(n=per_file, start=i * per_file)}) TO '{local}' (FORMAT parquet)")
        key = keys.curated_file_key(ORDERS_DATASET, "order_date=2026-01-05", source_id, i)
        s3.upload_file(str(local), settings.lake_bucket, key)
        keys.append(key)
    manifest = {"run_id": "bench", "dataset": "orders", "source_id": source_id, "files": keys,
                "rows_read": per_file * files, "rows_written": per_file * files,
                "rows_quarantined": 0, "status": "SUCCEEDED"}
    s3.put_object(Bucket=settings.lake_bucket, Key=keys.manifest_key(ORDERS_DATASET, source_id),
                  Body=json.dumps(manifest).encode())
    return keys


def main(argv: list[str]) -> None:
    rows = int(argv[0]) if argv else 1_000_000
    files = int(argv[1]) if len(argv) > 1 else 10
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as tmp:
        home = Path(tmp) / "home"
        base = load_settings(home=home)
        state = stack_mod.up(base, echo=lambda _: None, only={"emulator"})
        try:
            settings = load_settings(home=home, aws_endpoint_url=state["endpoints"]["aws"],
                                     lake_bucket="bench-lake")
            keys = write_lake(settings, rows, files, Path(tmp))
            first, wall1, cpu1 = _timed(lambda: load(settings, datasets=["orders"]))
            second, wall2, cpu2 = _timed(lambda: load(settings, datasets=["orders"]))
            con = duckdb.connect()
            con.register_filesystem(aws.s3fs_filesystem(settings))
            urls = ", ".join(f"'s3://bench-lake/{k}'" for k in keys)
            expected, wall3, _ = _timed(lambda: con.execute(
                f"SELECT count(*), sum(line_amount) FROM read_parquet([{urls}], hive_partitioning = false)"
            ).fetchone())
            # fakesnow 0.12 sums NUMBER as DOUBLE: cast the sum back to NUMBER(38, 2)
            actual = query("SELECT count(*), sum(line_amount)::NUMBER(38, 2) FROM raw.orders", settings).rows[0]
            size = settings.warehouse_file.stat().st_size / 1e6
        finally:
            stack_mod.down(base, echo=lambda _: None, timeout=10)
    t1, t2 = first.table("orders"), second.table("orders")
    print(f"rows {rows:,} in {files} files")
    print(f"first load : {wall1:6.2f} s wall {cpu1:6.2f} s cpu  files {t1.files_loaded} rows {t1.rows_loaded:,} "
          f"({t1.rows_loaded / wall1:,.0f} rows/s)")
    print(f"second load: {wall2:6.2f} s wall {cpu2:6.2f} s cpu  files skipped {t2.files_skipped}")
    print(f"duckdb read: {wall3:6.2f} s wall (independent read of the same Parquet)")
    print(f"totals equal: {tuple(actual) == tuple(expected)} {actual}")
    print(f"warehouse file {size:,.1f} MB; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
