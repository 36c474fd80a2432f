"""Pure logic of the drift check (names and type families)."""

from __future__ import annotations

import pytest

from shoplake.warehouse.schema_check import SchemaDriftError, compare

TABLE = {
    "ORDER_ID": "TEXT", "QUANTITY": "NUMBER", "UNIT_PRICE": "NUMBER", "ORDER_TS": "TIMESTAMP_NTZ",
    "IS_X": "BOOLEAN", "_SOURCE_FILE": "TEXT", "_LOADED_AT": "TIMESTAMP_NTZ",
}
GOOD = {
    "order_id": "VARCHAR", "quantity": "INTEGER", "unit_price": "DECIMAL(18,2)",
    "order_ts": "TIMESTAMP", "is_x": "BOOLEAN",
}
URL = "s3://b/curated/orders/order_date=2026-01-01/x-0.parquet"


def test_matching_file_passes_whatever_the_case() -> None:
    compare("RAW.ORDERS", URL, TABLE, GOOD)
    compare("RAW.ORDERS", URL, TABLE, {k.upper(): v for k, v in GOOD.items()} | {"quantity": "BIGINT"})


def test_extra_and_missing_columns_are_named() -> None:
    drifted = {k: v for k, v in GOOD.items() if k != "quantity"} | {"channel": "VARCHAR"}
    with pytest.raises(SchemaDriftError) as info:
        compare("RAW.ORDERS", URL, TABLE, drifted)
    assert (info.value.extra, info.value.missing) == (["channel"], ["quantity"])
    assert URL in str(info.value)


def test_a_load_metadata_column_in_the_file_is_drift() -> None:
    with pytest.raises(SchemaDriftError, match="'_source_file'"):
        compare("RAW.ORDERS", URL, TABLE, GOOD | {"_source_file": "VARCHAR"})


@pytest.mark.parametrize(
    ("column", "file_type"),
    [("unit_price", "DOUBLE"), ("quantity", "VARCHAR"), ("order_id", "BIGINT"), ("order_ts", "VARCHAR")],
)
def test_incompatible_types_are_drift(column: str, file_type: str) -> None:
    with pytest.raises(SchemaDriftError, match=f"column '{column}' is {file_type} in the file"):
        compare("RAW.ORDERS", URL, TABLE, GOOD | {column: file_type})


def test_zoned_timestamps_are_accepted() -> None:
    compare("RAW.ORDERS", URL, TABLE, GOOD | {"order_ts": "TIMESTAMP WITH TIME ZONE"})
