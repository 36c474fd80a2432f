"""dbt-duckdb on a warehouse file created the way `shoplake load` creates it (Snowflake DDL
from warehouse/create_tables.sql through fakesnow, schemas and tables stored upper case):
the raw tables resolve as sources and the models build on top of them."""

from __future__ import annotations

import json

import duckdb

from shoplake.settings import load_settings
from shoplake.transform import run_dbt


def test_build_on_a_loader_created_warehouse(tmp_path, raw_data):
    from shoplake.warehouse import connect, create_tables

    path = tmp_path / "warehouse.duckdb"
    settings = load_settings(warehouse_path=path, dbt_target="local", home=tmp_path / "home")
    conn = connect(settings)
    try:
        create_tables(conn)
    finally:
        conn.close()
    raw_data.append_rows(path, raw_data.DAY1)

    target = tmp_path / "target"
    proc = run_dbt(
        ["build", "--exclude", "test_type:unit"],
        settings,
        check=False,
        capture_output=True,
        env={"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(tmp_path / "logs")},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    statuses = {
        r["status"] for r in json.loads((target / "run_results.json").read_text())["results"]
    }
    assert statuses <= {"success", "pass", "warn"}
    with duckdb.connect(str(path), read_only=True) as con:
        (n,) = con.execute('select count(*) from "ANALYTICS".fct_orders').fetchall()[0]
        schemas = {
            r[0]
            for r in con.execute("select schema_name from information_schema.schemata").fetchall()
        }
    assert n == 7
    # dbt wrote into the loader's upper-case schemas, not into lower-case twins
    assert {"RAW", "STAGING", "ANALYTICS", "SNAPSHOTS"} <= schemas
    assert not {"raw", "staging", "analytics", "snapshots"} & schemas
