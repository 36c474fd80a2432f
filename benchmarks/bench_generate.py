"""Benchmark of ``shoplake generate``: 100k and 1M orders (3 days, default dirty fraction)
into a temporary folder; prints wall and CPU time (wall time suffers when other processes
share the cores), rows written (all files) and rows/s (wall).

Run: ``.venv/bin/python benchmarks/bench_generate.py [ORDERS ...]``
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from shoplake.generate import GenerateConfig, generate


def run(orders: int, days: int = 3, seed: int = 42) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        out = Path(tmp) / "out"
        began, cpu = time.perf_counter(), time.process_time()
        manifest = generate(out, GenerateConfig(orders=orders, seed=seed, days=days))
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    totals = manifest["totals"]
    rows = sum(t["rows"] for t in totals.values())
    return {
        "orders": orders,
        "order_rows": totals["orders"]["rows"],
        "rows": rows,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "rows_per_s": rows / elapsed,
        "mb": size / 1e6,
    }


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [100_000, 1_000_000]
    print(
        f"{'orders':>10} {'order rows':>11} {'all rows':>10} {'seconds':>8} {'cpu s':>6} {'rows/s':>10} {'MB':>7}"
    )
    for orders in sizes:
        r = run(orders)
        print(
            f"{r['orders']:>10,} {r['order_rows']:>11,} {r['rows']:>10,} {r['seconds']:>8.2f} "
            f"{r['cpu_seconds']:>6.2f} "
            f"{r['rows_per_s']:>10,.0f} {r['mb']:>7.1f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
