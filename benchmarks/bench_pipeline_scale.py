"""Benchmark of the warehouse side of the pipeline at scale: ``shoplake load`` + ``dbt build``
for N orders, a full refresh next to a +1% increment, side by side.

Per size, in a fresh temporary ``SHOPLAKE_HOME`` with its own MiniStack (+ the FX API
stand-in, so that non-USD lines get a rate and are not re-evaluated by every incremental run):

1. ``generate`` N orders over ``--days`` days (default 100): the last day is held back as the
   increment (~1% new orders, plus late-arriving lines and status updates of earlier lines);
   the other days' files are concatenated into one big file per dataset (the "full" day).
2. The cleanse job (``jobs/cleanse.py``, ``SHOPLAKE_JOB_ENGINE=duckdb``, one subprocess per
   file, reading the local raw file) writes curated Parquet + run manifests straight into
   the emulator's lake bucket. FX rates for the date range are fetched into ``raw/fx_rates``.
   Not timed.
3. Timed: (a) ``load`` (full), (b) ``dbt build --full-refresh``, then the increment is cleansed
   (not timed), (c) ``load`` (only the new files load), (d) incremental ``dbt build``.
4. Checks: after (d), rows in ``ANALYTICS.fct_orders`` equal the generator manifest's
   ``final.orders.order_lines`` (the latest version of every loaded order line over all days);
   after (b) they equal the distinct (order_id, line_number) pairs in ``RAW.ORDERS``.

dbt writes its target/ and logs into the temp folder (never into dbt/target of the repo).
Wall times suffer when other processes share the cores: the 1-minute load average is printed
with every step.

Run: ``.venv/bin/python benchmarks/bench_pipeline_scale.py [--sizes 1000000,5000000]
[--days 100] [--seed 42] [--keep DIR]`` (default: 1M only, a few minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import psutil

from shoplake import aws
from shoplake import stack as stack_mod
from shoplake.generate import GenerateConfig, generate
from shoplake.settings import ROOT, Settings, load_settings
from shoplake.transform import run_dbt
from shoplake.warehouse import load
from shoplake_contract import glue
from shoplake_contract.datasets import DATASETS as CATALOGUE
from shoplake_contract.datasets import JOB_DATASETS

JOBS = ROOT / "jobs"
BUCKET = "bench-lake"
DATASETS = JOB_DATASETS
EXT = {d: CATALOGUE[d].extensions[0].lstrip(".") for d in DATASETS}
HEADERS = {d: EXT[d] == "csv" for d in DATASETS}  # CSV header to drop when joining


def _silent(_: str) -> None:
    pass


def loadavg() -> float:
    return os.getloadavg()[0]


@dataclass
class Step:
    name: str
    wall: float
    load1: float
    detail: str = ""
    rss_mb: float = 0.0  # peak RSS of this process + its children during the step


@dataclass
class SizeResult:
    orders: int
    lines_full: int = 0
    lines_inc: int = 0
    steps: dict[str, Step] = field(default_factory=dict)
    prep: dict[str, float] = field(default_factory=dict)
    fct_full: int = 0
    fct_inc: int = 0
    expected_full: int = 0
    expected_final: int = 0
    dbt_status: dict[str, dict[str, int]] = field(default_factory=dict)
    fct_model_s: dict[str, float] = field(default_factory=dict)
    warehouse_mb: float = 0.0
    reference_s: float = 0.0  # hand-written DuckDB read_parquet of the same curated files

    @property
    def ok(self) -> bool:
        return self.fct_full == self.expected_full and self.fct_inc == self.expected_final


# --- raw data ------------------------------------------------------------------------------
def _join(parts: list[Path], dest: Path, header: bool) -> int:
    """Concatenate day files (keeping the first header only); returns the data line count."""
    lines = 0
    with dest.open("wb") as out:
        for i, part in enumerate(parts):
            with part.open("rb") as f:
                if header and i > 0:
                    f.readline()
                while chunk := f.read(1 << 24):
                    out.write(chunk)
                    lines += chunk.count(b"\n")
    return lines - (1 if header else 0)


def prepare_raw(
    work: Path, orders: int, days: int, seed: int
) -> tuple[dict[str, Any], dict[str, list[Path]]]:
    """Generate; returns the generator manifest and {"full": [...], "inc": [...]} raw files."""
    gen = work / "gen"
    manifest = generate(gen, GenerateConfig(orders=orders, seed=seed, days=days))
    day_dirs = sorted(p for p in gen.iterdir() if p.is_dir() and p.name.startswith("day="))
    full_days, inc_day = day_dirs[:-1], day_dirs[-1]
    first = full_days[0].name.split("=", 1)[1]
    (work / "raw_full").mkdir()
    files: dict[str, list[Path]] = {"full": [], "inc": []}
    for ds in DATASETS:
        parts = [p for d in full_days for p in sorted(d.glob(f"{ds}_*.{EXT[ds]}"))]
        if not parts:
            continue
        dest = work / "raw_full" / f"{ds}_{first}.{EXT[ds]}"
        _join(parts, dest, HEADERS[ds])
        files["full"].append(dest)
        files["inc"].extend(sorted(inc_day.glob(f"{ds}_*.{EXT[ds]}")))
    return manifest, files


# --- curated data --------------------------------------------------------------------------
def cleanse(settings: Settings, paths: list[Path]) -> list[dict[str, Any]]:
    """Run the duckdb-engine cleanse job on each raw file (in parallel, 2 at a time)."""
    env = dict(os.environ)
    env.update(settings.aws_env())
    # the job imports the lake contract (src/shoplake_contract), as Glue gets it in shoplake_jobs.zip
    job_path = os.pathsep.join([str(JOBS), str(ROOT / "src")])
    env.update(SHOPLAKE_JOB_ENGINE="duckdb", PYTHONPATH=job_path, SHOPLAKE_LOG_LEVEL="WARNING")

    def one(path: Path) -> dict[str, Any]:
        ds = path.name.split("_", 1)[0]
        cmd = [
            sys.executable,
            str(JOBS / "cleanse.py"),
            "--dataset",
            ds,
            "--source_uri",
            str(path),
            "--source_version",
            "v1",
            "--lake_bucket",
            f"s3://{settings.lake_bucket}",
            "--JOB_NAME",
            glue.job_name("bench-cleanse", ds),
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"cleanse {path.name} failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout)

    # the big orders file first, the small ones alongside it
    ordered = sorted(paths, key=lambda p: p.stat().st_size, reverse=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, ordered))


# --- warehouse + dbt -----------------------------------------------------------------------
class PeakRss:
    """Samples the RSS of this process + all its descendants every 0.1 s (psutil); ``peak_mb``
    is the highest sum seen since the last :meth:`reset`."""

    def __init__(self) -> None:
        import threading

        self.peak_mb = 0.0
        self._me = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> float:
        total = 0
        for p in [self._me, *self._me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total / 1e6

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_mb = max(self.peak_mb, self._sample())

    def reset(self) -> None:
        self.peak_mb = self._sample()

    def stop(self) -> None:
        self._stop.set()


RSS = PeakRss()


def _timed(fn):  # type: ignore[no-untyped-def]
    RSS.reset()
    began = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - began


def reference_load(settings: Settings, work: Path) -> float:
    """Hand-written DuckDB reference of the full load: one ``CREATE TABLE AS SELECT * FROM
    read_parquet([...])`` per dataset over the same curated Parquet files, read from the same
    emulator through the same s3fs, into a fresh DuckDB file. Returns the wall time."""
    from shoplake.aws import s3fs_filesystem
    from shoplake_contract.keys import CURATED

    s3 = aws.client("s3", settings)
    by_ds: dict[str, list[str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=CURATED):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith(".parquet") and "/_" not in key:
                by_ds.setdefault(key[len(CURATED) :].split("/", 1)[0], []).append(
                    f"s3://{BUCKET}/{key}"
                )
    db = work / "reference.duckdb"
    began = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        con.register_filesystem(s3fs_filesystem(settings))
        for ds, urls in sorted(by_ds.items()):
            con.execute(
                f'CREATE TABLE "{ds}" AS SELECT * FROM read_parquet(?, union_by_name = true)',
                [urls],
            )
    wall = time.perf_counter() - began
    db.unlink(missing_ok=True)
    return wall


def _dbt(settings: Settings, args: list[str], target: Path) -> tuple[dict[str, int], float]:
    proc = run_dbt(
        args,
        settings,
        check=False,
        capture_output=True,
        env={"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs")},
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    statuses = dict(Counter(r["status"] for r in results))
    if proc.returncode != 0:
        bad = [r["unique_id"] for r in results if r["status"] in ("error", "fail")]
        logging.warning(
            "dbt %s exited %s; failed nodes: %s", " ".join(args), proc.returncode, bad[:10]
        )
        if not any(
            r["unique_id"].endswith(".fct_orders") and r["status"] == "success" for r in results
        ):
            raise RuntimeError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-3000:]}")
    fct = next(
        (r["execution_time"] for r in results if r["unique_id"] == "model.shoplake.fct_orders"), 0.0
    )
    slow = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:5]
    print(
        "      slowest nodes: "
        + ", ".join(f"{r['unique_id'].split('.', 2)[-1]} {r['execution_time']:.1f}s" for r in slow),
        flush=True,
    )
    return statuses, fct


def _count(settings: Settings, sql: str) -> int:
    with duckdb.connect(str(settings.warehouse_file), read_only=True) as con:
        return int(con.execute(sql).fetchone()[0])


def _load_detail(result: Any) -> str:
    t = result.table("orders")
    return f"orders files {t.files_loaded} loaded/{t.files_skipped} skipped, rows {t.rows_loaded:,}"


def run_size(orders: int, days: int, seed: int, tmp: Path) -> SizeResult:
    res = SizeResult(orders=orders)
    work = tmp / f"n{orders}"
    work.mkdir()
    print(
        f"\n== {orders:,} orders ({days} days, last day held back) load1={loadavg():.2f}",
        flush=True,
    )
    (manifest, raw), res.prep["generate"] = _timed(lambda: prepare_raw(work, orders, days, seed))
    res.expected_final = manifest["final"]["orders"]["order_lines"]
    print(
        f"  generate + join: {res.prep['generate']:.1f} s; raw full "
        f"{sum(p.stat().st_size for p in raw['full']) / 1e6:,.0f} MB, increment "
        f"{sum(p.stat().st_size for p in raw['inc']) / 1e6:,.1f} MB",
        flush=True,
    )

    home = work / "home"
    base = load_settings(home=home)
    state = stack_mod.up(base, echo=_silent, only={"emulator", "fx-api"})
    try:
        ep = state["endpoints"]
        settings = load_settings(
            home=home,
            aws_endpoint_url=ep["aws"],
            fx_api_url=ep.get("fx_api"),
            glue_endpoint_url=None,
            lake_bucket=BUCKET,
            dbt_target="local",
            warehouse_path=work / "warehouse.duckdb",
        )
        aws.client("s3", settings).create_bucket(Bucket=BUCKET)
        first_day = date.fromisoformat(manifest["parameters"]["start_date"])
        last_day = first_day + timedelta(days=days - 1)
        from shoplake.fx import fetch_rates

        fetch_rates(first_day - timedelta(days=14), last_day, settings)
        runs, res.prep["cleanse_full"] = _timed(lambda: cleanse(settings, raw["full"]))
        res.lines_full = sum(r["rows_written"] for r in runs if r["dataset"] == "orders")
        print(
            f"  cleanse full (duckdb job, {len(runs)} files): {res.prep['cleanse_full']:.1f} s; "
            f"orders rows written {res.lines_full:,} load1={loadavg():.2f}",
            flush=True,
        )

        lr, wall = _timed(lambda: load(settings))
        res.steps["load_full"] = Step("load full", wall, loadavg(), _load_detail(lr), RSS.peak_mb)
        print(
            f"  (a) load full      {wall:7.1f} s  {_load_detail(lr)}  peak RSS "
            f"{RSS.peak_mb:,.0f} MB  load1={loadavg():.2f}",
            flush=True,
        )
        res.reference_s = reference_load(settings, work)
        print(
            f"      DuckDB reference (read_parquet CTAS of the same files) {res.reference_s:.1f} s:"
            f" loader = {res.reference_s / wall:.2f}x the reference",
            flush=True,
        )

        (st, fct_s), wall = _timed(
            lambda: _dbt(settings, ["build", "--full-refresh"], work / "dbt_full")
        )
        res.steps["dbt_full"] = Step("dbt full", wall, loadavg(), rss_mb=RSS.peak_mb)
        res.dbt_status["full"], res.fct_model_s["full"] = st, fct_s
        res.fct_full = _count(settings, 'select count(*) from "ANALYTICS".fct_orders')
        res.expected_full = _count(
            settings,
            'select count(*) from (select distinct order_id, line_number from "RAW".orders)',
        )
        print(
            f"  (b) dbt full       {wall:7.1f} s  fct_orders model {fct_s:.1f} s, rows "
            f"{res.fct_full:,} {st}  peak RSS {RSS.peak_mb:,.0f} MB  load1={loadavg():.2f}",
            flush=True,
        )

        runs, res.prep["cleanse_inc"] = _timed(lambda: cleanse(settings, raw["inc"]))
        res.lines_inc = sum(r["rows_written"] for r in runs if r["dataset"] == "orders")
        print(
            f"  cleanse +1% ({len(runs)} files): {res.prep['cleanse_inc']:.1f} s; orders rows "
            f"written {res.lines_inc:,}",
            flush=True,
        )

        lr, wall = _timed(lambda: load(settings))
        res.steps["load_inc"] = Step("load +1%", wall, loadavg(), _load_detail(lr), RSS.peak_mb)
        print(
            f"  (c) load +1%       {wall:7.1f} s  {_load_detail(lr)}  peak RSS "
            f"{RSS.peak_mb:,.0f} MB  load1={loadavg():.2f}",
            flush=True,
        )

        (st, fct_s), wall = _timed(lambda: _dbt(settings, ["build"], work / "dbt_inc"))
        res.steps["dbt_inc"] = Step("dbt +1%", wall, loadavg(), rss_mb=RSS.peak_mb)
        res.dbt_status["inc"], res.fct_model_s["inc"] = st, fct_s
        res.fct_inc = _count(settings, 'select count(*) from "ANALYTICS".fct_orders')
        print(
            f"  (d) dbt +1%        {wall:7.1f} s  fct_orders model {fct_s:.1f} s, rows "
            f"{res.fct_inc:,} {st}  peak RSS {RSS.peak_mb:,.0f} MB  load1={loadavg():.2f}",
            flush=True,
        )
        res.warehouse_mb = settings.warehouse_file.stat().st_size / 1e6
    finally:
        stack_mod.down(base, echo=_silent, timeout=10)
    return res


def report(results: list[SizeResult]) -> None:
    print("\n" + "=" * 100)
    print(
        f"{'orders':>10} | {'lines full':>10} | {'lines +1%':>9} | {'load full':>9} | {'dbt full':>8} | "
        f"{'load +1%':>8} | {'dbt +1%':>7} | {'fct_orders':>10} | {'check':>5}"
    )
    for r in results:
        s = r.steps
        print(
            f"{r.orders:>10,} | {r.lines_full:>10,} | {r.lines_inc:>9,} | {s['load_full'].wall:>7.1f} s | "
            f"{s['dbt_full'].wall:>6.1f} s | {s['load_inc'].wall:>6.1f} s | {s['dbt_inc'].wall:>5.1f} s | "
            f"{r.fct_inc:>10,} | {'OK' if r.ok else 'FAIL':>5}"
        )
    print("ratios full / +1% (load, dbt, fct_orders model):")
    for r in results:
        s = r.steps
        print(
            f"{r.orders:>10,}: load {s['load_full'].wall / s['load_inc'].wall:5.1f}x  "
            f"dbt {s['dbt_full'].wall / s['dbt_inc'].wall:5.1f}x  "
            f"fct_orders {r.fct_model_s['full'] / max(r.fct_model_s['inc'], 1e-3):5.1f}x "
            f"({r.fct_model_s['full']:.1f} s vs {r.fct_model_s['inc']:.1f} s)"
        )
    print("+1% day (load + dbt) / full (load + dbt); peak RSS MB per step; loader vs reference:")
    for r in results:
        s = r.steps
        full = s["load_full"].wall + s["dbt_full"].wall
        inc = s["load_inc"].wall + s["dbt_inc"].wall
        print(
            f"{r.orders:>10,}: full {full:6.1f} s  +1% {inc:6.1f} s  ratio {inc / full:6.1%}  "
            f"peak RSS "
            + " ".join(f"{st.name}={st.rss_mb:,.0f}" for st in s.values())
            + f"  loader/reference {r.reference_s / s['load_full'].wall:.2f}x "
            f"(reference {r.reference_s:.1f} s)"
        )
    print("checks:")
    for r in results:
        print(
            f"{r.orders:>10,}: after full fct_orders {r.fct_full:,} = distinct raw lines "
            f"{r.expected_full:,}: {r.fct_full == r.expected_full}; after +1% {r.fct_inc:,} = "
            f"generator final.order_lines {r.expected_final:,}: {r.fct_inc == r.expected_final}; "
            f"dbt full {r.dbt_status['full']} +1% {r.dbt_status['inc']}; warehouse {r.warehouse_mb:,.0f} MB"
        )
    print(
        "load1 at end of each step: "
        + "; ".join(
            f"{r.orders:,}: " + " ".join(f"{st.name}={st.load1:.1f}" for st in r.steps.values())
            for r in results
        )
    )


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes", default="1000000", help="comma-separated order counts (default 1000000)"
    )
    ap.add_argument(
        "--days", type=int, default=100, help="days generated; the last one is the increment"
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--keep", type=Path, default=None, help="work folder to keep (default: a temp dir)"
    )
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    logging.basicConfig(level=logging.WARNING)
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()}", flush=True)
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-pipeline-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        for n in sizes:
            results.append(run_size(n, args.days, args.seed, tmp))
            report(results)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
