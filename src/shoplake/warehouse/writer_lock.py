"""One writer at a time, across processes.

DuckDB allows a single writing process per database file; the CLI, the demo and Airflow's
tasks (daily and near-real-time DAGs) all write through :func:`shoplake.warehouse.load`
and :func:`shoplake.transform.run_dbt`. Both take this lock, so they queue instead of
failing on DuckDB's file lock. On Snowflake there is no such limit and the lock is skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Iterator

from shoplake import private
from shoplake.settings import Settings

log = logging.getLogger(__name__)


class WriterLockTimeout(TimeoutError):
    pass


@contextlib.contextmanager
def writer_lock(settings: Settings, timeout: float = 1800.0, what: str = "write") -> Iterator[None]:
    if settings.warehouse_backend != "duckdb":
        yield
        return
    path = settings.warehouse_file.with_suffix(".writer.lock")
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
                    log.info("warehouse busy: waiting for the other writer", extra={"ctx": {"op": what}})
                    waited = True
                if time.monotonic() > deadline:
                    raise WriterLockTimeout(f"warehouse writer lock {path} not free after {timeout:.0f}s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
