"""Read the marts the report and the dashboard show, in one short-lived read-only session.

The local warehouse is one DuckDB file with a single writer (``shoplake load``, ``dbt build``,
Airflow's tasks: :mod:`shoplake.warehouse.writer_lock`). DuckDB refuses a writer while any
reader has the file open, and the writers do not wait for readers. So a reader that lingers
(a dashboard left open) would make the next ``dbt build`` fail. The read here therefore

1. takes the writer lock itself, with a short timeout: a writer that arrives meanwhile
   queues behind it for the fraction of a second the read lasts, and a read that arrives
   during a write waits for it (or gives up and the caller keeps its last snapshot);
2. opens the file read-only and locked down (the ``shoplake sql`` path:
   :func:`shoplake.warehouse.connection.connect` ``read_only=True``), runs every query on one
   connection, copies the rows into memory and closes it before the lock is released.

Nothing of the warehouse stays open between two reads. On Snowflake there is no such limit:
the lock is a no-op and the same queries run with the analytics role.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from shoplake.settings import Settings

log = logging.getLogger(__name__)

#: name -> Snowflake SQL over the marts (dbt/models/marts). Text columns are user data: every
#: renderer escapes them.
QUERIES = {
    "revenue": """select order_date, sum(net_amount_usd) as net_usd, sum(gross_amount_usd) as gross_usd,
                         sum(order_count) as orders
                  from analytics.fct_daily_revenue group by order_date order by order_date""",
    "revenue_by_currency": """select order_date, currency_code, sum(net_amount) as net_local
                              from analytics.fct_daily_revenue group by 1, 2 order by 1, 2""",
    "top_products": """select coalesce(product_name, product_id) as product, net_revenue_usd, units_sold, return_rate
                       from analytics.fct_product_performance order by revenue_rank, product_id limit 10""",
    "rfm": """select rfm_segment, count(*) as customers from analytics.dim_customer_rfm
              group by rfm_segment order by customers desc, rfm_segment""",
    "cohorts": """select cohort_month, months_since_first_order, retention_rate
                  from analytics.fct_cohort_retention order by 1, 2""",
    "pipeline": """select run_date, stage, dataset, rows_out, rows_quarantined, quarantine_rate,
                          files_loaded, files_skipped, last_run_status
                   from analytics.fct_pipeline_health order by run_date, stage, dataset""",
}


@dataclass
class MartsSnapshot:
    """The query results, in memory: ``results[name] = (columns, rows)``; ``missing[name]``
    says why a query returned nothing (a mart not built yet)."""

    results: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    read_at: float = 0.0
    read_seconds: float = 0.0


def read_marts(settings: Settings, *, lock_timeout_s: float = 10.0) -> MartsSnapshot:
    """Every query of :data:`QUERIES` in one read-only session held under the writer lock.

    Raises :class:`shoplake.warehouse.writer_lock.WriterLockTimeout` when a writer keeps the
    warehouse longer than ``lock_timeout_s`` and
    :class:`shoplake.warehouse.connection.WarehouseError` when there is no warehouse yet."""
    from shoplake.warehouse import connection as wc
    from shoplake.warehouse.writer_lock import writer_lock

    started = time.monotonic()
    snap = MartsSnapshot()
    with writer_lock(settings, timeout=lock_timeout_s, what="read marts"):
        conn = wc.connect(settings, read_only=True, lock_wait_s=lock_timeout_s)
        try:
            for name, sql in QUERIES.items():
                cur = conn.cursor()
                try:
                    wc.execute(conn, cur, sql, timeout_s=60.0)
                    columns = [d[0].lower() for d in cur.description or []]
                    snap.results[name] = (columns, [tuple(r) for r in cur.fetchall()])
                except wc.StatementTimeout:
                    raise
                except Exception as exc:  # a mart that does not exist yet: show the others
                    reason = (
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    )
                    log.warning("mart query %s failed: %s", name, reason)
                    snap.results[name] = ([], [])
                    snap.missing[name] = reason
                finally:
                    cur.close()
        finally:
            conn.close()
    snap.read_at = time.time()
    snap.read_seconds = time.monotonic() - started
    log.debug("marts read", extra={"ctx": {"seconds": round(snap.read_seconds, 3)}})
    return snap
