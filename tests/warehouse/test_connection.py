"""The adapter: fakesnow on the DuckDB file that dbt-duckdb opens, Snowflake credentials."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from shoplake import aws
from shoplake.settings import Settings, load_settings
from shoplake.warehouse import connection as wc

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning")

RAW_TABLES = {"orders", "customers", "products", "fx_rates", "pipeline_runs", "load_ledger"}


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path, warehouse_backend="duckdb")


def _tables(path: Path) -> set[tuple[str, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT lower(table_schema), lower(table_name) FROM information_schema.tables"
        ).fetchall()
    finally:
        con.close()
    return {(s, t) for s, t in rows}


def test_create_tables_is_idempotent_and_dbt_duckdb_sees_the_schemas(local_settings: Settings) -> None:
    for _ in range(2):
        conn = wc.connect(local_settings)
        try:
            wc.create_tables(conn)
            cur = conn.cursor()
            cur.execute("INSERT INTO SHOPLAKE.RAW.PIPELINE_RUNS (RUN_ID, STAGE) VALUES ('r', 'load')")
        finally:
            conn.close()
    path = local_settings.warehouse_file
    assert path == local_settings.home / "warehouse.duckdb"
    # what dbt-duckdb does: open the file itself (no fakesnow), schemas raw/staging/analytics
    con = duckdb.connect(str(path), read_only=True)
    try:
        schemas = {r[0].lower() for r in con.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = 'warehouse'"
        ).fetchall()}
        runs = con.execute("SELECT count(*) FROM raw.pipeline_runs").fetchone()
        columns = con.execute(
            "SELECT lower(column_name), data_type FROM information_schema.columns "
            "WHERE lower(table_schema) = 'raw' AND lower(table_name) = 'orders' ORDER BY ordinal_position"
        ).fetchall()
    finally:
        con.close()
    assert {"raw", "staging", "analytics", "snapshots"} <= schemas
    assert runs == (2,)  # both runs kept the table and its rows: nothing was re-created
    assert {("raw", t) for t in RAW_TABLES} <= _tables(path)
    types = dict(columns)
    assert types["unit_price"] == "DECIMAL(18,2)"
    assert types["order_ts"] == "TIMESTAMP"
    assert types["line_number"] == "DECIMAL(10,0)"


def test_read_only_connection_refuses_writes(local_settings: Settings) -> None:
    conn = wc.connect(local_settings)
    wc.create_tables(conn)
    conn.close()
    reader = wc.connect(local_settings, read_only=True)
    try:
        cur = reader.cursor()
        cur.execute("SELECT count(*) FROM raw.orders")
        assert cur.fetchall() == [(0,)]
        with pytest.raises(Exception, match="read-only"):
            cur.execute("INSERT INTO raw.pipeline_runs (run_id) VALUES ('x')")
    finally:
        reader.close()


def test_reader_on_a_missing_warehouse_gets_a_clear_error(local_settings: Settings) -> None:
    with pytest.raises(wc.WarehouseError, match="shoplake load"):
        wc.connect(local_settings, read_only=True)


def test_a_long_statement_is_interrupted(local_settings: Settings) -> None:
    conn = wc.connect(local_settings)
    try:
        wc.create_tables(conn)  # ends with USE SCHEMA SHOPLAKE.RAW
        cur = conn.cursor()
        with pytest.raises(wc.StatementTimeout):
            wc.execute(conn, cur, "SELECT count(*) FROM range(100000000000) a(i)", timeout_s=0.3)
        # the connection is still usable afterwards
        wc.execute(conn, cur, "SELECT 1")
        assert cur.fetchall() == [(1,)]
    finally:
        conn.close()


def test_snowflake_credentials_from_environment() -> None:
    env = {
        "SNOWFLAKE_ACCOUNT": "acme-xy123", "SNOWFLAKE_USER": "loader",
        "SNOWFLAKE_PASSWORD": "pw", "SNOWFLAKE_ROLE": "LOADER", "SNOWFLAKE_WAREHOUSE": "WH",
    }
    assert wc.snowflake_credentials(env) == {
        "account": "acme-xy123", "user": "loader", "password": "pw", "role": "LOADER", "warehouse": "WH",
    }
    with pytest.raises(wc.WarehouseError, match="SNOWFLAKE_PASSWORD"):
        wc.snowflake_credentials({"SNOWFLAKE_ACCOUNT": "a", "SNOWFLAKE_USER": "u"})


def test_snowflake_credentials_from_secrets_manager(emulator: Settings) -> None:
    sm = aws.client("secretsmanager", emulator)
    name = "shoplake/test/snowflake-wh"
    secret = {"account": "acme", "user": "svc", "password": "s3cret", "role": "R"}
    try:
        sm.create_secret(Name=name, SecretString=json.dumps(secret))
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretString=json.dumps(secret))
    creds = wc.snowflake_credentials({"SNOWFLAKE_SECRET_ID": name, "SNOWFLAKE_ROLE": "OVERRIDE"}, emulator)
    assert creds == {"account": "acme", "user": "svc", "password": "s3cret", "role": "OVERRIDE"}
