"""Incremental dbt builds equal a `--full-refresh` build of the same data.

A generated data set (`shoplake generate`: new orders, late-arriving lines for earlier
days, status updates, customer changes, dirty rows) is cleansed with the real cleanse job
(DuckDB engine, local lake folder) and played day by day: each day's curated Parquet is
appended to the raw tables with its own load timestamp (as the loader stamps _SOURCE_FILE /
_LOADED_AT), then `dbt build` runs incrementally. At the end a copy of the warehouse is
rebuilt with `--full-refresh` and every mart and incremental intermediate model is compared
with EXCEPT ALL both ways; the SCD2 dimension must hold its invariants in both and have one
version per customer and change of the generator's manifest.

Tests and unit tests of the project are excluded from these builds (test_dbt_build.py runs
them): only the model and snapshot SQL is under test here, which keeps the suite time down.
One seed runs by default; more seeds are marked `slow`.
"""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shoplake.generate import GenerateConfig, generate
from shoplake.settings import load_settings
from shoplake.transform import run_dbt

BUILD = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
#: the incremental intermediates (schema STAGING) are compared too: they carry the state
INTERMEDIATES = (
    "int_customers__deduplicated",
    "int_orders__daily_revenue",
    "int_orders__product_sales",
    "int_orders__customer_orders",
    "int_orders__customer_months",
)
RAW_TABLE = {"orders": "orders", "customers": "customers", "products": "products"}
#: units per EUR, moved a little every business day
FX_BASE = {"USD": 1.08, "GBP": 0.85}


def _cleanse(gen_dir: Path, lake: Path, manifest: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Run the cleanse job on every generated file; curated files per day, in file order."""
    from shoplake_jobs import run

    per_day: dict[str, list[list[str]]] = {}
    for f in manifest["files"]:
        result = run(
            "duckdb",
            dataset=f["dataset"],
            source_uri=str(gen_dir / f["path"]),
            source_version=None,
            lake=str(lake),
        )
        per_day.setdefault(f["day"], []).append([f["dataset"], *result["files"]])
    return per_day


def _fx_rows(day: date, loaded_at: datetime) -> list[tuple]:
    if day.weekday() >= 5:  # no ECB rate on weekends: the as-of join uses Friday's
        return []
    wiggle = 1 + (day.toordinal() % 7) / 1000
    return [
        (day, "EUR", cur, round(rate * wiggle, 6), "test", loaded_at, f"fx/{day}.json", loaded_at)
        for cur, rate in FX_BASE.items()
    ]


def _load_day(
    path: Path, lake: Path, files: list[list[str]], day: date, loaded_at: datetime
) -> None:
    """Append one day's curated files and FX rates to the raw tables, stamped as the loader
    stamps them (_source_file = the curated key, _loaded_at = this load)."""
    with duckdb.connect(str(path)) as con:
        for dataset, *keys in files:
            for key in keys:
                con.execute(
                    f'insert into "RAW"."{RAW_TABLE[dataset].upper()}" by name '
                    "select *, ? as _source_file, ? as _loaded_at "
                    "from read_parquet(?, hive_partitioning = false)",
                    [key, loaded_at, str(lake / key)],
                )
        rows = _fx_rows(day, loaded_at)
        if rows:
            con.executemany('insert into "RAW"."FX_RATES" values (?, ?, ?, ?, ?, ?, ?, ?)', rows)


def _build(settings, target: Path, *extra: str) -> None:
    proc = run_dbt(
        [*BUILD, *extra],
        settings,
        check=False,
        capture_output=True,
        env={"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs")},
    )
    assert proc.returncode == 0, proc.stdout[-4000:]


def _compared_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    marts = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = 'ANALYTICS' "
        "and table_type = 'BASE TABLE' order by 2"
    ).fetchall()
    return [*marts, *(("STAGING", name) for name in INTERMEDIATES)]


def _differences(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """Rows only in the incremental build and rows only in the full refresh (max 10 each)."""
    inc, ref = f'"{schema}"."{table}"', f'ref."{schema}"."{table}"'
    out = []
    for label, a, b in (("only incremental", inc, ref), ("only full refresh", ref, inc)):
        rows = con.execute(f"select * from {a} except all select * from {b} limit 10").fetchall()
        out += [f"{table} {label}: {row}" for row in rows]
    return out


def _scd2_problems(con: duckdb.DuckDBPyConnection, catalog: str, expected_rows: int) -> list[str]:
    dim = f'{catalog}."ANALYTICS".dim_customers'
    problems = []
    (overlaps,) = con.execute(
        f"select count(*) from {dim} a join {dim} b on a.customer_id = b.customer_id "
        "and a.customer_sk <> b.customer_sk "
        "and a.valid_from < coalesce(b.valid_to, timestamp '9999-12-31') "
        "and b.valid_from < coalesce(a.valid_to, timestamp '9999-12-31')"
    ).fetchone()
    if overlaps:
        problems.append(f"{catalog}: {overlaps} overlapping versions")
    (not_one,) = con.execute(
        f"select count(*) from (select customer_id from {dim} group by 1 "
        "having sum(case when is_current then 1 else 0 end) <> 1)"
    ).fetchone()
    if not_one:
        problems.append(f"{catalog}: {not_one} customers without exactly one current row")
    (rows,) = con.execute(f"select count(*) from {dim}").fetchone()
    if rows != expected_rows:
        problems.append(f"{catalog}: {rows} versions, manifest says {expected_rows}")
    return problems


def play_and_compare(tmp: Path, raw_data, seed: int) -> None:
    rng = random.Random(seed)
    days = rng.randint(3, 4)
    orders = rng.randint(150, 300)
    gen_dir, lake = tmp / "gen", tmp / "lake"
    manifest = generate(gen_dir, GenerateConfig(orders=orders, seed=seed, days=days))
    per_day = _cleanse(gen_dir, lake, manifest)

    path = raw_data.create_warehouse(tmp / "warehouse.duckdb")
    settings = load_settings(warehouse_path=path, dbt_target="local", home=tmp / "home")
    target = tmp / "target"  # shared by every build: dbt re-parses partially
    for k, (day, files) in enumerate(sorted(per_day.items())):
        # a load a few hours after the day, at a random minute: strictly increasing stamps
        loaded_at = datetime.fromisoformat(day) + timedelta(
            days=1, hours=2, minutes=rng.randint(0, 59)
        )
        _load_day(path, lake, files, date.fromisoformat(day), loaded_at)
        _build(settings, target)
        assert k == 0 or "delete from" in _run_sql(target, "int_orders__daily_revenue")

    # same folder: the same deployment's PII key (it lives next to the warehouse file)
    reference = tmp / "reference.duckdb"
    shutil.copyfile(path, reference)
    _build(settings.model_copy(update={"warehouse_path": reference}), target, "--full-refresh")

    expected_versions = (
        manifest["final"]["customers"]["customers"] + manifest["final"]["customers"]["change_rows"]
    )
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute(f"attach '{reference}' as ref (read_only)")  # catalog "ref"
        tables = _compared_tables(con)
        assert {
            "fct_orders",
            "fct_daily_revenue",
            "dim_customers",
            "dim_customer_rfm",
            "fct_cohort_retention",
            "fct_product_performance",
        } <= {t for _, t in tables}
        (lines,) = con.execute('select count(*) from "ANALYTICS".fct_orders').fetchone()
        assert lines == manifest["final"]["orders"]["order_lines"]
        diffs = [d for schema, table in tables for d in _differences(con, schema, table)]
        assert not diffs, "\n".join(diffs)
        problems = _scd2_problems(con, "warehouse", expected_versions)
        problems += _scd2_problems(con, "ref", expected_versions)
        assert not problems, problems


def _run_sql(target: Path, model: str) -> str:
    """The SQL dbt ran for `model` in the latest build (lower case)."""
    return next((target / "run").rglob(f"{model}.sql")).read_text().lower()


def test_incremental_builds_equal_a_full_refresh(tmp_path, raw_data):
    play_and_compare(tmp_path, raw_data, seed=7)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 23])
def test_incremental_builds_equal_a_full_refresh_more_seeds(tmp_path, raw_data, seed):
    play_and_compare(tmp_path, raw_data, seed=seed)
