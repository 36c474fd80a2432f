"""DB-API connections to the warehouse of the current profile.

``warehouse_backend == "snowflake"``: snowflake-connector-python; credentials come from the
environment (``SNOWFLAKE_ACCOUNT``, ``SNOWFLAKE_USER``, ``SNOWFLAKE_PASSWORD``, ``SNOWFLAKE_ROLE``,
``SNOWFLAKE_WAREHOUSE``) or from a Secrets Manager secret named by ``SNOWFLAKE_SECRET_ID`` (a JSON
object with the same keys in lower case), never from code.

``warehouse_backend == "duckdb"``: fakesnow in-process on the DuckDB file
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

import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shoplake import private
from shoplake.settings import Settings, get_settings

log = logging.getLogger(__name__)

DATABASE = "SHOPLAKE"
DEFAULT_SCHEMA = "RAW"
#: Default statement timeout (seconds) for both backends.
STATEMENT_TIMEOUT_S = 1800.0
CREDENTIAL_KEYS = ("account", "user", "password", "role", "warehouse")

# fakesnow's DB-API fetch goes through Arrow; DuckDB warns about the extra copy on every fetch.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or a statement failed in a way the caller must see."""


class WarehouseBusy(WarehouseError):
    """Another process holds the DuckDB writer lock."""


class StatementTimeout(WarehouseError):
    """A statement ran longer than its timeout and was interrupted."""


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
    s = settings or get_settings()
    if s.warehouse_backend == "snowflake":
        return _connect_snowflake(s)
    return _connect_fakesnow(s, read_only=read_only, lock_wait_s=lock_wait_s)


# --- DuckDB behind fakesnow ---------------------------------------------------------------
def _connect_fakesnow(s: Settings, *, read_only: bool, lock_wait_s: float) -> Any:
    from fakesnow import info_schema, macros
    from fakesnow.instance import FakeSnow

    from shoplake.aws import s3fs_filesystem

    path = Path(s.warehouse_file)
    if read_only and not path.exists():
        raise WarehouseError(f"no warehouse at {path}: run `shoplake load` first")
    private.private_dir(path.parent)

    fs = FakeSnow(create_database_on_connect=False, create_schema_on_connect=False)
    duck = fs.duck_conn
    s3fs = None
    try:
        _attach(duck, path, read_only=read_only, lock_wait_s=lock_wait_s)
        if not read_only:
            private.restrict([path, path.with_name(path.name + ".wal")])  # raw PII
            # what fakesnow itself runs when it creates a database (all IF NOT EXISTS / OR REPLACE)
            duck.execute(info_schema.per_db_creation_sql(DATABASE))
            duck.execute(macros.creation_sql(DATABASE))
        if not read_only:
            # COPY INTO from an s3:// stage reads through fsspec (no httpfs in this DuckDB build);
            # readers get no S3 access at all
            s3fs = s3fs_filesystem(s)
            duck.register_filesystem(s3fs)
        # schema RAW becomes current when it exists (as on Snowflake, where it is passed too)
        conn = fs.connect(database=DATABASE, schema=DEFAULT_SCHEMA, paramstyle="qmark")
        if read_only:
            lock_down(duck)
    except BaseException:
        duck.close()
        raise

    close_fakesnow = conn.close

    def close() -> None:
        # closing the fakesnow connection leaves its DuckDB instance (and the file lock) open
        try:
            close_fakesnow()
        finally:
            duck.close()

    conn.close = close
    conn.shoplake_s3fs = s3fs  # see s3_filesystem()
    log.debug("warehouse opened", extra={"ctx": {"file": path, "read_only": read_only}})
    return conn


def _attach(duck: Any, path: Path, *, read_only: bool, lock_wait_s: float) -> None:
    import duckdb

    mode = " (READ_ONLY)" if read_only else ""
    quoted = str(path).replace("'", "''")
    deadline = time.monotonic() + lock_wait_s
    delay = 0.1
    while True:
        try:
            duck.execute(f"ATTACH '{quoted}' AS {DATABASE}{mode}")
            return
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse file {path} is locked by another process (DuckDB allows one "
                    f"writer, and no readers while it writes); waited {lock_wait_s:.0f}s. "
                    f"Details: {exc}"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


#: Run, in this order, on a reader's DuckDB instance after the warehouse file is attached
#: READ_ONLY (DuckDB 2.0 "Securing DuckDB"). ``enable_external_access=false``: no reading or
#: writing of any other file (read_csv/read_text/read_blob/glob, COPY, EXPORT DATABASE, ATTACH
#: of a file), no INSTALL/LOAD of extensions, no secrets. ``python_enable_replacements=false``:
#: a query cannot scan Python objects of the calling process by name. ``lock_configuration``
#: last: no later SET/RESET/PRAGMA can undo any of it. All GLOBAL, so they hold for every
#: cursor of the instance (fakesnow runs each connection on its own cursor).
LOCK_DOWN_SQL: tuple[str, ...] = (
    "SET GLOBAL python_enable_replacements = false",
    "SET GLOBAL enable_external_access = false",
    "SET GLOBAL lock_configuration = true",
)


def lock_down(duck: Any) -> None:
    """Make a DuckDB instance read-only by construction (see :data:`LOCK_DOWN_SQL`).

    What stays possible: reading the attached warehouse, and scratch objects in DuckDB's
    in-memory catalogs (temp tables), which vanish with the process.
    """
    for statement in LOCK_DOWN_SQL:
        duck.execute(statement)


def s3_filesystem(conn: Any) -> Any | None:
    """The s3fs filesystem through which a fakesnow connection's COPY reads ``s3://`` (None
    for real Snowflake and for readers)."""
    return getattr(conn, "shoplake_s3fs", None)


def duck_connection(conn: Any) -> Any | None:
    """The DuckDB connection under a fakesnow connection (None for real Snowflake)."""
    return getattr(conn, "_duck_conn", None)


# --- Snowflake ----------------------------------------------------------------------------
def snowflake_credentials(
    env: dict[str, str] | None = None, settings: Settings | None = None
) -> dict[str, str]:
    """Connection keywords from ``SNOWFLAKE_*`` variables, else the secret ``SNOWFLAKE_SECRET_ID``."""
    env = dict(os.environ if env is None else env)
    creds = {k: env[f"SNOWFLAKE_{k.upper()}"] for k in CREDENTIAL_KEYS if env.get(f"SNOWFLAKE_{k.upper()}")}
    secret_id = env.get("SNOWFLAKE_SECRET_ID")
    if secret_id:
        from shoplake.aws import client

        secret = json.loads(
            client("secretsmanager", settings)
            .get_secret_value(SecretId=secret_id)["SecretString"]
        )
        creds = {k: str(secret[k]) for k in CREDENTIAL_KEYS if secret.get(k)} | creds
    missing = [k for k in ("account", "user", "password") if k not in creds]
    if missing:
        names = ", ".join(f"SNOWFLAKE_{k.upper()}" for k in missing)
        raise WarehouseError(f"Snowflake credentials missing: set {names} or SNOWFLAKE_SECRET_ID")
    return creds


def _connect_snowflake(s: Settings) -> Any:
    import snowflake.connector

    return snowflake.connector.connect(
        **snowflake_credentials(settings=s),
        database=DATABASE,
        schema=DEFAULT_SCHEMA,
        paramstyle="qmark",
        application="shoplake",
        login_timeout=60,
        session_parameters={
            "TIMEZONE": "UTC",
            "STATEMENT_TIMEOUT_IN_SECONDS": int(STATEMENT_TIMEOUT_S),
            "QUERY_TAG": "shoplake",
        },
    )


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
