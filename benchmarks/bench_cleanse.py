"""Cleanse job throughput: Spark vs the DuckDB engine (sqlframe) vs hand-written DuckDB SQL.

    .venv/bin/python benchmarks/bench_cleanse.py            # 1M order lines
    .venv/bin/python benchmarks/bench_cleanse.py --5m       # also 5M
    .venv/bin/python benchmarks/bench_cleanse.py --rows 200000 --no-spark

Input: one generated day of orders (``shoplake generate``, ~1.3% dirty rows). Each engine
runs the whole job on a local lake (read, validate, dedupe, write Parquet + quarantine +
manifest); the reference is the same cleanse as one hand-written DuckDB SQL script
(DuckDB's own CSV reader, no line numbers/raw lines for typed rejects). Printed: seconds,
rows/s and the ratio of each engine's rows/s to the reference's. Spark session start-up
is reported apart and not counted. Wall-clock times on a shared machine vary: run twice.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "jobs"))

from shoplake_jobs import run  # noqa: E402
from shoplake_jobs.transforms import DECIMAL_RE, INT_RE, ISO_CURRENCY_RE, TIMESTAMP_RE  # noqa: E402

COLUMNS = ["order_id", "line_number", "customer_id", "product_id", "quantity", "unit_price",
           "currency", "status", "order_ts", "updated_at"]


def generate_orders(rows: int, out: Path) -> tuple[Path, dict[str, Any]]:
    from shoplake.generate import GenerateConfig, generate

    manifest = generate(out, GenerateConfig(orders=max(1, round(rows / 2.043)), days=1, seed=11))
    entry = next(f for f in manifest["files"] if f["dataset"] == "orders")
    return out / entry["path"], entry


def reference_sql(src: Path, lake: Path, threads: int | None = None) -> dict[str, int]:
    """The cleanse in plain DuckDB SQL: the yardstick for the engines."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'; SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {threads}")
    cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in COLUMNS) + "}"
    con.execute(
        f"CREATE TABLE raw AS SELECT * FROM read_csv('{src}', header = true, columns = {cols},"
        " auto_detect = false, delim = ',', quote = '\"', escape = '\"', store_rejects = true)"
    )
    v = {c: f"nullif(trim({c}), '')" for c in COLUMNS}
    con.execute(f"""
        CREATE TABLE typed AS
        SELECT *, CASE
            WHEN o_id IS NULL OR v_line IS NULL OR c_id IS NULL OR p_id IS NULL THEN 'missing_key'
            WHEN line_number IS NULL OR quantity IS NULL OR unit_price IS NULL
                 OR line_amount IS NULL THEN 'bad_type'
            WHEN order_ts IS NULL OR updated_at IS NULL THEN 'bad_timestamp'
            WHEN currency IS NULL THEN 'bad_currency'
            WHEN quantity <= 0 THEN 'non_positive_quantity'
            WHEN unit_price <= 0 THEN 'non_positive_price'
        END AS reason
        FROM (
            SELECT *, try_cast(quantity * unit_price AS DECIMAL(18,2)) AS line_amount FROM (
                SELECT {v['order_id']} AS o_id, {v['line_number']} AS v_line,
                       {v['customer_id']} AS c_id, {v['product_id']} AS p_id,
                       CASE WHEN regexp_matches({v['line_number']}, '{INT_RE}')
                            THEN try_cast({v['line_number']} AS INT) END AS line_number,
                       CASE WHEN regexp_matches({v['quantity']}, '{INT_RE}')
                            THEN try_cast({v['quantity']} AS INT) END AS quantity,
                       CASE WHEN regexp_matches({v['unit_price']}, '{DECIMAL_RE}')
                            THEN try_cast({v['unit_price']} AS DECIMAL(18,2)) END AS unit_price,
                       CASE WHEN regexp_matches(upper({v['currency']}), '{ISO_CURRENCY_RE}')
                            THEN upper({v['currency']}) END AS currency,
                       lower({v['status']}) AS status,
                       CASE WHEN regexp_matches({v['order_ts']}, '{TIMESTAMP_RE}')
                            THEN try_cast({v['order_ts']} AS TIMESTAMPTZ)::TIMESTAMP END AS order_ts,
                       CASE WHEN regexp_matches({v['updated_at']}, '{TIMESTAMP_RE}')
                            THEN try_cast({v['updated_at']} AS TIMESTAMPTZ)::TIMESTAMP END AS updated_at,
                       concat_ws(',', {', '.join(COLUMNS)}) AS raw_line
                FROM raw))""")
    curated = lake / "curated"
    con.execute(f"""
        COPY (SELECT o_id AS order_id, line_number, c_id AS customer_id, p_id AS product_id,
                     quantity, unit_price, currency, status, order_ts, updated_at, line_amount,
                     '{src}' AS source_object, CAST(order_ts AS DATE) AS order_date
              FROM typed WHERE reason IS NULL
              QUALIFY row_number() OVER (PARTITION BY o_id, line_number
                                         ORDER BY updated_at DESC) = 1)
        TO '{curated}' (FORMAT parquet, PARTITION_BY (order_date), OVERWRITE_OR_IGNORE true)""")
    con.execute(f"""
        COPY (SELECT '{src}' AS source_object, NULL::BIGINT AS line_number, raw_line, reason,
                     reason AS detail FROM typed WHERE reason IS NOT NULL
              UNION ALL
              SELECT '{src}', line, csv_line, 'malformed_row', error_message
              FROM (SELECT DISTINCT ON (line) * FROM reject_errors))
        TO '{lake / "quarantine.jsonl"}' (FORMAT json)""")
    read = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    malformed = con.execute("SELECT count(DISTINCT line) FROM reject_errors").fetchone()[0]
    typed_bad = con.execute("SELECT count(*) FROM typed WHERE reason IS NOT NULL").fetchone()[0]
    written = con.execute(f"SELECT count(*) FROM read_parquet('{curated}/**/*.parquet')").fetchone()[0]
    con.close()
    return {"rows_read": read + malformed, "rows_written": written,
            "rows_quarantined": typed_bad + malformed}


def spark_session() -> Any:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master("local[2]").appName("bench-cleanse")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", "4g").config("spark.sql.shuffle.partitions", "4")
            .getOrCreate())


def timed(label: str, fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    secs = time.perf_counter() - t0
    print(f"  {label:<22} {secs:8.2f} s", flush=True)
    return secs, result


def bench(rows: int, work: Path, with_spark: bool, spark: Any) -> None:
    print(f"\n== {rows:,} order lines ==")
    secs, (src, entry) = timed("generate", lambda: generate_orders(rows, work / f"gen-{rows}"))
    n = entry["rows"]
    print(f"  input: {src.name}, {n:,} rows, {entry['bytes'] / 1e6:.0f} MB")
    results: dict[str, tuple[float, dict[str, Any]]] = {}

    def job(engine: str) -> dict[str, Any]:
        lake = work / f"lake-{engine}-{rows}"
        shutil.rmtree(lake, ignore_errors=True)
        lake.mkdir()
        return run(engine, spark=spark, dataset="orders", source_uri=str(src), source_version="b",
                   lake=str(lake))

    def ref() -> dict[str, int]:
        lake = work / f"lake-ref-{rows}"
        shutil.rmtree(lake, ignore_errors=True)
        lake.mkdir()
        return reference_sql(src, lake)

    results["reference (DuckDB SQL)"] = timed("reference DuckDB SQL", ref)
    results["duckdb engine"] = timed("duckdb engine", lambda: job("duckdb"))
    if with_spark:
        results["spark engine"] = timed("spark engine", lambda: job("spark"))
    expected = entry["expected"]["rows_written"]
    ref_rate = n / results["reference (DuckDB SQL)"][0]
    print(f"  {'':<22} {'rows/s':>12} {'x reference':>12}  rows_written (expected {expected:,})")
    for label, (secs, out) in results.items():
        rate = n / secs
        print(f"  {label:<22} {rate:12,.0f} {rate / ref_rate:12.2f}  {out['rows_written']:,}")
    if "spark engine" in results:
        ratio = results["spark engine"][0] / results["duckdb engine"][0]
        print(f"  duckdb engine vs spark: {ratio:.1f}x faster")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--5m", dest="five", action="store_true", help="also run 5M rows")
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-cleanse-"))
    spark = None
    if not args.no_spark:
        _, spark = timed("spark start-up", spark_session)
        spark.sparkContext.setLogLevel("ERROR")
    import duckdb  # noqa: F401  (warm imports out of the timings)
    import sqlframe.duckdb  # noqa: F401
    try:
        for rows in [args.rows, *([5_000_000] if args.five else [])]:
            bench(rows, work, not args.no_spark, spark)
    finally:
        if spark is not None:
            spark.stop()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
