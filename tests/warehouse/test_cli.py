"""``shoplake load`` / ``shoplake sql`` through the real CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from shoplake.cli import cli
from shoplake.settings import Settings, get_settings
from shoplake.warehouse import connection as wc

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning")


def _env(settings: Settings) -> dict[str, str]:
    return {
        "SHOPLAKE_HOME": str(settings.home),
        "SHOPLAKE_AWS_ENDPOINT_URL": str(settings.aws_endpoint_url),
        "SHOPLAKE_LAKE_BUCKET": settings.lake_bucket,
        "SHOPLAKE_WAREHOUSE_BACKEND": "duckdb",
    }


@pytest.fixture(scope="module")
def cli_env(module_lake: Any) -> Iterator[dict[str, str]]:
    """The process environment pointing ``get_settings()`` at the module's lake, loaded once."""
    module_lake.source("orders", "raw/orders/cli.csv", [8, 4])
    env = _env(module_lake.settings)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["load"])
        assert result.exit_code == 0, result.output
        assert "RAW.ORDERS" in result.output
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


def test_help() -> None:
    runner = CliRunner()
    load_help = runner.invoke(cli, ["load", "--help"])
    sql_help = runner.invoke(cli, ["sql", "--help"])
    assert load_help.exit_code == 0 and "SUCCEEDED run manifests" in load_help.output
    assert sql_help.exit_code == 0 and "--format [table|csv|json]" in sql_help.output


def test_sql_json(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli,
        ["sql", "SELECT count(*) AS n, sum(quantity) AS q, max(order_ts) AS last_ts FROM raw.orders", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.output)
    assert (record["N"], record["Q"]) == (12, 22)
    assert record["LAST_TS"].startswith("2026-01-05T")


def test_sql_csv(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli, ["sql", "SELECT line_number, count(*) AS n FROM raw.orders GROUP BY 1 ORDER BY 1", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert [r[0].lower() for r in rows[:1]] == ["line_number"]
    assert sum(int(r[1]) for r in rows[1:]) == 12


def test_sql_table(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["sql", "SELECT status, count(*) AS n FROM raw.orders GROUP BY 1"])
    assert result.exit_code == 0, result.output
    assert "paid" in result.output and "12" in result.output and "1 row(s)" in result.output


def test_sql_native_gives_exact_decimal_sums(cli_env: dict[str, str], module_lake: Any) -> None:
    keys = [k for k in _committed_orders(module_lake)]
    expected = module_lake.read_parquet(keys, "SELECT sum(line_amount) FROM f")[0]
    result = CliRunner().invoke(
        cli, ["sql", "SELECT sum(line_amount) AS total FROM raw.orders", "--native", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == str(expected)


def _committed_orders(lake: Any) -> list[str]:
    listing = lake.s3.list_objects_v2(Bucket=lake.bucket, Prefix="curated/orders/")
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_sql_refuses_writes(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["sql", "DELETE FROM raw.orders"])
    assert result.exit_code != 0
    assert "only queries" in result.output


def test_sql_while_a_writer_holds_the_file_fails_clearly(cli_env: dict[str, str], module_lake: Any) -> None:
    writer = wc.connect(module_lake.settings)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "shoplake.cli", "sql", "SELECT 1", "--wait", "0.5"],
            env={**os.environ, **cli_env},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        writer.close()
    assert proc.returncode == 1
    assert "locked by another process" in proc.stderr
    # and once the writer is gone, the same query works
    ok = CliRunner().invoke(cli, ["sql", "SELECT count(*) AS n FROM raw.orders", "--format", "csv"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines()[1] == "12"
