"""The spark engine: runs go through spark-submit (local master, no S3 needed)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.spark]

SPARK_JOB = """
import sys
from pyspark.sql import SparkSession
from spark_helper import double

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
spark = SparkSession.builder.getOrCreate()
total = spark.range(10).selectExpr(f"sum(id) AS s").collect()[0]["s"]
print("RESULT", args["--JOB_NAME"], double(total), spark.conf.get("spark.sql.session.timeZone"),
      spark.conf.get("spark.hadoop.fs.s3.impl"))
if args.get("--fail") == "yes":
    raise RuntimeError("spark job failed on purpose")
spark.stop()
"""


@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")
def test_spark_submit_runs(make_runner: Any, helpers: Any) -> None:
    r = make_runner(SHOPLAKE_JOB_ENGINE="spark")
    g = r.glue()
    (r.home / "spark_job.py").write_text(SPARK_JOB)
    (r.home / "spark_helper.py").write_text("def double(x):\n    return 2 * x\n")
    helpers.create_job(g, "spark-job", r.home / "spark_job.py", ExecutionProperty={
        "MaxConcurrentRuns": 2}, DefaultArguments={"--extra-py-files": str(r.home / "spark_helper.py")})
    ok = g.start_job_run(JobName="spark-job")["JobRunId"]
    bad = g.start_job_run(JobName="spark-job", Arguments={"--fail": "yes"})["JobRunId"]

    run = helpers.wait_state(g, "spark-job", ok, limit=300)
    log = Path(run["LogGroupName"]).read_text()
    assert run["JobRunState"] == "SUCCEEDED", log[-3000:]
    assert "spark-submit" in log.splitlines()[0]
    assert "RESULT spark-job 90 UTC org.apache.hadoop.fs.s3a.S3AFileSystem" in log

    run = helpers.wait_state(g, "spark-job", bad, limit=300)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "RuntimeError: spark job failed on purpose"


def test_pythonshell_jobs_skip_spark(make_runner: Any, helpers: Any) -> None:
    r = make_runner(SHOPLAKE_JOB_ENGINE="spark")
    g = r.glue()
    (r.home / "shell.py").write_text("import os\nprint('ENGINE', os.environ['SHOPLAKE_JOB_ENGINE'])\n")
    g.create_job(Name="shell-job", Role="r", Command={
        "Name": "pythonshell", "ScriptLocation": str(r.home / "shell.py"), "PythonVersion": "3.9"})
    run = helpers.wait_state(g, "shell-job", g.start_job_run(JobName="shell-job")["JobRunId"])
    log = Path(run["LogGroupName"]).read_text()
    assert run["JobRunState"] == "SUCCEEDED", log
    assert "spark-submit" not in log and "ENGINE duckdb" in log


@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")
def test_cleanse_over_a_limit_fails_with_limit_exceeded(make_runner: Any, helpers: Any, tmp_path: Path) -> None:
    """The real cleanse job on Spark, through spark-submit with the deploy's jobs zip: a record
    wider than --max_fields fails the run with an ErrorMessage naming limit_exceeded (the
    job-events Lambda's reason), the driver's heap bounded by spark_driver_memory."""
    from shoplake.deploy.package import jobs_zip

    r = make_runner(SHOPLAKE_JOB_ENGINE="spark")
    g = r.glue()
    (r.home / "shoplake_jobs.zip").write_bytes(jobs_zip(helpers.ROOT))
    src = tmp_path / "orders_wide.csv"
    src.write_text("order_id,line_number\n" + "W1" + ",x" * 20 + "\n")
    # the runner executes scripts only from its allowed folders: the job's entry script is copied
    # into the runner's home, next to the zip, as a deploy puts both under one artifacts prefix
    (r.home / "cleanse.py").write_bytes((helpers.ROOT / "jobs" / "cleanse.py").read_bytes())
    helpers.create_job(g, "cleanse", r.home / "cleanse.py", DefaultArguments={
        "--extra-py-files": str(r.home / "shoplake_jobs.zip"), "--dataset": "orders",
        "--lake_bucket": str(tmp_path / "lake"), "--max_fields": "8"})
    run_id = g.start_job_run(JobName="cleanse", Arguments={"--source_uri": str(src), "--source_version": "v1"})[
        "JobRunId"]
    run = helpers.wait_state(g, "cleanse", run_id, limit=300)
    log = Path(run["LogGroupName"]).read_text()
    assert run["JobRunState"] == "FAILED", log[-3000:]
    assert run["ErrorMessage"].startswith("shoplake_jobs.limits.LimitExceededError: limit_exceeded: "), log[-3000:]
    assert "line 2 has more than 8 fields" in run["ErrorMessage"]
    assert "--driver-memory 2g" in log.splitlines()[0]
    assert not (tmp_path / "lake").exists() or not [p for p in (tmp_path / "lake").rglob("*") if p.is_file()]
