"""``shoplake sql``: one read-only query against the warehouse of the current profile.

Read-only by construction, not by parsing (docs/contracts.md "shoplake sql"): locally the
DuckDB file is attached READ_ONLY and the session is locked down before any user SQL runs
(:func:`shoplake.warehouse.connection.lock_down`: no file, network or extension access, no
configuration change), in both modes. The statement checks below only turn the common mistakes
into a clear message; what DuckDB would run is never decided by them. On Snowflake the check
and the analytics role's grants (SELECT only) are the guard.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
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
    """Refuse anything but one query (SELECT/WITH/SHOW/DESCRIBE), parsed as Snowflake SQL.

    On Snowflake this (plus the role's grants) is the guard; locally it only gives a clear
    message early, the locked read-only DuckDB session is the guarantee."""
    try:
        with _quiet_sqlglot():
            statements = [s for s in sqlglot.parse(sql, read="snowflake") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise NotReadOnly(f"cannot parse the query: {_first_line(exc)}") from exc
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
    s = settings or get_settings()
    if native:
        return _query_native(sql, s, lock_wait_s)
    with _quiet_sqlglot():  # fakesnow parses it again: its fallback warnings are noise here
        return _query_fakesnow(sql, s, lock_wait_s)


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    sqlglot_log = logging.getLogger("sqlglot")
    level = sqlglot_log.level
    sqlglot_log.setLevel(logging.ERROR)  # "falling back to parsing as a Command"
    try:
        yield
    finally:
        sqlglot_log.setLevel(level)


def _query_fakesnow(sql: str, s: Settings, lock_wait_s: float) -> QueryResult:
    check_read_only(sql)
    if wc.backend(s).runs_duckdb:
        _check_same_split(sql)
    # read_only: the file attached READ_ONLY and the session locked down (connection.lock_down)
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


def _check_same_split(sql: str) -> None:
    """Refuse a text that Snowflake SQL and DuckDB SQL split into different statements (``//``
    starts a comment in Snowflake, it is integer division in DuckDB): ambiguous, so refused
    rather than guessed. Only a clearer message: the locked session is the guarantee."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        duck_count = len(con.extract_statements(sql))
    except duckdb.Error:
        return  # Snowflake-only syntax DuckDB cannot split: nothing to compare
    finally:
        con.close()
    if duck_count != 1:
        raise NotReadOnly(
            f"ambiguous query: one statement as Snowflake SQL, {duck_count} as DuckDB SQL "
            "(`//` starts a comment only in Snowflake); use `--` comments"
        )


#: Statement types ``--native`` runs, as DuckDB's own parser classifies them (SELECT covers
#: WITH, FROM-first, VALUES, SHOW, DESCRIBE, SUMMARIZE).
NATIVE_KINDS = ("SELECT", "EXPLAIN")


def native_connection(s: Settings, lock_wait_s: float = 10.0) -> Any:
    """A plain DuckDB connection on the warehouse file: attached READ_ONLY, current database
    SHOPLAKE, locked down (:func:`shoplake.warehouse.connection.lock_down`); close it when done.
    Only the local backend has one (:meth:`~shoplake.warehouse.backends.Warehouse.native_connection`)."""
    return wc.backend(s).native_connection(lock_wait_s)


def _query_native(sql: str, s: Settings, lock_wait_s: float) -> QueryResult:
    import duckdb

    con = native_connection(s, lock_wait_s)
    try:
        # split by the parser of the engine that runs it: no dialect disagreement on comments
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise NotReadOnly(f"cannot parse the query: {_first_line(exc)}") from exc
        if len(statements) != 1:
            raise NotReadOnly(f"expected one statement, got {len(statements)}")
        (statement,) = statements
        kind = statement.type.name
        if kind not in NATIVE_KINDS:
            raise NotReadOnly(f"only queries are allowed, not {kind}")
        cur = con.execute(statement)
        columns = [d[0] for d in cur.description or []]
        rows = [tuple(r) for r in cur.fetchall()]
    finally:
        con.close()
    return QueryResult(columns, rows)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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


#: A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV
#: Injection": = + - @ TAB CR; ASVS 1.2.10 adds NUL).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise_cell(value: str) -> str:
    """``value`` with a leading single quote if a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        # only text: a numeric column (-5, a negative Decimal) stays a number
        return neutralise_cell(value)
    if isinstance(value, Decimal):
        return str(value)
    return _jsonable(value)


def to_csv(result: QueryResult) -> str:
    """RFC 4180 CSV; text cells neutralised against formula injection (:func:`neutralise_cell`).

    Lines end with CRLF as RFC 4180 says: then a cell holding a CR (or LF) is quoted too (the
    csv module quotes only the characters of its line terminator)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise_cell(c) for c in result.columns])
    for row in result.rows:
        writer.writerow([_csv_cell(v) for v in row])
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
