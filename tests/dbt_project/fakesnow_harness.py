"""Build the dbt project with dbt-snowflake (target `prod`) against fakesnow, in-process.

Run as a script by test_dbt_fakesnow.py (a subprocess: fakesnow patches the Snowflake
connector globally, and dbt must not see the repository root on sys.path):

    python fakesnow_harness.py DB_DIR TARGET_DIR RESULT_JSON

It creates the raw tables with warehouse/create_tables.sql (Snowflake DDL), inserts the day-1
rows of conftest.py, runs `dbt build --target prod` and writes a JSON summary.

Shims for fakesnow 0.12.1 (not needed on Snowflake):
- `create [or replace] temporary table SHOPLAKE.S.T` is run as a plain table: DuckDB keeps
  temporary tables in its own catalog and refuses qualified names;
- `--vars {persist_docs: false}`: fakesnow cannot parse COMMENT clauses in column DDL;
- unit tests are excluded (they are covered on DuckDB).
fakesnow's MERGE rewrite fails on dbt-snowflake's merge statements (ambiguous column
references), so only the first build (no merge) runs here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
DBT_DIR = HERE.parents[1] / "dbt"
TEST_PII_KEY = b"fakesnow-test-key-0123456789abcdef"
_TEMP = re.compile(r"(create\s+(?:or\s+replace\s+)?)temporary\s+(table|view)", re.I)


def _plain(value):
    if isinstance(value, (Decimal, datetime, date)):
        return str(value)
    return value


def main(db_dir: str, target_dir: str, result_json: str) -> int:
    os.environ.update(
        SNOWFLAKE_ACCOUNT="fakesnow",
        SNOWFLAKE_USER="fake",
        SNOWFLAKE_PASSWORD="fake",
        SNOWFLAKE_ROLE="fake",
        SNOWFLAKE_WAREHOUSE="fake",
        SNOWFLAKE_DATABASE="SHOPLAKE",
        DBT_TARGET_PATH=target_dir,
        DBT_LOG_PATH=target_dir,
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    # the PII key's padded keys, as `shoplake transform` passes them (test key, not a secret)
    from shoplake import pii

    os.environ.update(pii.dbt_env(TEST_PII_KEY))
    import fakesnow
    import snowflake.connector
    from dbt.cli.main import dbtRunner
    from fakesnow.cursor import FakeSnowflakeCursor

    from shoplake.warehouse.sqlfiles import read_sql, split

    spec = importlib.util.spec_from_file_location("dbt_project_data", HERE / "conftest.py")
    data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(data)

    original = FakeSnowflakeCursor.execute

    def execute(self, command, *args, **kwargs):
        return original(self, _TEMP.sub(r"\1\2", command), *args, **kwargs)

    FakeSnowflakeCursor.execute = execute
    Path(db_dir).mkdir(parents=True, exist_ok=True)
    with fakesnow.patch(db_path=db_dir):
        conn = snowflake.connector.connect(database="SHOPLAKE")
        cur = conn.cursor()
        for statement in split(read_sql("create_tables.sql")):
            cur.execute(statement)
        for table, rows in data.DAY1.items():
            for row in rows:
                marks = ", ".join(["%s"] * len(row))
                cur.execute(
                    f"insert into SHOPLAKE.RAW.{table.upper()} ({', '.join(row)}) values ({marks})",
                    [_plain(v) for v in row.values()],
                )
        conn.close()

        res = dbtRunner().invoke(
            [
                "build",
                "--target",
                "prod",
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                "--vars",
                "{persist_docs: false}",
                "--exclude",
                "test_type:unit",
            ]
        )
        summary = {
            "success": res.success,
            "statuses": {r.node.unique_id: str(r.status) for r in (res.result or [])},
        }
        # compile again now that the relations exist: the incremental branches
        # (is_incremental(), the snapshot's filter) as Snowflake SQL, for sqlglot to parse
        compiled = dbtRunner().invoke(
            [
                "compile",
                "--target",
                "prod",
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                "--vars",
                "{persist_docs: false}",
                "--exclude",
                "test_type:unit",
                "resource_type:test",
            ]
        )
        summary["compile_success"] = compiled.success
        summary["compiled"] = {
            r.node.name: r.node.compiled_code
            for r in (compiled.result or [])
            if r.node.resource_type in ("model", "snapshot")
        }
        conn = snowflake.connector.connect(database="SHOPLAKE")
        cur = conn.cursor()
        cur.execute(
            "select order_line_id, amount_usd, has_fx_rate, fx_rate_date "
            "from SHOPLAKE.ANALYTICS.FCT_ORDERS order by 1"
        )
        summary["fct_orders"] = [[_plain(v) for v in row] for row in cur.fetchall()]
        cur.execute(
            "select customer_id, email_hash, phone_masked from SHOPLAKE.ANALYTICS.DIM_CUSTOMERS order by 1"
        )
        summary["dim_customers"] = [list(row) for row in cur.fetchall()]
        conn.close()
    Path(result_json).write_text(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
