"""The Glue entry script and its pure helpers (arguments, source ids, final keys)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from shoplake_jobs.glue import LIMIT_ARGS, job_args, resolved_options
from shoplake_jobs.job import JobError, final_keys, parse_header
from shoplake_jobs.schemas import ORDERS

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
#: the job's code: its package and the lake rules it shares with the Lambdas
JOB_PATH = os.pathsep.join([str(REPO / "jobs"), str(REPO / "src")])


def test_glue_args_tolerate_unknown_and_equals_form() -> None:
    argv = ["cleanse.py", "--JOB_ID", "j_1", "--dataset", "orders", "--source_uri=s3://b/k.csv",
            "--source_version", "v9", "--lake_bucket", "lake", "--JOB_NAME", "n",
            "--job-bookmark-option", "job-bookmark-disable", "--JOB_RUN_ID", "jr_1"]
    args = job_args(argv)
    assert args == {"JOB_NAME": "n", "dataset": "orders", "source_uri": "s3://b/k.csv",
                    "source_version": "v9", "lake_bucket": "lake", "JOB_RUN_ID": "jr_1",
                    **dict.fromkeys(LIMIT_ARGS)}
    assert job_args([a for a in argv if a not in ("--JOB_RUN_ID", "jr_1")])["JOB_RUN_ID"] is None
    with pytest.raises(SystemExit, match="--dataset"):
        resolved_options(["x", "--JOB_NAME", "n"], ["JOB_NAME", "dataset"])


def test_header_and_final_keys() -> None:
    assert parse_header('"order_id", line_number ,x') == ["order_id", "line_number", "x"]
    with pytest.raises(JobError, match="duplicate"):
        parse_header("a,b,a")
    staged = ["/s/curated/ingest_date=2026-01-02/part-1.parquet",
              "/s/curated/ingest_date=2026-01-01/part-0.parquet",
              "/s/curated/ingest_date=2026-01-02/part-0.parquet"]
    assert final_keys(ORDERS, "abc", staged) == [
        (staged[1], "curated/orders/ingest_date=2026-01-01/abc-0.parquet"),
        (staged[2], "curated/orders/ingest_date=2026-01-02/abc-0.parquet"),
        (staged[0], "curated/orders/ingest_date=2026-01-02/abc-1.parquet"),
    ]


def _args(lake: Path, fixture: str = "orders_ragged.csv") -> list[str]:
    return ["--JOB_NAME", "shoplake-cleanse-orders", "--dataset", "orders",
            "--source_uri", str(FIXTURES / fixture), "--source_version", "v1",
            "--lake_bucket", str(lake), "--JOB_RUN_ID", "jr_entry", "--unknown", "x"]


def test_script_runs_duckdb_engine(tmp_path: Path) -> None:
    env = {**os.environ, "SHOPLAKE_JOB_ENGINE": "duckdb", "PYTHONPATH": JOB_PATH}
    out = subprocess.run([sys.executable, str(REPO / "jobs" / "cleanse.py"), *_args(tmp_path / "lake")],
                         env=env, capture_output=True, text=True, timeout=300, check=True)
    manifest = json.loads(out.stdout)
    assert manifest["engine"] == "duckdb" and manifest["run_id"] == "jr_entry"
    assert (manifest["rows_read"], manifest["rows_written"], manifest["rows_quarantined"]) == (5, 2, 3)


def test_script_fails_visibly_and_writes_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "SHOPLAKE_JOB_ENGINE": "duckdb", "PYTHONPATH": JOB_PATH}
    lake = tmp_path / "lake"
    lake.mkdir()
    out = subprocess.run([sys.executable, str(REPO / "jobs" / "cleanse.py"),
                          *_args(lake, "orders_no_currency.csv")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "header lacks columns" in out.stderr
    assert [p for p in lake.rglob("*") if p.is_file()] == []


@pytest.mark.slow
@pytest.mark.spark
def test_spark_submit_with_zip(tmp_path: Path) -> None:
    """The Glue way: the script plus ``--py-files shoplake_jobs.zip``, no PYTHONPATH."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "spark-submit").exists():
        pytest.skip("spark-submit not in the venv")
    zip_base = tmp_path / "shoplake_jobs"
    from shoplake.deploy.package import jobs_zip

    Path(f"{zip_base}.zip").write_bytes(jobs_zip(REPO))  # what the deploy uploads
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(SPARK_LOCAL_IP="127.0.0.1", PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
               PYSPARK_PYTHON=sys.executable, SHOPLAKE_JOB_ENGINE="spark")
    cmd = [str(bin_dir / "spark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
           "--conf", "spark.sql.shuffle.partitions=2", "--py-files", f"{zip_base}.zip",
           str(REPO / "jobs" / "cleanse.py"), *_args(tmp_path / "lake")]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    manifest, _ = json.JSONDecoder().raw_decode(out.stdout[out.stdout.index('{\n  "run_id"'):])
    assert manifest["engine"] == "spark"
    assert (manifest["rows_read"], manifest["rows_written"], manifest["rows_quarantined"]) == (5, 2, 3)
