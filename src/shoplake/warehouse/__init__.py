"""The warehouse: Snowflake (prod) or DuckDB behind fakesnow (local), same SQL files.

- :func:`connect` opens database SHOPLAKE (see :mod:`shoplake.warehouse.connection` for the
  DuckDB file that dbt-duckdb shares);
- :func:`load` runs ``shoplake load`` (curated Parquet + raw FX -> RAW tables);
- :func:`query` runs ``shoplake sql`` (read-only).
"""

from shoplake.warehouse.connection import (
    DATABASE,
    StatementTimeout,
    WarehouseBusy,
    WarehouseError,
    connect,
    create_tables,
)
from shoplake.warehouse.loader import LoadError, LoadResult, TableLoad, load
from shoplake.warehouse.query import QueryResult, query

__all__ = [
    "DATABASE",
    "LoadError",
    "LoadResult",
    "QueryResult",
    "StatementTimeout",
    "TableLoad",
    "WarehouseBusy",
    "WarehouseError",
    "connect",
    "create_tables",
    "load",
    "query",
]
