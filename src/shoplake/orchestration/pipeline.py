"""What the DAG tasks do, as plain functions of (business day, settings).

The DAG files in ``dags/`` only wire these together, so the DAG module stays light to parse
and the logic runs (and is tested) without a scheduler. Every function is idempotent for its
business day: a rerun rewrites the same keys or finds them already there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from shoplake import aws, lake
from shoplake.settings import ROOT, Settings
from shoplake_contract import glue
from shoplake_contract.datasets import JOB_DATASETS
from shoplake_contract.ids import object_version
from shoplake_contract.keys import dataset_of_key

log = logging.getLogger(__name__)

#: Where daily batches are found by default: ``<batch_root>/day=YYYY-MM-DD/``.
DEFAULT_BATCH_ROOT = ROOT / "data" / "sample"


class PipelineError(RuntimeError):
    """A step's result is not acceptable (the task fails, nothing downstream runs)."""


def business_day(data_interval_start: datetime) -> date:
    """The business day a daily run is keyed on: the date of its data interval start (UTC)."""
    return data_interval_start.astimezone(UTC).date()


def batch_root(settings: Settings, override: str | None = None) -> Path:
    """The batch folder: the DAG param, else ``settings.batch_root``, else the sample data
    (``SHOPLAKE_BATCH_ROOT=/data/drops``)."""
    value = override or settings.batch_root
    path = Path(value) if value else DEFAULT_BATCH_ROOT
    return path if path.is_absolute() else ROOT / path


def batch_dir(settings: Settings, day: date, override: str | None = None) -> Path:
    return batch_root(settings, override) / f"day={day.isoformat()}"


# --- FX --------------------------------------------------------------------------------
def fetch_fx(day: date, settings: Settings) -> dict[str, Any]:
    """ECB rates for ``day`` into ``raw/fx_rates``. ``now`` is pinned to the end of the
    interval, so a rerun builds the same document under the same key ("identical": nothing
    is written) whatever day it runs; the watermark is ignored (a backfill re-asks)."""
    from shoplake.fx import fetch_rates

    end_of_day = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    result = fetch_rates(day, day, settings, ignore_watermark=True, now=end_of_day)
    summary = result.summary()
    log.info("FX for %s: %s", day, json.dumps(summary["chunks"]))
    return summary


# --- upload ----------------------------------------------------------------------------
def upload_batch(day: date, settings: Settings, root: str | None = None) -> list[dict[str, Any]]:
    """Upload the day's batch files to ``raw/`` (identical content is not uploaded again)
    and return every dataset object of the day with its S3 version: what the Glue jobs get.

    Raises :class:`FileNotFoundError` when the day's folder does not exist (the DAG turns
    that into a skip: no drop, nothing to process)."""
    from shoplake.ingest import ingest

    folder = batch_dir(settings, day, root)
    if not folder.is_dir():
        raise FileNotFoundError(f"no batch for {day}: {folder} does not exist")
    uploads = ingest([folder], settings, echo=log.info)
    s3 = aws.client("s3", settings)
    jobs = _job_datasets()
    objects = []
    for up in uploads:
        if up.key is None:
            log.warning("not a dataset file, ignored: %s (%s)", up.path, up.reason)
            continue
        dataset = dataset_of_key(up.key)
        if dataset not in jobs:
            continue
        head = s3.head_object(Bucket=settings.lake_bucket, Key=up.key)
        version = object_version(head.get("VersionId"), head["ETag"])
        objects.append({
            "dataset": dataset,
            "key": up.key,
            "uri": f"s3://{settings.lake_bucket}/{up.key}",
            "version": version,
            "source_id": lake.source_id(settings.lake_bucket, up.key, version),
            "action": up.action,
            "glue": glue_job_kwargs(dataset, up.key, version, settings),
        })
    log.info("batch %s: %s", day, json.dumps([(o["key"], o["action"]) for o in objects]))
    return objects


def glue_job_kwargs(dataset: str, key: str, version: str, settings: Settings) -> dict[str, Any]:
    """GlueJobOperator keyword arguments for one raw object: the same job and arguments the
    event path's Lambda uses (``lambdas/s3_trigger``), hence the same ``source_id`` and keys."""
    return {
        "job_name": glue.job_name(settings.glue_job_prefix, dataset),
        "script_args": glue.job_arguments(dataset, settings.lake_bucket, key, version),
    }


def _job_datasets() -> set[str]:
    return set(JOB_DATASETS)


# --- settle ----------------------------------------------------------------------------
def settle(objects: list[dict[str, Any]], settings: Settings, timeout: float = 600) -> dict[str, Any]:
    """Wait until no run for the day's objects is in flight, then check each commit point.

    The event path (S3 event -> Lambda -> Glue) may process a new upload too. Both runs write
    the same keys for the same ``source_id``, but the warehouse must not load while one of them
    is between deleting and rewriting them: wait for the ledger of these keys to be final and
    no job run active, then require a manifest of exactly this object version for each one.
    """
    from shoplake.ingest import wait

    jobs = [o for o in objects if o["dataset"] in _job_datasets()]
    if not jobs:
        return {"objects": 0, "rows_read": 0, "rows_written": 0, "rows_quarantined": 0}
    result = wait(settings, timeout=timeout, poll=1.0, echo=log.info, keys={o["key"] for o in jobs})
    if result.timed_out:
        raise PipelineError(f"runs for {len(jobs)} object(s) still in flight after {timeout:.0f}s")
    totals = {"objects": len(jobs), "rows_read": 0, "rows_written": 0, "rows_quarantined": 0,
              "duplicates_dropped": 0}
    missing = []
    for o in jobs:
        manifest = lake.manifest(settings, o["dataset"], o["source_id"])
        if not manifest or manifest.get("source_version") != o["version"]:
            missing.append(o["key"])
            continue
        for k in ("rows_read", "rows_written", "rows_quarantined", "duplicates_dropped"):
            totals[k] += int(manifest.get(k) or 0)
    if missing:
        raise PipelineError(f"no committed manifest for {missing}")
    log.info("curated data committed: %s", json.dumps(totals))
    return totals


# --- warehouse and dbt -----------------------------------------------------------------
def load_warehouse(settings: Settings) -> dict[str, Any]:
    """``shoplake load``: every committed curated file and raw FX file not loaded yet."""
    from shoplake.warehouse import load

    result = load(settings)
    return {
        "run_id": result.run_id,
        "tables": {
            t.dataset: {"files_loaded": t.files_loaded, "files_skipped": t.files_skipped,
                        "rows_loaded": t.rows_loaded, "status": t.status}
            for t in result.tables
        },
    }


def dbt(args: list[str], settings: Settings) -> dict[str, Any]:
    """``dbt <args>`` for the profile's target (raises on a non-zero exit)."""
    from shoplake.transform import run_dbt

    result = run_dbt(args, settings, capture_output=True)
    tail = result.stdout.strip().splitlines()[-3:] if result.stdout else []
    log.info("dbt %s: %s", " ".join(args), " | ".join(tail))
    return {"args": args, "returncode": result.returncode, "summary": tail[-1] if tail else ""}


# --- alerts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Alert:
    subject: str
    message: str


def success_alert(day: date, run_id: str, fx: dict[str, Any] | None, curated: dict[str, Any] | None,
                  loaded: dict[str, Any] | None, dbt_result: dict[str, Any] | None) -> Alert:
    """The daily run's summary (contract: docs/contracts.md "Alerts")."""
    curated = curated or {}
    message = {
        "pipeline": "shoplake", "event": "batch_succeeded", "dataset": None, "object": None,
        "run_id": run_id, "business_day": day.isoformat(),
        "counts": dict(curated),
        "fx": {"written": (fx or {}).get("written", [])},
        "load": (loaded or {}).get("tables"),
        "dbt": (dbt_result or {}).get("summary"),
        "error": None,
    }
    subject = (f"shoplake daily {day}: {curated.get('objects', 0)} file(s), "
               f"{curated.get('rows_written', 0)} row(s) curated")
    return Alert(subject[:100], json.dumps(message, default=str))


def failure_alert(context: dict[str, Any]) -> Alert:
    """A failed task: which, which try, where its log is, and the error."""
    ti = context["ti"]
    exc = context.get("exception")
    try:
        log_url = ti.log_url
    except Exception:  # noqa: BLE001 - a URL is nice to have, the alert is not optional
        log_url = None
    message = {
        "pipeline": "shoplake", "event": "task_failed", "dataset": None, "object": None,
        "dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": ti.task_id,
        "map_index": getattr(ti, "map_index", -1), "try_number": ti.try_number,
        "log_url": log_url, "error": f"{type(exc).__name__}: {exc}" if exc else "failed",
    }
    return Alert(f"shoplake FAILED {ti.dag_id}.{ti.task_id} (try {ti.try_number})"[:100],
                 json.dumps(message, default=str))


def publish(alert: Alert, settings: Settings, aws_conn_id: str | None = None) -> str:
    """Publish ``alert`` to the alerts topic (through the Airflow connection when given)."""
    from shoplake.orchestration.config import topic_arn

    arn = topic_arn(settings)
    if aws_conn_id:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        resp = SnsHook(aws_conn_id=aws_conn_id).publish_to_target(arn, alert.message, alert.subject)
    else:
        resp = aws.client("sns", settings).publish(TopicArn=arn, Message=alert.message, Subject=alert.subject)
    return str(resp["MessageId"])
