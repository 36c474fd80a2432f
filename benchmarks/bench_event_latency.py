"""Event-path latency: S3 put of one 10k-row orders file -> its run manifest in curated/.

For each job engine (duckdb, spark) this starts its own embedded stack (MiniStack, Glue job
runner, FX stand-in) in a temporary ``SHOPLAKE_HOME`` with ``job_engine`` overridden (the
stack hands it to the runner as ``SHOPLAKE_JOB_ENGINE``), deploys, then ``--repeat`` times:
puts the same file under a new key, polls for ``curated/_manifests/orders/<source_id>.json``
and waits for the Glue run to end before the next put. The stack is stopped afterwards.

Columns (seconds from the put unless said otherwise):
- ``start``: put -> StartJobRun accepted (the run's Glue ``StartedOn``; the Lambda writes the
  ledger entry STARTED right after): S3 event -> SQS -> Lambda -> Glue API.
- ``launch``: StartJobRun -> job body begins (manifest ``started_at``): runner queue, process
  start, interpreter + imports (+ JVM/Spark session for spark).
- ``job``: the job body (manifest ``duration_s``).
- ``manifest``: put -> manifest seen by polling (every 0.1 s): the end-to-end figure.
- ``glue``: the run's Glue ExecutionTime (whole seconds, process start to exit).

Run: ``.venv/bin/python benchmarks/bench_event_latency.py [--rows 10000] [--repeat 3]
[--engines duckdb,spark]``. The runner's warm workers follow ``GLUE_RUNNER_WARM_WORKERS``
(``=1`` / ``=0`` in front of the command compares them). Wall-clock figures on a shared machine vary: the load average
is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from shoplake import aws, lake
from shoplake import stack as stack_mod
from shoplake.settings import Settings, load_settings
from shoplake_contract import keys
from shoplake_contract.datasets import ORDERS
from shoplake_contract.glue import job_name

DAY = "2026-01-01"
FINAL = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"}
#: The components the event path needs (no Airflow: it is not on this path).
EVENT_PATH = {"emulator", "glue-runner", "fx-api"}


def _quiet(_: str) -> None:
    pass


def orders_file(rows: int, out: Path) -> tuple[bytes, int]:
    """One generated day of orders with about ``rows`` order lines: (content, line count)."""
    from shoplake.generate import GenerateConfig, generate

    manifest = generate(out, GenerateConfig(orders=max(1, round(rows / 2.043)), days=1, seed=7))
    entry = next(f for f in manifest["files"] if f["dataset"] == "orders")
    body = (out / entry["path"]).read_bytes()
    return body, body.count(b"\n") - 1


def _iso(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError:
        return False


def one_put(s: Settings, body: bytes, key: str, timeout: float) -> dict[str, float]:
    s3, glue = aws.client("s3", s), aws.client("glue", s)
    job = job_name(s.glue_job_prefix, ORDERS)
    t0_wall, t0 = time.time(), time.perf_counter()
    version = s3.put_object(Bucket=s.lake_bucket, Key=key, Body=body)["VersionId"]
    sid = lake.source_id(s.lake_bucket, key, version)
    manifest_key, ledger_key = keys.manifest_key(ORDERS, sid), keys.ledger_key(sid)
    t_ledger = t_manifest = None
    while time.perf_counter() - t0 < timeout:
        if t_ledger is None and _exists(s3, s.lake_bucket, ledger_key):
            t_ledger = time.perf_counter() - t0
        if _exists(s3, s.lake_bucket, manifest_key):
            t_manifest = time.perf_counter() - t0
            break
        time.sleep(0.1)
    if t_manifest is None:
        raise TimeoutError(f"no manifest for {key} after {timeout:.0f}s")
    m = lake.manifest(s, "orders", sid) or {}
    run_id = (lake.ledger(s, sid) or {}).get("job_run_id")
    run: dict[str, Any] = {}
    while run_id and time.perf_counter() - t0 < timeout:  # let the run end before the next put
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] in FINAL:
            break
        time.sleep(0.2)
    started_on = run["StartedOn"].timestamp() if run else float("nan")
    return {
        "start": started_on - t0_wall,
        "ledger": t_ledger if t_ledger is not None else float("nan"),
        "launch": _iso(m["started_at"]) - started_on if m.get("started_at") else float("nan"),
        "job": float(m.get("duration_s") or float("nan")),
        "manifest": t_manifest,
        "glue": float(run.get("ExecutionTime", float("nan"))),
        "rows": float(m.get("rows_read") or 0),
    }


def bench_engine(engine: str, body: bytes, repeat: int, timeout: float) -> list[dict[str, float]]:
    home = Path(tempfile.mkdtemp(prefix=f"bench-event-{engine}-"))
    old = os.environ.get("SHOPLAKE_HOME")
    os.environ["SHOPLAKE_HOME"] = str(home)
    settings = load_settings(home=home, job_engine=engine)
    results = []
    try:
        t = time.perf_counter()
        stack_mod.up(settings, echo=_quiet, only=EVENT_PATH)
        live = load_settings(home=home, job_engine=engine)
        from shoplake.deploy import deploy

        deploy(live, echo=_quiet)
        print(f"[{engine}] stack up + deploy in {time.perf_counter() - t:.1f}s (home {home})", flush=True)
        for i in range(repeat):
            key = keys.raw_key(ORDERS, DAY, f"orders_{DAY}_bench_{engine}_{i}.csv")
            r = one_put(live, body, key, timeout)
            print(f"[{engine}] #{i + 1}: " + "  ".join(f"{k} {v:.2f}" for k, v in r.items() if k != "rows"),
                  flush=True)
            results.append(r)
    finally:
        stack_mod.down(settings, echo=_quiet, timeout=15)
        if old is None:
            os.environ.pop("SHOPLAKE_HOME", None)
        else:
            os.environ["SHOPLAKE_HOME"] = old
        shutil.rmtree(home, ignore_errors=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
          f" on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-event-data-") as d:
        body, lines = orders_file(a.rows, Path(d))
    print(f"input: one orders file, {lines} rows, {len(body) / 1e6:.2f} MB;"
          f" GLUE_RUNNER_WARM_WORKERS={os.environ.get('GLUE_RUNNER_WARM_WORKERS', '(default)')}")
    medians: dict[str, dict[str, float]] = {}
    cols = ["start", "ledger", "launch", "job", "manifest", "glue"]
    for engine in a.engines.split(","):
        rs = bench_engine(engine, body, a.repeat, a.timeout)
        medians[engine] = {c: statistics.median(r[c] for r in rs) for c in cols}
    print(f"\nmedian of {a.repeat} (seconds)   " + "".join(f"{c:>10}" for c in cols))
    for engine, m in medians.items():
        print(f"{engine:<28}" + "".join(f"{m[c]:>10.2f}" for c in cols))
    if "duckdb" in medians and "spark" in medians:
        d, s = medians["duckdb"], medians["spark"]
        print(f"{'ratio spark/duckdb':<28}" + "".join(
            f"{(s[c] / d[c] if d[c] else float('nan')):>10.2f}" for c in cols))
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
