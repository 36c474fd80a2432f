"""Benchmark of curated file sizing and loader speed (issue 11 item 5, issue 16 item 3).

On a private MiniStack (``shoplake.stack``), in a fresh temporary home:

(a) Compaction. One generated day of customers with a long ``updated_at`` history (the
    generator's first day: ~10k customers whose ``updated_at`` spans ~2 years) goes through
    the cleanse job (DuckDB engine, in-process) and ``shoplake load``, three ways:

    - ``before``: the old layout (partition ``updated_date`` = the date of ``updated_at``) and
      the old one-transaction-per-file load (``loader.COPY_BATCH_FILES = 1``);
    - ``old layout, batched``: the same files, today's loader (all files in one transaction);
    - ``after``: today's layout (partition ``ingest_date`` = the raw object's ingest date) and
      today's loader.

    Each prints the curated files written, the job's and the load's seconds, rows loaded.

(b) Loader vs the engine. For the ``after`` customers and for a generated orders load
    (``--orders`` orders over ``--days`` days, one raw file, partitioned by ``order_date``),
    the loader's wall time next to a hand-written DuckDB
    ``INSERT INTO ... SELECT ... FROM read_parquet([...])`` of the same files (same fsspec S3
    filesystem, a fresh DuckDB file, commit included), with the ratio reference/loader
    (1.0 = as fast as DuckDB alone; the target is >= 0.5 on the full load).

Figures only, no pass/fail on time (wall times suffer when other processes share the cores:
the 1-minute load average is printed). Row counts are checked: a mismatch exits 1.

Run: ``.venv/bin/python benchmarks/bench_compaction.py [--orders 200000] [--days 30]``
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from shoplake import aws
from shoplake import stack as stack_mod
from shoplake.generate import GenerateConfig, generate
from shoplake.settings import ROOT, Settings, load_settings
from shoplake.warehouse import load, loader
from shoplake_contract import datasets as catalogue

sys.path[:0] = [str(ROOT / "jobs"), str(ROOT / "src")]

from shoplake_jobs import run as run_job  # noqa: E402  (needs the paths above)
from shoplake_jobs import schemas  # noqa: E402


def _silent(_: str) -> None:
    pass


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - began


@contextmanager
def legacy_layout(dataset: str) -> Iterator[None]:
    """The job writes ``dataset`` partitioned by the date of ``updated_at`` (before issue 11)."""
    current, spec = schemas.DATASETS[dataset], catalogue.DATASETS[dataset]
    schemas.DATASETS[dataset] = dataclasses.replace(current, partition_from="updated_at")
    catalogue.DATASETS[dataset] = dataclasses.replace(spec, partition="updated_date")
    try:
        yield
    finally:
        schemas.DATASETS[dataset] = current
        catalogue.DATASETS[dataset] = spec


@contextmanager
def batch_files(n: int) -> Iterator[None]:
    saved = loader.COPY_BATCH_FILES
    loader.COPY_BATCH_FILES = n
    try:
        yield
    finally:
        loader.COPY_BATCH_FILES = saved


def cleanse(settings: Settings, dataset: str, path: Path) -> tuple[dict[str, Any], float]:
    """The DuckDB-engine cleanse job in this process, writing into the settings' lake bucket."""
    return _timed(
        lambda: run_job(
            "duckdb",
            dataset=dataset,
            source_uri=str(path),
            source_version="v1",
            lake=f"s3://{settings.lake_bucket}",
            job_name="bench-compaction",
        )
    )


def reference_insert(
    settings: Settings, table_sql: str, table: str, keys: list[str], db: Path
) -> float:
    """A hand-written DuckDB load of the same files: one INSERT ... SELECT over all of them,
    with the file name and load time columns the loader stamps, into a fresh DuckDB file."""
    urls = ", ".join(f"'s3://{settings.lake_bucket}/{k}'" for k in keys)

    def run() -> None:
        con = duckdb.connect(str(db))
        con.register_filesystem(aws.s3fs_filesystem(settings))
        con.execute(table_sql)
        con.execute("BEGIN")
        con.execute(
            f"INSERT INTO {table} SELECT * EXCLUDE (filename), filename AS _source_file, "
            f"now()::TIMESTAMP AS _loaded_at FROM read_parquet([{urls}], filename = true, "
            f"hive_partitioning = false)"
        )
        con.execute("COMMIT")
        con.close()

    return _timed(run)[1]


def raw_table_sql(settings: Settings, table: str) -> str:
    """``CREATE TABLE`` with the columns (names and DuckDB types) of ``RAW.<table>``."""
    with duckdb.connect(str(settings.warehouse_file), read_only=True) as con:
        cols = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'RAW' AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
    return f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in cols)})"


def count(settings: Settings, table: str) -> int:
    with duckdb.connect(str(settings.warehouse_file), read_only=True) as con:
        return int(con.execute(f'SELECT count(*) FROM "RAW".{table}').fetchone()[0])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=200_000, help="orders for the ratio (b)")
    ap.add_argument("--days", type=int, default=30, help="days of those orders")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.disable(logging.INFO)  # no per-table INFO lines of the loader
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-compaction-") as tmp:
        work = Path(tmp)
        home = work / "home"
        base = load_settings(home=home)
        state = stack_mod.up(base, echo=_silent, only={"emulator"})
        try:

            def settings_for(name: str) -> Settings:
                s = load_settings(
                    home=home,
                    aws_endpoint_url=state["endpoints"]["aws"],
                    glue_endpoint_url=None,
                    lake_bucket=f"bench-{name}",
                    warehouse_path=work / f"{name}.duckdb",
                )
                aws.client("s3", s).create_bucket(Bucket=s.lake_bucket)
                return s

            os.environ.update(settings_for("env").aws_env())  # the job's S3 client
            gen = generate(work / "gen", GenerateConfig(orders=40_000, seed=42, days=1))
            day = work / "gen" / f"day={gen['parameters']['start_date']}"
            customers = next(day.glob("customers_*.json"))
            print(f"load1={os.getloadavg()[0]:.2f}  customers raw file {customers.name}")
            print("\n(a) customers, one generated day with a long updated_at history")
            print(f"  {'case':<22} {'files':>6} {'job s':>7} {'load s':>7} {'rows':>7}")
            runs: dict[str, tuple[Settings, dict[str, Any], float]] = {}
            cases = [
                ("before", True, 1),
                ("old layout, batched", True, None),
                ("after", False, None),
            ]
            for name, legacy, batch in cases:
                s = settings_for(name.split(",")[0].replace(" ", "-"))
                if name == "old layout, batched":  # the same curated files as "before"
                    s = s.model_copy(update={"lake_bucket": runs["before"][0].lake_bucket})
                    manifest, job_s = runs["before"][1], 0.0
                else:
                    if legacy:
                        with legacy_layout("customers"):
                            manifest, job_s = cleanse(s, "customers", customers)
                    else:
                        manifest, job_s = cleanse(s, "customers", customers)
                with batch_files(batch or loader.COPY_BATCH_FILES):
                    result, load_s = _timed(lambda s=s: load(s, datasets=["customers"]))
                t = result.table("customers")
                ok &= t.rows_loaded == manifest["rows_written"] == count(s, "CUSTOMERS")
                runs[name] = (s, manifest, load_s)
                print(
                    f"  {name:<22} {len(manifest['files']):>6} {job_s:>7.2f} {load_s:>7.2f} "
                    f"{t.rows_loaded:>7,}"
                )
            before, after = runs["before"][2], runs["after"][2]
            print(
                f"  files {len(runs['before'][1]['files'])} -> {len(runs['after'][1]['files'])}; "
                f"load {before:.2f} s -> {after:.2f} s ({before / after:.0f}x)"
            )

            print(
                "\n(b) loader vs a hand-written DuckDB INSERT ... SELECT FROM read_parquet([...])"
            )
            gen_o = generate(
                work / "gen-orders", GenerateConfig(orders=args.orders, seed=7, days=args.days)
            )
            orders_raw = work / f"orders_{gen_o['parameters']['start_date']}.csv"
            with orders_raw.open("wb") as out:
                for i, part in enumerate(sorted((work / "gen-orders").glob("day=*/orders_*.csv"))):
                    with part.open("rb") as f:
                        if i:
                            f.readline()  # one header
                        out.write(f.read())
            s_o = settings_for("orders")
            manifest_o, job_o = cleanse(s_o, "orders", orders_raw)
            result_o, load_o = _timed(lambda: load(s_o, datasets=["orders"]))
            ok &= (
                result_o.table("orders").rows_loaded
                == manifest_o["rows_written"]
                == count(s_o, "ORDERS")
            )
            print(
                f"  {'load':<34} {'files':>6} {'rows':>9} {'loader s':>9} {'duckdb s':>9} {'ratio':>6}"
            )
            for label, (s, manifest, load_s), table in [
                ("customers (after)", runs["after"], "CUSTOMERS"),
                (
                    f"orders {args.orders:,} over {args.days} days",
                    (s_o, manifest_o, load_o),
                    "ORDERS",
                ),
            ]:
                ref = reference_insert(
                    s,
                    raw_table_sql(s, table),
                    table,
                    manifest["files"],
                    work / f"ref-{table}.duckdb",
                )
                print(
                    f"  {label:<34} {len(manifest['files']):>6} {manifest['rows_written']:>9,} "
                    f"{load_s:>9.2f} {ref:>9.2f} {ref / load_s:>6.2f}"
                )
            print(
                f"  (orders job {job_o:.1f} s, not timed in the ratio)  load1={os.getloadavg()[0]:.2f}"
            )
        finally:
            stack_mod.down(base, echo=_silent, timeout=10)
    print(f"\nrow counts {'equal' if ok else 'DIFFER'} (job manifest = loader = table)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
