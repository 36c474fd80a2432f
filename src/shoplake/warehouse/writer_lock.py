"""One writer at a time, across processes.

DuckDB allows a single writing process per database file; the CLI, the demo and Airflow's
tasks (daily and near-real-time DAGs) all write through :func:`shoplake.warehouse.load`
and :func:`shoplake.transform.run_dbt`. Both take this lock, so they queue instead of
failing on DuckDB's file lock. On Snowflake there is no such limit and the lock is a no-op
(the backend object decides: :meth:`shoplake.warehouse.backends.Warehouse.writer_lock`).
"""

from __future__ import annotations

import contextlib

from shoplake.settings import Settings
from shoplake.warehouse.backends import WriterLockTimeout, backend

__all__ = ["WriterLockTimeout", "writer_lock"]


def writer_lock(
    settings: Settings, timeout: float = 1800.0, what: str = "write"
) -> contextlib.AbstractContextManager[None]:
    return backend(settings).writer_lock(timeout, what)
