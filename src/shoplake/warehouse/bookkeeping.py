"""Bookkeeping statements of the loader (``warehouse/load_bookkeeping.sql``): ledger,
``RAW.PIPELINE_RUNS``, table columns, section runner and transactions."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from shoplake.warehouse import connection as wc
from shoplake.warehouse.results import TableLoad
from shoplake.warehouse.sqlfiles import section_statements

log = logging.getLogger(__name__)

COPY_SQL = "stage_and_copy.sql"
BOOK_SQL = "load_bookkeeping.sql"


def run(conn: Any, cur: Any, file_name: str, section: str, params: Sequence[Any] | None = None) -> None:
    for sql in section_statements(file_name, section):
        wc.execute(conn, cur, sql, params)


@contextlib.contextmanager
def transaction(conn: Any) -> Iterator[Any]:
    """``BEGIN`` … ``COMMIT`` on a fresh cursor; ``ROLLBACK`` on any error (the original
    error is re-raised), and the cursor is closed either way."""
    cur = conn.cursor()
    try:
        wc.execute(conn, cur, "BEGIN")
        yield cur
        wc.execute(conn, cur, "COMMIT")
    except BaseException:
        try:
            wc.execute(conn, cur, "ROLLBACK")
        except Exception:  # the original error matters more
            log.exception("rollback failed")
        raise
    finally:
        cur.close()


def ledger(conn: Any, dataset: str) -> dict[str, tuple[str | None, str | None]]:
    cur = conn.cursor()
    try:
        run(conn, cur, BOOK_SQL, "ledger_for_dataset", [dataset])
        return {row[0]: (row[1], row[2]) for row in cur.fetchall()}
    finally:
        cur.close()


def table_columns(conn: Any, table_name: str) -> dict[str, str]:
    """``{column: Snowflake data type}`` of ``RAW.<table_name>``."""
    cur = conn.cursor()
    try:
        run(conn, cur, BOOK_SQL, "table_columns", [table_name])
        columns = {row[0]: row[1] for row in cur.fetchall()}
    finally:
        cur.close()
    if not columns:
        raise RuntimeError(f"table RAW.{table_name} not found")
    return columns


def record_run(conn: Any, run_id: str, t: TableLoad) -> None:
    cur = conn.cursor()
    try:
        run(
            conn,
            cur,
            BOOK_SQL,
            "record_run",
            [
                run_id,
                "load",
                t.dataset,
                t.rows_in,
                t.rows_loaded,
                t.rows_quarantined,
                t.files_loaded,
                t.files_skipped,
                t.started_at,
                t.ended_at,
                t.status,
                t.detail[:4000] or None,
            ],
        )
    finally:
        cur.close()
