"""shoplake near real time: new curated data -> warehouse load -> incremental dbt models,
minutes after a file lands instead of at the next daily run.

Trigger: the asset ``s3://<lake>/curated/`` with an AssetWatcher. The watcher's trigger is
the amazon provider's ``SqsSensorTrigger`` (a ``BaseEventTrigger``: usable by AssetWatcher
without ``apache-airflow-providers-common-messaging``, which is not in the lock). It long-polls
the ``<project>-curated-events`` queue, which gets only the ``job_succeeded`` alerts of the
event path (SNS subscription, filter policy on the message body; see
``shoplake.orchestration.nrt``). Each batch of messages becomes an asset event; the scheduler
turns pending asset events into one run (several commits arriving together give one run).

Tasks (both in the ``warehouse`` pool, one slot: DuckDB allows one writer, and the daily DAG
writes too):
1. ``load_warehouse``: ``shoplake.warehouse.load`` loads only manifests not loaded yet, so an
   extra or duplicate event costs a no-op load, never a duplicate row;
2. ``dbt_incremental``: ``dbt build --select config.materialized:incremental+`` (the
   incremental fact and what is built on it).

Top-level code reads two environment variables (set for every Airflow process by
``shoplake.orchestration.config.airflow_env``); without them the asset has no watcher (parse
anywhere, trigger nowhere).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.amazon.aws.triggers.sqs import SqsSensorTrigger
from airflow.sdk import Asset, AssetWatcher, dag, task

from shoplake_contract.keys import CURATED

log = logging.getLogger(__name__)

DAG_ID = "shoplake_near_real_time"
AWS_CONN_ID = "aws_default"
WAREHOUSE_POOL = "warehouse"
QUEUE_URL = os.environ.get("SHOPLAKE_NRT_QUEUE_URL")

curated = Asset(
    name="shoplake_curated",
    uri=os.environ.get("SHOPLAKE_NRT_ASSET_URI", f"s3://shoplake-lake/{CURATED}"),
    watchers=[
        AssetWatcher(
            name="shoplake_curated_events",
            trigger=SqsSensorTrigger(
                sqs_queue=QUEUE_URL,
                aws_conn_id=AWS_CONN_ID,
                max_messages=10,
                wait_time_seconds=5,
                waiter_delay=1,
            ),
        )
    ] if QUEUE_URL else [],
)


def alert_failure(context: dict[str, Any]) -> None:
    """on_failure_callback: publish a ``task_failed`` alert; never raises."""
    try:
        from shoplake.orchestration.pipeline import failure_alert, publish
        from shoplake.settings import get_settings

        publish(failure_alert(context), get_settings(), aws_conn_id=AWS_CONN_ID)
    except Exception:
        log.exception("could not publish the failure alert")


@dag(
    dag_id=DAG_ID,
    schedule=[curated],
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args={
        "owner": "data-platform",
        "retries": 3,
        "retry_delay": timedelta(seconds=5),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=2),
        "pool": WAREHOUSE_POOL,
        "on_failure_callback": alert_failure,
    },
    tags=["shoplake", "near-real-time", "assets"],
    doc_md=__doc__,
)
def shoplake_near_real_time() -> None:
    @task
    def load_warehouse(triggering_asset_events: Any = None) -> dict[str, Any]:
        from shoplake.orchestration.pipeline import load_warehouse
        from shoplake.settings import get_settings

        events = [e for evs in (triggering_asset_events or {}).values() for e in evs]
        log.info("triggered by %d asset event(s)", len(events))
        return load_warehouse(get_settings())

    @task
    def dbt_incremental() -> dict[str, Any]:
        from shoplake.orchestration.pipeline import dbt
        from shoplake.settings import get_settings

        return dbt(["build", "--select", "config.materialized:incremental+"], get_settings())

    load_warehouse() >> dbt_incremental()


shoplake_near_real_time()
