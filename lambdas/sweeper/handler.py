"""The sweeper: puts objects the event path left behind back on track.

Runs every minute (EventBridge schedule) and on demand (``shoplake up`` after a restart,
``shoplake wait`` while it waits, ``shoplake doctor``). For every raw object version it
compares the ledger (``state/ledger``), the commit point (the manifest) and the Glue run:

- no ledger entry and no failure record, and the object is older than the grace period (or
  older than an emulator restart): its S3 event was lost -> the event goes back on the queue;
- a manifest of this version exists but the ledger does not say SUCCEEDED (the runner died
  after the commit, or its event was lost) -> SUCCEEDED, with the success alert;
- STARTED whose run is gone, or ended for a reason outside the data (runner restarted, shut
  down) -> requeued within the retry budget; a run stuck past the job timeout is stopped
  first; a data failure whose job-state event was lost -> the DLQ, as that handler would;
- STARTING/RETRYING that never started -> requeued; past the budget -> the DLQ with reason
  ``retries_exhausted`` and an alert.

Every write is conditional on the entry's ETag, so the sweeper and the other writers never
undo each other. Returns a summary of what it did.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import boto3
from shoplake_events import JOBLESS_DATASETS, InvalidObject, RawObject, Store, log, validate
from shoplake_ledger import (
    FAILED,
    STARTED,
    SUCCEEDED,
    Conflict,
    Ledger,
    Limits,
    decide,
    event_body,
)

from shoplake_contract.ids import object_version
from shoplake_contract.keys import FAILURES, LEDGER, RAW, source_id_of_key

_clients: dict[str, Any] = {}


def _client(name: str) -> Any:
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def _keys(s3: Any, bucket: str, prefix: str) -> set[str]:
    out: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update(o["Key"] for o in page.get("Contents", []))
    return out


def latest_raw_objects(s3: Any, bucket: str) -> list[dict[str, Any]]:
    """``{"Key", "VersionId", "Size", "LastModified"}`` of the latest version of every raw object."""
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=RAW):
        out.extend(v for v in page.get("Versions", []) if v.get("IsLatest"))
    return out


def sweep(ledger: Ledger, *, lost_before: float | None = None, at: float | None = None) -> dict[str, Any]:
    store, s3 = ledger.store, ledger.store.s3
    at = at if at is not None else time.time()
    bucket = store.bucket
    entries = {source_id_of_key(k) for k in _keys(s3, bucket, LEDGER)}
    failures = {source_id_of_key(k) for k in _keys(s3, bucket, FAILURES)}
    done: Counter[str] = Counter()
    actions: list[dict[str, str]] = []
    for o in latest_raw_objects(s3, bucket):
        version = object_version(o.get("VersionId"), o.get("ETag"))
        obj = RawObject(bucket, o["Key"], int(o.get("Size") or 0), version)
        sid = obj.source_id
        try:
            dataset = validate(obj)
        except InvalidObject:
            dataset = None  # the trigger rejects it; only a lost event needs the sweeper
        if dataset in JOBLESS_DATASETS:
            continue
        base = {"job_name": None, "dataset": dataset, "bucket": bucket, "key": obj.key,
                "version": version, "size": obj.size}
        try:
            what = _one(ledger, sid, obj, base, sid in entries, sid in failures,
                        o["LastModified"].timestamp(), lost_before, at)
        except Conflict:
            what = ("skip", "changed meanwhile")
        except Exception as exc:  # noqa: BLE001 - one object never stops the sweep
            log.exception("sweeping %s failed", obj.uri)
            what = ("error", f"{type(exc).__name__}: {exc}")
        done[what[0]] += 1
        if what[0] != "skip":
            actions.append({"object": obj.uri, "source_id": sid, "action": what[0], "why": what[1]})
    summary = {"objects": sum(done.values()), "by_action": dict(done), "actions": actions}
    log.info("sweep: %s", json.dumps(summary)[:4000])
    return summary


def _one(ledger: Ledger, sid: str, obj: RawObject, base: dict[str, Any], has_entry: bool,
         has_failure: bool, modified: float, lost_before: float | None, at: float) -> tuple[str, str]:
    limits = ledger.limits
    if not has_entry:
        if has_failure:
            return "skip", "rejected (failure record)"
        if not (at - modified > limits.grace_s or (lost_before and modified < lost_before)):
            return "skip", "new: its event is on the way"
        manifest = ledger.manifest(base["dataset"], sid, obj.version)
        if manifest:
            ledger.mark_succeeded(sid, None, None, manifest, base)
            return "succeeded", "manifest committed, ledger entry missing"
        ledger.requeue(sid, {**base, "attempts": 0}, None, "event lost", event_body(base))
        return "retry", "no ledger entry: event lost"
    entry, etag = ledger.read(sid)
    if entry is None or entry.get("status") in (SUCCEEDED, FAILED):
        return "skip", str((entry or {}).get("status"))
    manifest = ledger.manifest(entry.get("dataset"), sid, str(entry.get("version", "")))
    run = ledger.run(entry) if entry.get("status") == STARTED else None
    d = decide(entry, run, manifest is not None, limits, at=at, delivery=False, lost_before=lost_before)
    if d.action == "succeeded":
        ledger.mark_succeeded(sid, entry, etag, manifest or {}, base | {"job_name": entry.get("job_name")})
    elif d.action == "stop_and_retry":
        ledger.glue.batch_stop_job_run(JobName=entry["job_name"], JobRunIds=[entry["job_run_id"]])
        ledger.requeue(sid, entry, etag, d.why, event_body(entry))
    elif d.action == "retry":
        ledger.requeue(sid, entry, etag, d.why, event_body(entry))
    elif d.action == "dead_letter":
        ledger.dead_letter(sid, entry, etag, reason=d.why.split(":", 1)[0], detail=d.why,
                           body=event_body(entry), run_id=entry.get("job_run_id"))
    return d.action, d.why


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store = Store(s3=_client("s3"), sns=_client("sns"))
    limits = Limits.from_env()
    if event.get("grace_seconds") is not None:
        limits = Limits(limits.max_attempts, float(event["grace_seconds"]), limits.run_timeout_s)
    ledger = Ledger(store, _client("glue"), _client("sqs"), limits)
    lost_before = event.get("lost_before")
    return sweep(ledger, lost_before=float(lost_before) if lost_before else None)
