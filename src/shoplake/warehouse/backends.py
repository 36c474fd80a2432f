"""The warehouse of each backend, as one object: connect, writer lock, dbt environment,
native query. :func:`backend` picks it from ``settings.warehouse_backend``, which the profile
functions of :mod:`shoplake.settings` choose (the way dagster's ``project_fully_featured``
picks its resources per deployment); no other module tests the backend by value.

- :class:`LocalWarehouse` (``duckdb``): fakesnow in-process on the DuckDB file
  ``Settings.warehouse_file``; one writer process at a time (a file lock), readers attached
  READ_ONLY and locked down; ``--native`` queries run as DuckDB SQL on the file.
- :class:`SnowflakeWarehouse` (``snowflake``): snowflake-connector-python with credentials
  from the environment or Secrets Manager; no writer lock (Snowflake has no such limit), no
  native mode, account objects (roles, storage integration) deployed with the tables.

The details of both connections: :mod:`shoplake.warehouse.connection`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from shoplake import private
from shoplake.settings import Settings

log = logging.getLogger(__name__)

DATABASE = "SHOPLAKE"
DEFAULT_SCHEMA = "RAW"
#: Default statement timeout (seconds) for both backends.
STATEMENT_TIMEOUT_S = 1800.0
CREDENTIAL_KEYS = ("account", "user", "password", "role", "warehouse")


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or a statement failed in a way the caller must see."""


class WarehouseBusy(WarehouseError):
    """Another process holds the DuckDB writer lock."""


class StatementTimeout(WarehouseError):
    """A statement ran longer than its timeout and was interrupted."""


class WriterLockTimeout(TimeoutError):
    pass


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
    conn.shoplake_s3fs = s3fs  # see connection.s3_filesystem()
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


@contextlib.contextmanager
def _file_writer_lock(path: Path, timeout: float, what: str) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, waiting up to ``timeout`` seconds."""
    private.private_dir(path.parent)
    with open(path, "a+") as fh:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    log.info(
                        "warehouse busy: waiting for the other writer", extra={"ctx": {"op": what}}
                    )
                    waited = True
                if time.monotonic() > deadline:
                    raise WriterLockTimeout(
                        f"warehouse writer lock {path} not free after {timeout:.0f}s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- Snowflake ----------------------------------------------------------------------------
def snowflake_credentials(
    env: dict[str, str] | None = None, settings: Settings | None = None
) -> dict[str, str]:
    """Connection keywords from ``SNOWFLAKE_*`` variables, else the secret ``SNOWFLAKE_SECRET_ID``."""
    env = dict(os.environ if env is None else env)
    creds = {
        k: env[f"SNOWFLAKE_{k.upper()}"]
        for k in CREDENTIAL_KEYS
        if env.get(f"SNOWFLAKE_{k.upper()}")
    }
    secret_id = env.get("SNOWFLAKE_SECRET_ID")
    if secret_id:
        from shoplake.aws import client

        secret = json.loads(
            client("secretsmanager", settings).get_secret_value(SecretId=secret_id)["SecretString"]
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


# --- one object per backend ---------------------------------------------------------------
class Warehouse:
    """What differs between the backends; everything else (SQL files, loader, dbt project)
    is the same for both."""

    #: the PII key lives in Secrets Manager (a real deployment), not in the state folder
    pii_key_in_secrets_manager: ClassVar[bool] = False
    #: roles, grants and the storage integration are deployed with the tables
    has_account_objects: ClassVar[bool] = False
    #: statements run as DuckDB SQL underneath (fakesnow translates them)
    runs_duckdb: ClassVar[bool] = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def connect(self, *, read_only: bool = False, lock_wait_s: float = 30.0) -> Any:
        raise NotImplementedError

    def writer_lock(
        self, timeout: float = 1800.0, what: str = "write"
    ) -> contextlib.AbstractContextManager[None]:
        """Held by every writer (load, dbt, report): they queue instead of failing."""
        return contextlib.nullcontext()

    def native_connection(self, lock_wait_s: float = 10.0) -> Any:
        """A connection that runs the engine's own SQL, read-only (``shoplake sql --native``)."""
        raise WarehouseError("--native needs the local DuckDB warehouse (warehouse_backend duckdb)")

    def dbt_env(self) -> dict[str, str]:
        """Variables dbt/profiles.yml reads for this backend's target."""
        return {
            "SHOPLAKE_WAREHOUSE_PATH": str(Path(self.settings.warehouse_file).resolve()),
            "SHOPLAKE_DBT_TARGET": self.settings.dbt_target,
        }


class LocalWarehouse(Warehouse):
    """DuckDB file behind fakesnow (embedded and compose profiles)."""

    runs_duckdb = True

    def connect(self, *, read_only: bool = False, lock_wait_s: float = 30.0) -> Any:
        return _connect_fakesnow(self.settings, read_only=read_only, lock_wait_s=lock_wait_s)

    def writer_lock(
        self, timeout: float = 1800.0, what: str = "write"
    ) -> contextlib.AbstractContextManager[None]:
        # DuckDB allows one writing process per file
        path = self.settings.warehouse_file.with_suffix(".writer.lock")
        return _file_writer_lock(path, timeout, what)

    def native_connection(self, lock_wait_s: float = 10.0) -> Any:
        """A plain DuckDB connection on the warehouse file: attached READ_ONLY, current
        database SHOPLAKE, locked down (:func:`lock_down`); close it when done."""
        import duckdb

        path = self.settings.warehouse_file
        if not path.exists():
            raise WarehouseError(f"no warehouse at {path}: run `shoplake load` first")
        con = duckdb.connect(":memory:")
        try:
            _attach(con, path, read_only=True, lock_wait_s=lock_wait_s)
            con.execute(f"USE {DATABASE}")
            lock_down(con)
        except BaseException:
            con.close()
            raise
        return con

    def dbt_env(self) -> dict[str, str]:
        # dbt-duckdb may create the warehouse file: its folder is private (raw PII)
        private.private_dir(Path(self.settings.warehouse_file).parent)
        return super().dbt_env()


class SnowflakeWarehouse(Warehouse):
    """Real Snowflake (aws profile)."""

    pii_key_in_secrets_manager = True
    has_account_objects = True

    def connect(self, *, read_only: bool = False, lock_wait_s: float = 30.0) -> Any:
        # read-only is the role's grants on Snowflake; there is no file lock to wait for
        return _connect_snowflake(self.settings)


#: one warehouse class per ``settings.warehouse_backend``
BACKENDS: dict[str, type[Warehouse]] = {"duckdb": LocalWarehouse, "snowflake": SnowflakeWarehouse}


def backend(settings: Settings) -> Warehouse:
    """The warehouse object of ``settings``' profile."""
    return BACKENDS[settings.warehouse_backend](settings)
