"""DB-API connections to the warehouse of the current profile.

Snowflake (:class:`~shoplake.warehouse.backends.SnowflakeWarehouse`): snowflake-connector-python; credentials come from the
environment (``SNOWFLAKE_ACCOUNT``, ``SNOWFLAKE_USER``, ``SNOWFLAKE_PASSWORD``, ``SNOWFLAKE_ROLE``,
``SNOWFLAKE_WAREHOUSE``) or from a Secrets Manager secret named by ``SNOWFLAKE_SECRET_ID`` (a JSON
object with the same keys in lower case), never from code.

DuckDB (:class:`~shoplake.warehouse.backends.LocalWarehouse`): fakesnow in-process on the DuckDB file
``Settings.warehouse_file`` (default ``<home>/warehouse.duckdb``). fakesnow normally maps a
Snowflake database ``X`` to ``<db_path>/X.db``; instead this module ATTACHes
``warehouse_file`` itself under the alias ``SHOPLAKE`` before fakesnow sees the connection, so
the single file holds database SHOPLAKE and its schemas ``RAW``, ``STAGING``, ``ANALYTICS``,
``SNAPSHOTS`` (plus fakesnow's ``_fs_information_schema``: load history, info-schema views).

dbt-duckdb opens the SAME file: ``path: <Settings.warehouse_file>`` in profiles.yml. There the
catalog is named after the file stem (``warehouse``), the schemas are the same (``raw``,
``staging``, ``analytics``, ``snapshots``; DuckDB matches identifiers case-insensitively, they are
stored upper-case as Snowflake does). DuckDB allows ONE writer process at a time: readers open
read-only (:func:`connect` ``read_only=True``) and may only do so while no writer holds the file.

fakesnow keeps stages and file formats in an in-memory catalog: they live for one connection,
so the loader re-runs the ``setup`` section of ``stage_and_copy.sql`` at every session.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Sequence
from typing import Any

from shoplake.settings import Settings, get_settings

# the backend-specific parts live in backends; their names stay importable from here
from shoplake.warehouse.backends import (  # noqa: F401 - re-exported
    CREDENTIAL_KEYS,
    DATABASE,
    DEFAULT_SCHEMA,
    LOCK_DOWN_SQL,
    STATEMENT_TIMEOUT_S,
    StatementTimeout,
    WarehouseBusy,
    WarehouseError,
    _attach,
    backend,
    lock_down,
    snowflake_credentials,
)

log = logging.getLogger(__name__)

# fakesnow's DB-API fetch goes through Arrow; DuckDB warns about the extra copy on every fetch.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)


def connect(
    settings: Settings | None = None,
    *,
    read_only: bool = False,
    lock_wait_s: float = 30.0,
) -> Any:
    """A DB-API connection to database SHOPLAKE (qmark paramstyle); close it when done.

    ``read_only`` opens the local DuckDB file read-only (it needs no writer lock, but DuckDB
    refuses it while another process writes: this waits up to ``lock_wait_s`` seconds) and
    locks the session down (:func:`lock_down`): no file, network or extension access.
    """
    return backend(settings or get_settings()).connect(read_only=read_only, lock_wait_s=lock_wait_s)


def s3_filesystem(conn: Any) -> Any | None:
    """The s3fs filesystem through which a fakesnow connection's COPY reads ``s3://`` (None
    for real Snowflake and for readers)."""
    return getattr(conn, "shoplake_s3fs", None)


def duck_connection(conn: Any) -> Any | None:
    """The DuckDB connection under a fakesnow connection (None for real Snowflake)."""
    return getattr(conn, "_duck_conn", None)


# --- statements ---------------------------------------------------------------------------
def execute(
    conn: Any,
    cursor: Any,
    sql: str,
    params: Sequence[Any] | None = None,
    *,
    timeout_s: float = STATEMENT_TIMEOUT_S,
) -> Any:
    """Run one statement with a timeout on both backends (fakesnow: DuckDB ``interrupt()``)."""
    duck = duck_connection(conn)
    if duck is None:
        return cursor.execute(sql, params, timeout=int(timeout_s))
    import duckdb

    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        duck.interrupt()

    timer = threading.Timer(timeout_s, interrupt)
    timer.daemon = True
    timer.start()
    try:
        return cursor.execute(sql, params)
    except duckdb.InterruptException as exc:
        raise StatementTimeout(f"statement interrupted after {timeout_s}s: {sql[:200]}") from exc
    except Exception as exc:
        if fired.is_set():
            raise StatementTimeout(f"statement interrupted after {timeout_s}s: {sql[:200]}") from exc
        raise
    finally:
        timer.cancel()


def run_statements(
    conn: Any, statements: Sequence[str], *, timeout_s: float = STATEMENT_TIMEOUT_S
) -> None:
    cursor = conn.cursor()
    try:
        for sql in statements:
            log.debug("sql", extra={"ctx": {"statement": " ".join(sql.split())[:160]}})
            execute(conn, cursor, sql, timeout_s=timeout_s)
    finally:
        cursor.close()


def create_tables(conn: Any) -> None:
    """Run ``warehouse/create_tables.sql`` (idempotent)."""
    from shoplake.warehouse.sqlfiles import read_sql, split

    run_statements(conn, split(read_sql("create_tables.sql")))
