"""shoplake daily batch: FX -> upload -> Glue cleanse -> warehouse load -> dbt build -> alert.

One run per business day D = the date of ``data_interval_start``; every task is keyed on D
and idempotent, so a rerun (clear) or a backfill (``airflow backfill create --dag-id
shoplake_daily --from-date ... --to-date ...``) gives the same result.

1. ``fetch_fx``: ECB rates for D into ``raw/fx_rates`` (same key and document on a rerun).
2. ``upload_batch``: D's files from ``<batch_root>/day=D/`` (param ``batch_root``, default
   ``data/sample``) to ``raw/<dataset>/ingest_date=D/``; identical content is not uploaded
   again. No folder for D: the run skips everything downstream (no drop, nothing to do).
3. ``wait_for_raw``: S3KeySensor (deferrable) on the uploaded objects.
4. ``cleanse``: GlueJobOperator per object (dynamic mapping), the same
   ``shoplake-cleanse-<dataset>`` jobs and arguments (``--source_uri``, ``--source_version``
   = the S3 VersionId) as the event path's Lambda; Glue's endpoint (the local job runner on
   the embedded profile) comes from the ``aws_default`` connection's ``service_config``.
5. ``settle``: a NEW upload also fires the event path (S3 event -> SQS -> Lambda -> Glue), so
   the same object version may be cleansed twice. Both runs write the same keys for the same
   ``source_id`` (contract: a replay rewrites, never duplicates), so the result does not
   change; but nothing may be loaded while one of them is mid-commit. ``settle`` waits for
   the ledger of D's keys to be final and no job run active, then requires a manifest of
   exactly that version per object. (Chosen over "upload only and wait for the ledger": the
   DAG then does not depend on the event path being deployed, and a rerun of the DAG
   re-cleanses D's files with the current job code, which the event path never does for
   unchanged content.)
6. ``load_warehouse``: ``shoplake.warehouse.load`` (COPY INTO with load history: loads
   only files not loaded yet). It and ``dbt_build`` run in the one-slot ``warehouse`` pool,
   shared with the near-real-time DAG (DuckDB allows one writer).
7. ``dbt_build``: ``dbt build`` through the dbt CLI (``shoplake.transform.run_dbt``), not
   astronomer-cosmos: cosmos is not in the lock, and one ``dbt build`` keeps dbt's own
   ordering of seeds, snapshots, models and tests.
8. ``publish_summary``: SnsPublishOperator, the run's counts to the alerts topic.

Any task that finally fails publishes a ``task_failed`` alert (task, try, log URL) to the
same topic. AWS and warehouse steps retry with exponential backoff. Top-level code only
builds the DAG: settings are read inside the tasks.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.sns import SnsPublishOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk import Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

log = logging.getLogger(__name__)

DAG_ID = "shoplake_daily"
AWS_CONN_ID = "aws_default"
#: one slot (created by `shoplake up`): DuckDB allows one writer; the NRT DAG writes too
WAREHOUSE_POOL = "warehouse"

#: exponential backoff for the steps that talk to AWS or the warehouse
BACKOFF: dict[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(seconds=5),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=5),
}


def _settings() -> Any:
    from shoplake.settings import get_settings

    return get_settings()


def _uri(obj: dict[str, Any]) -> str:
    return str(obj["uri"])


def _glue_kwargs(obj: dict[str, Any]) -> dict[str, Any]:
    return dict(obj["glue"])


def alert_failure(context: dict[str, Any]) -> None:
    """on_failure_callback: publish a ``task_failed`` alert; never raises."""
    try:
        from shoplake.orchestration.pipeline import failure_alert, publish

        publish(failure_alert(context), _settings(), aws_conn_id=AWS_CONN_ID)
    except Exception:
        log.exception("could not publish the failure alert")


@dag(
    dag_id=DAG_ID,
    # the run for day D starts when D is over and covers [D, D+1): data_interval_start = D
    # (plain "@daily" is a CronTriggerTimetable in Airflow 3: a zero-length interval at the
    # run's start, i.e. the day that has only just begun)
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,  # backfills are explicit (airflow backfill create / shoplake run batch)
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args={
        "owner": "data-platform",
        "retries": 1,
        "retry_delay": timedelta(seconds=10),
        "on_failure_callback": alert_failure,
    },
    params={
        "batch_root": Param(
            None, type=["null", "string"],
            description="Folder holding day=YYYY-MM-DD/ batch folders (default: data/sample).",
        ),
    },
    tags=["shoplake", "batch", "daily"],
    doc_md=__doc__,
)
def shoplake_daily() -> None:
    @task(**BACKOFF)
    def fetch_fx(data_interval_start: datetime | None = None) -> dict[str, Any]:
        from shoplake.orchestration.pipeline import business_day, fetch_fx

        assert data_interval_start is not None
        return fetch_fx(business_day(data_interval_start), _settings())

    @task(**BACKOFF)
    def upload_batch(params: dict[str, Any] | None = None,
                     data_interval_start: datetime | None = None) -> list[dict[str, Any]]:
        from airflow.sdk.exceptions import AirflowSkipException

        from shoplake.orchestration.pipeline import business_day, upload_batch

        assert data_interval_start is not None
        settings = _settings()
        try:
            return upload_batch(business_day(data_interval_start), settings,
                                (params or {}).get("batch_root"))
        except FileNotFoundError as exc:
            raise AirflowSkipException(str(exc)) from exc

    fx = fetch_fx()
    batch = upload_batch()
    fx >> batch

    wait_for_raw = S3KeySensor(
        task_id="wait_for_raw",
        bucket_key=batch.map(_uri),
        aws_conn_id=AWS_CONN_ID,
        deferrable=True,
        poke_interval=2,
        timeout=300,
    )

    cleanse = GlueJobOperator.partial(
        task_id="cleanse",
        aws_conn_id=AWS_CONN_ID,
        wait_for_completion=True,
        deferrable=True,  # the triggerer polls the run: no worker slot held while Glue runs
        waiter_delay=3,
        waiter_max_attempts=1200,
        verbose=False,
        job_poll_interval=2,
        stop_job_run_on_kill=True,
        map_index_template="{{ task.script_args['--source_uri'].rsplit('/', 1)[-1] }}",
        **BACKOFF,
    ).expand_kwargs(batch.map(_glue_kwargs))

    @task(**BACKOFF)
    def settle(objects: list[dict[str, Any]]) -> dict[str, Any]:
        from shoplake.orchestration.pipeline import settle

        return settle(objects, _settings())

    @task(pool=WAREHOUSE_POOL, **BACKOFF)
    def load_warehouse() -> dict[str, Any]:
        from shoplake.orchestration.pipeline import load_warehouse

        return load_warehouse(_settings())

    @task(pool=WAREHOUSE_POOL, **BACKOFF)
    def dbt_build() -> dict[str, Any]:
        from shoplake.orchestration.pipeline import dbt

        return dbt(["build"], _settings())

    @task(multiple_outputs=True)
    def summary(fx: dict[str, Any], curated: dict[str, Any], loaded: dict[str, Any],
                built: dict[str, Any], data_interval_start: datetime | None = None,
                run_id: str | None = None) -> dict[str, str]:
        from shoplake.orchestration.config import topic_arn
        from shoplake.orchestration.pipeline import business_day, success_alert

        assert data_interval_start is not None
        alert = success_alert(business_day(data_interval_start), str(run_id), fx, curated,
                              loaded, built)
        return {"topic_arn": topic_arn(_settings()), "subject": alert.subject,
                "message": alert.message}

    curated = settle(batch)
    wait_for_raw >> cleanse >> curated
    loaded = load_warehouse()
    built = dbt_build()
    curated >> loaded >> built
    info = summary(fx, curated, loaded, built)

    SnsPublishOperator(
        task_id="publish_summary",
        target_arn=info["topic_arn"],
        subject=info["subject"],
        message=info["message"],
        aws_conn_id=AWS_CONN_ID,
        **BACKOFF,
    )


shoplake_daily()
