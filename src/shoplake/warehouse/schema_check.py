"""Schema drift check: a curated Parquet file must have exactly the raw table's data columns,
with compatible types.

COPY ... MATCH_BY_COLUMN_NAME silently ignores extra file columns and loads NULL into table
columns the file lacks; the loader checks the Parquet footer first and refuses the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Columns the loader sets itself (not in the curated files).
LOAD_METADATA_COLUMNS = frozenset({"_source_file", "_loaded_at"})

_INTEGER = r"(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT))"
#: Snowflake table type (INFORMATION_SCHEMA.COLUMNS.DATA_TYPE) -> Parquet types (as DuckDB
#: names them) that load into it without loss. Money as FLOAT/DOUBLE is drift, not a match.
COMPATIBLE: dict[str, re.Pattern[str]] = {
    "TEXT": re.compile(r"^VARCHAR$"),
    "NUMBER": re.compile(rf"^({_INTEGER}|DECIMAL\(\d+,\s*\d+\))$"),
    "TIMESTAMP_NTZ": re.compile(r"^TIMESTAMP(_NS|_MS|_S| WITH TIME ZONE)?$"),
    "BOOLEAN": re.compile(r"^BOOLEAN$"),
    "DATE": re.compile(r"^DATE$"),
}


class SchemaDriftError(ValueError):
    """A curated file's columns differ from its raw table's."""

    def __init__(
        self,
        table: str,
        url: str,
        extra: list[str],
        missing: list[str],
        mistyped: list[tuple[str, str, str]] | None = None,
    ) -> None:
        self.table, self.url, self.extra, self.missing = table, url, extra, missing
        self.mistyped = mistyped or []
        parts = []
        if extra:
            cols = ", ".join(repr(c) for c in extra)
            parts.append(f"new column(s) {cols} not in table {table}")
        if missing:
            cols = ", ".join(repr(c) for c in missing)
            parts.append(f"column(s) {cols} of table {table} missing from the file")
        for name, file_type, table_type in self.mistyped:
            parts.append(f"column {name!r} is {file_type} in the file but {table_type} in {table}")
        super().__init__(
            f"schema drift in {url}: {'; '.join(parts)}. Nothing was loaded for this table: add "
            "the column to warehouse/create_tables.sql (and dbt) or fix the job, then rerun."
        )


def parquet_columns(duck: Any, url: str) -> dict[str, str]:
    """``{column: DuckDB type}`` stored in a Parquet file (footer only; no hive partition keys)."""
    escaped = url.replace("'", "''")
    rows = duck.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{escaped}', hive_partitioning = false)"
    ).fetchall()
    return {r[0]: str(r[1]) for r in rows}


def compare(
    table: str, url: str, table_columns: Mapping[str, str], file_columns: Mapping[str, str]
) -> None:
    """Raise :class:`SchemaDriftError` unless the file has exactly the table's data columns
    (names case-insensitive, load metadata columns excluded) with compatible types."""
    expected = {c.lower(): t.upper() for c, t in table_columns.items()}
    for column in LOAD_METADATA_COLUMNS:
        expected.pop(column, None)
    actual = {c.lower(): t.upper() for c, t in file_columns.items()}
    extra = sorted(set(actual) - set(expected))
    missing = sorted(set(expected) - set(actual))
    mistyped = []
    for name in sorted(set(actual) & set(expected)):
        pattern = COMPATIBLE.get(expected[name])
        if pattern is not None and not pattern.match(actual[name]):
            mistyped.append((name, actual[name], expected[name]))
    if extra or missing or mistyped:
        raise SchemaDriftError(table, url, extra, missing, mistyped)
