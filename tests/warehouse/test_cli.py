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
from shoplake.settings import Settings
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


# --- issue 12 (7, 11): read-only by construction; CSV formula injection ---------------------
def _digest(path: Any) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


#: Every statement must fail in both modes. ``{out}`` is a file in a fresh folder, ``{bucket}``
#: the lake bucket. Several pass the statement check on purpose (EXPLAIN ANALYZE, comments
#: Snowflake and DuckDB read differently): only the locked read-only session stops them.
ATTACKS = [
    "SELECT * FROM read_csv('/etc/passwd', sep = ':')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT content FROM read_text('/etc/passwd')",
    "SELECT content FROM read_blob('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT count(*) FROM read_parquet('s3://{bucket}/curated/orders/*/*.parquet')",
    "COPY (SELECT * FROM raw.orders) TO '{out}'",
    "COPY raw.orders TO '{out}' (FORMAT csv)",
    "COPY raw.orders FROM '/etc/passwd'",
    "EXPORT DATABASE '{out}'",
    "INSERT INTO raw.orders SELECT * FROM raw.orders",
    "UPDATE raw.orders SET status = 'x'",
    "DELETE FROM raw.orders",
    "DROP TABLE raw.orders",
    "CREATE TABLE raw.evil AS SELECT 1 AS a",
    "CREATE TABLE evil AS SELECT 1 AS a",
    "ALTER TABLE raw.orders ADD COLUMN evil INTEGER",
    "DETACH SHOPLAKE",
    "ATTACH '{out}' AS evil",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET lock_configuration = false",
    "SET GLOBAL allowed_directories = ['/']",
    "PRAGMA enable_profiling",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CREATE SECRET evil (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "EXPLAIN ANALYZE DELETE FROM raw.orders",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}'",
    "select 1 //2 ; delete from raw.orders",
    "select 1 //2 ; COPY (select * from raw.orders) TO '{out}'",
    "select 1 //2 ; DETACH SHOPLAKE; ATTACH '{out}' AS SHOPLAKE; CREATE TABLE SHOPLAKE.t AS SELECT 1",
    "select 1 /* x */ ; delete from raw.orders",
    "select 1 -- x\n; delete from raw.orders",
    "select 1; delete from raw.orders",
    "/* a */ delete /* b */ from raw.orders",
    "select * from read_csv('/etc/passwd') // comment",
]


@pytest.mark.parametrize("native", [False, True], ids=["snowflake-sql", "native"])
def test_sql_attacks_fail_and_leave_the_warehouse_unchanged(
    cli_env: dict[str, str], module_lake: Any, tmp_path: Any, native: bool
) -> None:
    path = module_lake.settings.warehouse_file
    before = _digest(path)
    failures = []
    for i, template in enumerate(ATTACKS):
        out = tmp_path / f"x{i}" / "out.csv"
        out.parent.mkdir()
        sql = template.format(out=out, bucket=module_lake.bucket)
        args = ["sql", sql, "--format", "csv"] + (["--native"] if native else [])
        result = CliRunner().invoke(cli, args)
        lines = [line for line in result.output.splitlines() if line.strip()]
        if (
            result.exit_code != 1
            or len(lines) != 1
            or not lines[0].startswith("Error: ")
            or "root:" in result.output
            or list(out.parent.iterdir())
        ):
            failures.append((sql, result.exit_code, result.output))
    assert not failures, "\n".join(f"{s!r} -> exit {c}: {o!r}" for s, c, o in failures)
    assert _digest(path) == before
    # and the session was not left unlocked for the next caller
    ok = CliRunner().invoke(cli, ["sql", "SELECT count(*) AS n FROM raw.orders", "--format", "csv"])
    assert ok.exit_code == 0 and ok.output.splitlines()[1] == "12", ok.output


def test_the_read_only_sessions_are_locked_below_the_statement_check(module_lake: Any, cli_env: dict[str, str]) -> None:
    """By construction: the same attacks sent straight to DuckDB, with no statement check."""
    import duckdb

    from shoplake.warehouse.query import native_connection

    reader = wc.connect(module_lake.settings, read_only=True)
    native = native_connection(module_lake.settings)
    try:
        fakesnow_duck = wc.duck_connection(reader)
        for con in (fakesnow_duck, native):
            for template in ATTACKS:
                if "//" in template or ";" in template:
                    continue  # multi-statement texts: their parts are in the list on their own
                sql = template.format(out="/tmp/shoplake-attack-must-not-exist", bucket=module_lake.bucket)
                with pytest.raises(duckdb.Error):
                    con.execute(sql).fetchall()
            assert con.execute("SELECT count(*) FROM SHOPLAKE.RAW.ORDERS").fetchall() == [(12,)]
    finally:
        reader.close()
        native.close()
    assert not os.path.exists("/tmp/shoplake-attack-must-not-exist")


@pytest.mark.parametrize("native", [False, True], ids=["snowflake-sql", "native"])
def test_legit_queries_on_marts_still_work(cli_env: dict[str, str], module_lake: Any, native: bool) -> None:
    writer = wc.connect(module_lake.settings)
    try:
        wc.run_statements(writer, [
            "CREATE OR REPLACE TABLE SHOPLAKE.ANALYTICS.FCT_TEST_DAILY AS "
            "SELECT CAST(order_ts AS DATE) AS order_date, sum(line_amount) AS net_amount, count(*) AS lines "
            "FROM SHOPLAKE.RAW.ORDERS GROUP BY 1",
        ])
    finally:
        writer.close()
    flag = ["--native"] if native else []
    for sql in [
        "SELECT sum(lines) AS n FROM analytics.fct_test_daily",
        "WITH d AS (SELECT * FROM analytics.fct_test_daily) SELECT sum(lines) AS n FROM d -- a comment",
        "/* c */ SELECT sum(lines) AS n FROM analytics.fct_test_daily;",
        "SELECT sum(lines) // 1 AS n FROM analytics.fct_test_daily" if native else
        "SELECT sum(lines) AS n FROM analytics.fct_test_daily // a Snowflake comment",
        "SELECT count(*) AS n FROM raw.orders o JOIN analytics.fct_test_daily f "
        "ON CAST(o.order_ts AS DATE) = f.order_date",
    ]:
        result = CliRunner().invoke(cli, ["sql", sql, "--format", "json", *flag])
        assert result.exit_code == 0, (sql, result.output)
        ((value,),) = [r.values() for r in json.loads(result.output)]
        assert value == 12, (sql, result.output)
    for sql in ["SHOW TABLES", "DESCRIBE analytics.fct_test_daily" if native else "SELECT 1 AS one"]:
        listing = CliRunner().invoke(cli, ["sql", sql, *flag])
        assert listing.exit_code == 0, listing.output


def test_csv_output_neutralises_formulas_in_text_only() -> None:
    from decimal import Decimal

    from shoplake.warehouse.query import QueryResult, to_csv

    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
               "\tq", "\r=1", "\0x", "=1=1"]
    result = QueryResult(["name", "n", "amount"], [(h, -5, Decimal("-1.50")) for h in hostile]
                         + [("plain", 3, Decimal("2.00")), ("mid=dle", 0, None)])
    rows = list(csv.reader(io.StringIO(to_csv(result))))
    assert rows[0] == ["name", "n", "amount"]
    assert [r[0] for r in rows[1:]] == ["'" + h for h in hostile] + ["plain", "mid=dle"]
    assert {(r[1], r[2]) for r in rows[1:-2]} == {("-5", "-1.50")}  # numbers stay numbers
    assert rows[-1][2] == ""


def test_sql_csv_neutralises_formulas_end_to_end(cli_env: dict[str, str]) -> None:
    sql = ("SELECT '=HYPERLINK(\"http://evil\")' AS a, '@SUM(1+1)' AS b, '+cmd|x' AS c, "
           "'-1' AS d, -5 AS n, 'ok' AS e")
    for flag in ([], ["--native"]):
        result = CliRunner().invoke(cli, ["sql", sql, "--format", "csv", *flag])
        assert result.exit_code == 0, result.output
        row = list(csv.reader(io.StringIO(result.output)))[1]
        assert row == ["'=HYPERLINK(\"http://evil\")", "'@SUM(1+1)", "'+cmd|x", "'-1", "-5", "ok"], row
