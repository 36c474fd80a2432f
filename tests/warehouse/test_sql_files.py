"""The warehouse SQL files are Snowflake SQL: they parse with sqlglot's snowflake dialect,
as written and rendered, and the templating cannot inject SQL."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from shoplake.warehouse import sqlfiles

SQL_FILES = sorted(p.name for p in sqlfiles.SQL_DIR.glob("*.sql"))
#: Account objects (warehouse, roles, grants, storage integration): sqlglot has no grammar for
#: them (it returns an opaque Command); tests/warehouse/test_setup.py checks that file.
PARSED_FILES = [f for f in SQL_FILES if f != "account.sql"]
VARIABLES = {"lake_bucket": "shoplake-lake", "file": "order_date=2026-01-01/0123456789abcdef-0.parquet"}


def test_the_sql_files_exist() -> None:
    assert {"create_tables.sql", "stage_and_copy.sql", "load_bookkeeping.sql"} <= set(SQL_FILES)


@pytest.mark.parametrize("name", PARSED_FILES)
def test_every_statement_parses_as_snowflake(name: str) -> None:
    statements = sqlfiles.split(sqlfiles.read_sql(name))
    assert statements, name
    for raw in statements:
        for statement in (raw, sqlfiles.render(raw, **VARIABLES)):
            parsed = sqlglot.parse_one(statement, read="snowflake")
            # a statement sqlglot does not understand comes back as an opaque Command
            assert not isinstance(parsed, exp.Command), statement


def test_create_tables_matches_the_contract() -> None:
    statements = sqlfiles.split(sqlfiles.read_sql("create_tables.sql"))
    tables = {}
    for statement in statements:
        parsed = sqlglot.parse_one(statement, read="snowflake")
        if isinstance(parsed, exp.Create) and parsed.kind == "TABLE":
            schema = parsed.this
            name = schema.this.sql("snowflake")
            tables[name] = {c.name.lower(): c.args["kind"].sql("snowflake") for c in schema.expressions}
    assert set(tables) >= {
        f"SHOPLAKE.RAW.{t}" for t in ("ORDERS", "CUSTOMERS", "PRODUCTS", "FX_RATES", "PIPELINE_RUNS")
    }
    orders = tables["SHOPLAKE.RAW.ORDERS"]
    assert list(orders) == [
        "order_id", "line_number", "customer_id", "product_id", "quantity", "unit_price",
        "currency", "status", "order_ts", "updated_at", "line_amount", "source_object",
        "_source_file", "_loaded_at",
    ]
    assert orders["unit_price"] == "DECIMAL(18, 2)"  # sqlglot's spelling of NUMBER(18, 2)
    assert orders["order_ts"] == "TIMESTAMPNTZ"
    assert tables["SHOPLAKE.RAW.FX_RATES"]["rate"] == "DECIMAL(18, 8)"
    for name, columns in tables.items():
        if name.split(".")[-1] in ("ORDERS", "CUSTOMERS", "PRODUCTS", "FX_RATES"):
            assert {"_source_file", "_loaded_at"} <= set(columns), name


def test_every_dataset_has_its_copy_sections() -> None:
    names = set(sqlfiles.sections(sqlfiles.read_sql("stage_and_copy.sql")))
    for dataset in ("orders", "customers", "products"):
        assert {f"copy_{dataset}", f"copy_{dataset}_replace", f"stamp_{dataset}", f"forget_{dataset}"} <= names
    copy = sqlfiles.section_statements("stage_and_copy.sql", "copy_orders", file=VARIABLES["file"])
    assert len(copy) == 1
    parsed = sqlglot.parse_one(copy[0], read="snowflake")
    assert isinstance(parsed, exp.Copy)
    text = copy[0].upper()
    assert "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE" in text
    assert "FORCE" not in text  # load history must be able to skip files
    assert f"FILES = ('{VARIABLES['file'].upper()}')" in text


def test_stage_points_at_the_curated_zone_with_an_integration() -> None:
    (_fmt, stage) = sqlfiles.section_statements("stage_and_copy.sql", "setup", lake_bucket="my-lake")
    assert "URL = 's3://my-lake/curated/'" in stage
    assert "STORAGE_INTEGRATION = SHOPLAKE_S3" in stage


@pytest.mark.parametrize(
    "value", ["x') FILE_FORMAT = (TYPE = CSV", "a b", "it's", "back\\slash", "", "x;DROP TABLE t"]
)
def test_render_refuses_unsafe_values(value: str) -> None:
    with pytest.raises(sqlfiles.SqlTemplateError):
        sqlfiles.render("COPY INTO t FROM @s FILES = ('{{ file }}')", file=value)


def test_render_requires_every_variable() -> None:
    with pytest.raises(sqlfiles.SqlTemplateError, match="lake_bucket"):
        sqlfiles.render("URL = 's3://{{ lake_bucket }}/curated/'")


def test_split_keeps_semicolons_inside_strings_and_drops_comments() -> None:
    statements = sqlfiles.split("-- a; comment\nSELECT 'a;b';\n/* x; */ SELECT 2;")
    assert [s.rstrip(";").strip() for s in statements] == ["SELECT 'a;b'", "SELECT 2"]
