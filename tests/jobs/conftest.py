"""Fixtures of the cleanse job tests: one local Spark session, fixture files, a job runner."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
# importlib mode: make this folder's helper modules (jobs_expectations) importable by the tests.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
REPO = Path(__file__).resolve().parents[2]
JARS = REPO / ".cache" / "jars"
S3_JARS = [JARS / "hadoop-aws-3.3.1.jar", JARS / "aws-java-sdk-bundle-1.11.901.jar"]

RunJob = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local[2] Spark session (with the S3A jars when present, for the S3 test)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in os.environ.get("PATH", ""):
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]")
        .appName("shoplake-jobs-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "1g")
    )
    if all(j.is_file() for j in S3_JARS):
        builder = (
            builder.config("spark.jars", ",".join(str(j) for j in S3_JARS))
            .config("spark.hadoop.fs.s3.impl", "org.apache.hadoop.fs.s3a.S3AFileSystem")
            .config("spark.hadoop.fs.s3a.path.style.access", "true")
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture
def run_job(tmp_path: Path) -> RunJob:
    """``run_job(engine, fixture_or_path, dataset=None, spark=None, lake=None)`` -> manifest."""
    from shoplake_jobs import run

    def _run(engine: str, source: str | Path, dataset: str | None = None, spark: Any = None,
             lake: str | Path | None = None, version: str = "v1") -> dict[str, Any]:
        path = Path(source) if Path(source).is_absolute() else FIXTURES / source
        ds = dataset or path.name.split("_")[0]
        target = Path(lake) if lake else tmp_path / f"lake-{engine}"
        target.mkdir(parents=True, exist_ok=True)
        return run(engine, spark=spark, dataset=ds, source_uri=str(path), source_version=version,
                   lake=str(target), job_name=f"test-{ds}", run_id=f"test-{engine}")

    return _run
