"""``shoplake ingest`` (local files -> the right raw prefix) and ``shoplake wait`` (block until
every raw object is loaded or failed, then summarise)."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from shoplake import aws, lake
from shoplake.settings import Settings
from shoplake_contract import glue
from shoplake_contract import keys as lake_keys
from shoplake_contract.datasets import JOB_DATASETS, JOBLESS_DATASETS
from shoplake_contract.ids import object_version

log = logging.getLogger(__name__)
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
ACTIVE_RUN_STATES = {"STARTING", "RUNNING", "STOPPING", "WAITING"}


@dataclass
class Upload:
    path: Path
    key: str | None
    action: str  # uploaded | unchanged | skipped
    reason: str = ""


def raw_key(path: Path, dataset: str, today: str | None = None) -> str:
    """``raw/<dataset>/ingest_date=<date in the file name, else today>/<file name>``."""
    m = _DATE.search(path.name)
    day = m.group(1) if m else (today or datetime.now(UTC).strftime("%Y-%m-%d"))
    return lake_keys.raw_key(dataset, day, path.name)


def expand(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(p)
    return out


def ingest(paths: Iterable[Path], settings: Settings, echo: Callable[[str], None] = print) -> list[Upload]:
    """Upload each data file to its raw prefix. Identical content already there is not
    uploaded again (no new version, no new event): re-running ingest is idempotent."""
    s3 = aws.client("s3", settings)
    results: list[Upload] = []
    for path in expand(paths):
        dataset = lake.dataset_of(path.name)
        if dataset is None:
            results.append(Upload(path, None, "skipped", "not a dataset file (orders*.csv, customers*.json, products*.csv)"))
            continue
        key = raw_key(path, dataset)
        body = path.read_bytes()
        md5 = hashlib.md5(body).hexdigest()  # noqa: S324 - compared with the S3 ETag
        try:
            etag = s3.head_object(Bucket=settings.lake_bucket, Key=key)["ETag"].strip('"')
        except ClientError:
            etag = None
        if etag == md5:
            results.append(Upload(path, key, "unchanged"))
            continue
        s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=body)
        results.append(Upload(path, key, "uploaded"))
        echo(f"  uploaded {path} -> s3://{settings.lake_bucket}/{key}")
    return results


@dataclass
class ObjectState:
    key: str
    version: str
    dataset: str | None
    source_id: str
    status: str  # SUCCEEDED | FAILED | PENDING | NO_JOB
    detail: dict[str, Any] = field(default_factory=dict)


def raw_objects(settings: Settings, keys: set[str] | None = None) -> list[tuple[str, str]]:
    """(key, version) of the latest version of every raw object (or of ``keys``)."""
    s3 = aws.client("s3", settings)
    out = []
    for obj in lake.list_keys(settings, lake_keys.RAW):
        if keys is not None and obj["Key"] not in keys:
            continue
        head = s3.head_object(Bucket=settings.lake_bucket, Key=obj["Key"])
        out.append((obj["Key"], object_version(head.get("VersionId"), head["ETag"])))
    return out


def object_states(settings: Settings, keys: set[str] | None = None) -> list[ObjectState]:
    states = []
    for key, version in raw_objects(settings, keys):
        sid = lake.source_id(settings.lake_bucket, key, version)
        dataset = lake_keys.dataset_of_key(key)
        if dataset in JOBLESS_DATASETS:
            states.append(ObjectState(key, version, dataset, sid, "NO_JOB"))
            continue
        entry = lake.ledger(settings, sid)
        failed = lake.failure(settings, sid)
        if entry and entry.get("status") in ("SUCCEEDED", "FAILED"):
            states.append(ObjectState(key, version, dataset, sid, entry["status"], entry))
        elif failed and not failed.get("resolved_at") and failed.get("failure_point") == "lambda" and not entry:
            states.append(ObjectState(key, version, dataset, sid, "FAILED", failed))
        else:
            states.append(ObjectState(key, version, dataset, sid, "PENDING", entry or {}))
    return states


def _queue_depth(settings: Settings, queue_name: str) -> int:
    """Messages in ``queue_name``, visible and in flight."""
    sqs = aws.client("sqs", settings)
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _queue_busy(settings: Settings) -> int:
    return _queue_depth(settings, settings.ingest_queue)


def active_runs(settings: Settings) -> list[dict[str, Any]]:
    """Glue runs of the cleanse jobs that have not finished."""
    client = aws.client("glue", settings)
    active = []
    for d in JOB_DATASETS:
        try:
            runs = client.get_job_runs(JobName=glue.job_name(settings.glue_job_prefix, d), MaxResults=200)["JobRuns"]
        except ClientError:
            continue
        active += [r for r in runs if r["JobRunState"] in ACTIVE_RUN_STATES]
    return active


def _active_dag_runs(settings: Settings, echo: Callable[[str], None]) -> int:
    from shoplake.orchestration.client import active_dag_runs

    try:
        return len(active_dag_runs(settings))
    except Exception as exc:  # noqa: BLE001 - Airflow restarting: ask again next poll
        echo(f"  Airflow not answering ({type(exc).__name__}): asking again")
        return 1


@dataclass
class WaitResult:
    objects: list[ObjectState]
    dlq_depth: int
    timed_out: bool

    @property
    def failed(self) -> list[ObjectState]:
        return [o for o in self.objects if o.status == "FAILED"]

    @property
    def ok(self) -> bool:
        return not self.timed_out and not self.failed and self.dlq_depth == 0

    def totals(self) -> Counter[str]:
        c: Counter[str] = Counter()
        for o in self.objects:
            counts = o.detail.get("counts") or {}
            for k in ("rows_read", "rows_written", "rows_quarantined", "duplicates_dropped"):
                c[k] += int(counts.get(k) or 0)
            for reason, n in (counts.get("quarantined_by_reason") or {}).items():
                c[f"quarantined:{reason}"] += int(n)
        return c


def dlq_depth(settings: Settings) -> int:
    return _queue_depth(settings, settings.ingest_dlq)


def wait(settings: Settings, timeout: float = 600, poll: float = 1.0,
         echo: Callable[[str], None] = print, keys: set[str] | None = None,
         sweep_every: float | None = None, dag_runs: bool = False) -> WaitResult:
    """Block until the ingest queue is drained, no job run is active and every raw object
    (or each of ``keys``) has a final state (two quiet polls in a row), or ``timeout``.

    ``sweep_every``: run the sweeper (:func:`shoplake.recovery.sweep`) at the start and then
    every so many seconds while objects are pending, so an object a crash left half-done is
    put back on track instead of waited for. ``dag_runs``: also wait for the shoplake DAGs'
    queued and running runs (a batch run that loads and builds the marts).
    """
    from shoplake import recovery

    deadline = time.monotonic() + timeout
    quiet = 0
    last = ""
    states: list[ObjectState] = []
    next_sweep = time.monotonic() if sweep_every else float("inf")
    while time.monotonic() < deadline:
        if time.monotonic() >= next_sweep:
            next_sweep = time.monotonic() + float(sweep_every or 0)
            try:
                done = recovery.sweep(settings)
                for a in done.get("actions", []):
                    echo(f"  sweeper: {a['action']} {a['object']}: {a['why']}")
            except recovery.RecoveryError as exc:
                echo(f"  sweeper not available: {exc}")
                next_sweep = float("inf")
        busy, active = _queue_busy(settings), len(active_runs(settings))
        flows = _active_dag_runs(settings, echo) if dag_runs else 0
        states = object_states(settings, keys)
        pending = sum(o.status == "PENDING" for o in states)
        line = (f"  queue {busy} message(s), {active} job run(s) active, {pending}/{len(states)} object(s) pending"
                + (f", {flows} DAG run(s) active" if dag_runs else ""))
        if line != last:
            echo(line)
            last = line
        quiet = quiet + 1 if (busy == 0 and active == 0 and pending == 0 and flows == 0) else 0
        if quiet >= 2:
            return WaitResult(states, dlq_depth(settings), timed_out=False)
        time.sleep(poll)
    return WaitResult(states, dlq_depth(settings), timed_out=True)
