"""AWS Glue 5 entry script of the cleanse job (plain PySpark on Glue).

    spark-submit --py-files shoplake_jobs.zip jobs/cleanse.py --dataset orders \
        --source_uri s3://lake/raw/orders/ingest_date=2026-01-01/orders.csv \
        --source_version v1 --lake_bucket shoplake-lake --JOB_NAME shoplake-cleanse-orders
    SHOPLAKE_JOB_ENGINE=duckdb PYTHONPATH=jobs:src python jobs/cleanse.py ...   # no JVM

The engine comes from ``SHOPLAKE_JOB_ENGINE`` (``spark``, the default, is what Glue runs;
``duckdb`` runs the same transforms on DuckDB through sqlframe). Prints the manifest (the
run summary) as JSON; on failure raises, and nothing new is visible in the lake. Optional
limits: ``--max_expanded_bytes``, ``--max_line_bytes``, ``--max_fields``, ``--memory_limit``
(docs/contracts.md "Limits"); a run over one fails with ``limit_exceeded: ...``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from types import FrameType

from shoplake_jobs import run
from shoplake_jobs.glue import GlueRun, job_args
from shoplake_jobs.limits import Limits


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (a stopped or timed-out run) unwinds like an error, so every ``finally``
    removes the run's scratch (the default action would exit without running them)."""
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> dict:
    logging.basicConfig(
        level=os.environ.get("SHOPLAKE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,  # stdout carries the run summary only
        force=True,
    )
    if threading.current_thread() is threading.main_thread():  # signal handlers live there
        signal.signal(signal.SIGTERM, _terminate)
    args = job_args(argv)
    limits = Limits.from_args(args)
    engine = os.environ.get("SHOPLAKE_JOB_ENGINE", "spark").lower()
    job_name = args["JOB_NAME"] or "shoplake-cleanse"
    kwargs = {
        "dataset": args["dataset"],
        "source_uri": args["source_uri"],
        "source_version": args["source_version"],
        "lake": args["lake_bucket"],
        "job_name": job_name,
        "run_id": args["JOB_RUN_ID"],
        "limits": limits,
    }
    if engine == "duckdb":
        return run("duckdb", **kwargs)
    glue = GlueRun(job_name, dict(args))
    try:
        manifest = run("spark", spark=glue.spark, **kwargs)
        glue.commit()
        return manifest
    finally:
        glue.stop()


if __name__ == "__main__":
    print(json.dumps(main(sys.argv), indent=2))
