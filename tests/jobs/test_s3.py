"""One run of each engine against S3 (MiniStack): s3:// source, outputs and manifest in a bucket."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from shoplake_jobs import run

from shoplake_contract.ids import source_id

pytestmark = [pytest.mark.slow]

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "raw/orders/ingest_date=2026-01-01/orders_ragged.csv"


@pytest.fixture
def s3_lake(fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A versioned bucket holding one raw orders file; the job's environment points at it."""
    for k, v in fresh_emulator.aws_env().items():
        monkeypatch.setenv(k, v)
    s3 = boto3.client("s3", endpoint_url=fresh_emulator.aws_endpoint_url, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket="lake")
    s3.put_bucket_versioning(Bucket="lake", VersioningConfiguration={"Status": "Enabled"})
    put = s3.put_object(Bucket="lake", Key=KEY, Body=(FIXTURES / "orders_ragged.csv").read_bytes())
    version = put.get("VersionId") or put["ETag"].strip('"')
    return {"s3": s3, "version": version, "settings": fresh_emulator}


def _keys(s3: Any, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket="lake", Prefix=prefix).get("Contents", []))


def _check(s3: Any, manifest: dict[str, Any], version: str) -> None:
    sid = source_id("lake", KEY, version)
    assert manifest["source_id"] == sid and manifest["source_object"] == f"s3://lake/{KEY}"
    assert (manifest["rows_read"], manifest["rows_written"], manifest["rows_quarantined"]) == (5, 2, 3)
    saved = json.loads(s3.get_object(Bucket="lake", Key=f"curated/_manifests/orders/{sid}.json")["Body"].read())
    assert saved == manifest
    assert manifest["files"] == [f"curated/orders/ingest_date=2026-01-01/{sid}-0.parquet"]
    assert _keys(s3, "curated/orders/") == manifest["files"]
    assert _keys(s3, "quarantine/") == manifest["quarantine_files"]
    assert _keys(s3, "_staging/") == []
    lines = s3.get_object(Bucket="lake", Key=manifest["quarantine_files"][0])["Body"].read().splitlines()
    assert [json.loads(x)["reason"] for x in lines] == ["malformed_row"] * 3


def test_duckdb_engine_on_s3(s3_lake: dict[str, Any]) -> None:
    m = run("duckdb", dataset="orders", source_uri=f"s3://lake/{KEY}", source_version=s3_lake["version"],
            lake="lake", job_name="shoplake-cleanse-orders", run_id="jr_duckdb")
    _check(s3_lake["s3"], m, s3_lake["version"])


def _s3a(spark: Any, settings: Any) -> None:
    jars = Path(__file__).resolve().parents[2] / ".cache" / "jars"
    if not (jars / "hadoop-aws-3.3.1.jar").is_file():
        pytest.skip("Spark S3A jars not in .cache/jars (make setup)")
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    conf.set("fs.s3a.endpoint", settings.aws_endpoint_url)
    conf.set("fs.s3a.access.key", "test")
    conf.set("fs.s3a.secret.key", "test")
    conf.set("fs.s3a.path.style.access", "true")
    conf.set("fs.s3a.connection.ssl.enabled", "false")


@pytest.mark.spark
def test_spark_engine_on_s3(s3_lake: dict[str, Any], spark: Any) -> None:
    _s3a(spark, s3_lake["settings"])
    m = run("spark", spark=spark, dataset="orders", source_uri=f"s3://lake/{KEY}",
            source_version=s3_lake["version"], lake="s3://lake", job_name="shoplake-cleanse-orders",
            run_id="jr_spark")
    _check(s3_lake["s3"], m, s3_lake["version"])


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_upper_case_gzip_and_a_bomb_on_s3(s3_lake: dict[str, Any], engine: str, request: pytest.FixtureRequest) -> None:
    """Issue 12 on S3: ``.CSV.GZ`` is streamed and gunzipped (Spark: from a staged ``.gz``
    copy, removed after); a bomb is refused at the cap while streaming the object body."""
    from shoplake_jobs.limits import LimitExceededError, Limits

    spark = request.getfixturevalue("spark") if engine == "spark" else None
    if spark is not None:
        _s3a(spark, s3_lake["settings"])
    s3 = s3_lake["s3"]
    key = "raw/orders/ingest_date=2026-01-01/ORDERS_UP.CSV.GZ"
    version = s3.put_object(Bucket="lake", Key=key, Body=gzip.compress((FIXTURES / "orders_ragged.csv").read_bytes()))
    m = run(engine, spark=spark, dataset="orders", source_uri=f"s3://lake/{key}",
            source_version=version.get("VersionId") or "v1", lake="s3://lake" if spark else "lake",
            job_name="t", run_id=f"jr_{engine}")
    assert (m["rows_read"], m["rows_written"], m["rows_quarantined"]) == (5, 2, 3)
    assert _keys(s3, "_staging/") == []
    bomb = "raw/orders/ingest_date=2026-01-01/orders_bomb.csv.gz"
    s3.put_object(Bucket="lake", Key=bomb, Body=gzip.compress(b"0" * 1023 + b"\n") * 4096)  # 4 MiB
    with pytest.raises(LimitExceededError, match="expands to more than 1048576 bytes"):
        run(engine, spark=spark, dataset="orders", source_uri=f"s3://lake/{bomb}", source_version="v1",
            lake="s3://lake" if spark else "lake", job_name="t", run_id=f"jr_{engine}_bomb",
            limits=Limits(max_expanded_bytes=1 << 20))
    assert _keys(s3, "_staging/") == []
