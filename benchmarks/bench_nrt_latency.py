"""Benchmark of the near-real-time path: object put -> mart update.

Puts N one-line order files (unique order ids) into raw/, one at a time, and measures for
each the time until its order line is in ``analytics.fct_orders``: S3 event -> SQS ->
Lambda -> Glue job -> job_succeeded alert -> SNS -> curated-events queue -> Airflow
AssetWatcher -> ``shoplake_near_real_time`` (warehouse load + incremental dbt build).

Needs the running local stack WITH Airflow (``shoplake up``, whose deploy makes the
curated-events queue: CuratedEventsQueue in infra/shoplake.yaml). Prints one line per file and
min/median/max.

Run: ``.venv/bin/python benchmarks/bench_nrt_latency.py [N] [--timeout S]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from shoplake.ingest import ingest
from shoplake.settings import ROOT, Settings, get_settings
from shoplake.warehouse import WarehouseError, query

SAMPLE = ROOT / "data" / "sample" / "day=2026-01-03" / "orders_2026-01-03.csv"


def one_file(folder: Path, order_id: str) -> Path:
    header, first = SAMPLE.read_text().splitlines()[:2]
    cols, row = header.split(","), first.split(",")
    row[cols.index("order_id")] = order_id
    path = folder / f"orders_2026-01-03_{order_id}.csv"
    path.write_text(f"{header}\n{','.join(row)}\n")
    return path


def visible(settings: Settings, order_id: str) -> bool:
    try:
        rows = query(f"select count(*) from analytics.fct_orders where order_id = '{order_id}'",
                     settings, lock_wait_s=2).rows
    except WarehouseError:  # a writer holds the file: not yet
        return False
    return bool(rows and rows[0][0])


def measure(settings: Settings, folder: Path, timeout: float) -> float | None:
    order_id = f"BENCH-{uuid.uuid4().hex[:10]}"
    path = one_file(folder, order_id)
    t0 = time.perf_counter()
    ingest([path], settings, echo=lambda _m: None)
    while time.perf_counter() - t0 < timeout:
        if visible(settings, order_id):
            return time.perf_counter() - t0
        time.sleep(0.5)
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", nargs="?", type=int, default=3)
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args()
    settings = get_settings()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-nrt-") as tmp:
        for i in range(args.n):
            latency = measure(settings, Path(tmp), args.timeout)
            print(f"file {i + 1}: " + (f"{latency:.1f} s" if latency is not None else "TIMEOUT"))
            if latency is not None:
                results.append(latency)
    if results:
        print(f"put -> fct_orders: min {min(results):.1f} s, median {statistics.median(results):.1f} s, "
              f"max {max(results):.1f} s ({len(results)}/{args.n} files)")


if __name__ == "__main__":
    main()
