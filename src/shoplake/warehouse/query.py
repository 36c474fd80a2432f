"""``shoplake sql``: one read-only query against the warehouse of the current profile."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp

from shoplake.settings import Settings, get_settings
from shoplake.warehouse import connection as wc

READ_ONLY_KINDS = (exp.Query, exp.Show, exp.Describe)
READ_ONLY_COMMANDS = ("SHOW", "DESCRIBE", "DESC", "LIST", "EXPLAIN")


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


class NotReadOnly(wc.WarehouseError):
    """``shoplake sql`` runs queries only."""


def check_read_only(sql: str) -> None:
    """Refuse anything but one query (SELECT/WITH/SHOW/DESCRIBE). The local DuckDB file is
    also attached read-only; on Snowflake this check is the guard (plus the role's grants)."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="snowflake") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise NotReadOnly(f"cannot parse the query: {exc}") from exc
    if len(statements) != 1:
        raise NotReadOnly(f"expected one statement, got {len(statements)}")
    (statement,) = statements
    if isinstance(statement, READ_ONLY_KINDS):
        return
    if isinstance(statement, exp.Command) and str(statement.this).upper() in READ_ONLY_COMMANDS:
        return
    raise NotReadOnly(f"only queries are allowed, not {statement.key.upper()}")


def query(
    sql: str,
    settings: Settings | None = None,
    *,
    lock_wait_s: float = 10.0,
    native: bool = False,
) -> QueryResult:
    """Run one read-only query (Snowflake SQL; through fakesnow locally).

    ``native`` (local backend only) runs it as DuckDB SQL on the file directly: exact decimal
    aggregates (fakesnow 0.12 computes SUM/AVG of NUMBER as DOUBLE) and all of DuckDB's SQL.
    """
    check_read_only(sql)
    s = settings or get_settings()
    if native:
        return _query_native(sql, s, lock_wait_s)
    conn = wc.connect(s, read_only=True, lock_wait_s=lock_wait_s)
    try:
        cur = conn.cursor()
        wc.execute(conn, cur, sql.strip().rstrip(";"))
        columns = [d[0] for d in cur.description or []]
        rows = [tuple(r) for r in cur.fetchall()]
        cur.close()
    finally:
        conn.close()
    return QueryResult(columns, rows)


def _query_native(sql: str, s: Settings, lock_wait_s: float) -> QueryResult:
    if s.warehouse_backend != "duckdb":
        raise wc.WarehouseError("--native needs the local DuckDB warehouse (warehouse_backend duckdb)")
    import duckdb

    from shoplake.aws import s3fs_filesystem

    path = s.warehouse_file
    if not path.exists():
        raise wc.WarehouseError(f"no warehouse at {path}: run `shoplake load` first")
    con = duckdb.connect(":memory:")
    try:
        wc._attach(con, path, read_only=True, lock_wait_s=lock_wait_s)
        con.execute(f"USE {wc.DATABASE}")
        con.register_filesystem(s3fs_filesystem(s))
        cur = con.execute(sql.strip().rstrip(";"))
        columns = [d[0] for d in cur.description or []]
        rows = [tuple(r) for r in cur.fetchall()]
    finally:
        con.close()
    return QueryResult(columns, rows)


# --- output ---------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def to_json(result: QueryResult) -> str:
    records = [{c: _jsonable(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows]
    return json.dumps(records, indent=1, default=str)


def to_csv(result: QueryResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else str(v) if isinstance(v, Decimal) else _jsonable(v) for v in row])
    return buffer.getvalue()


def to_rich_table(result: QueryResult) -> Any:
    from rich.table import Table

    table = Table(show_lines=False)
    for column in result.columns:
        table.add_column(column)
    for row in result.rows:
        table.add_row(*["NULL" if v is None else str(v) for v in row])
    table.caption = f"{len(result.rows)} row(s)"
    return table
