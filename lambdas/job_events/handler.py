"""Glue Job State Change events (EventBridge) -> ledger, alerts and the dead-letter queue.

On AWS, Glue emits these events itself; locally the Glue job runner emits the same events to
the emulator's EventBridge. The manifest decides, not the event: an object whose manifest of
this version exists is loaded (even if the runner died after the commit and reports FAILED).
Otherwise a run that died for a reason outside the data (runner restarted or shut down) is
requeued within the retry budget; any other failed, stopped or timed-out run marks the object
FAILED, puts its original S3 event in the DLQ (the reason as message attributes) and
publishes a failure alert, so ``shoplake dlq redrive`` can replay it after a fix. Events of a
run the ledger no longer follows (an older attempt) are ignored.
"""

from __future__ import annotations

from typing import Any

import boto3
from shoplake_events import Store, log, run_failure_reason
from shoplake_ledger import (
    FAILED,
    RETRYING,
    SUCCEEDED,
    Conflict,
    Ledger,
    event_body,
    is_infrastructure_error,
)

from shoplake_contract.ids import source_id, split_uri

FAILED_STATES = {"FAILED", "TIMEOUT", "STOPPED", "ERROR"}
_clients: dict[str, Any] = {}


def _client(name: str) -> Any:
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def failure_reason(state: str, error: str | None) -> str:
    """The reason code of a failed run (docs/contracts.md "Failure reasons")."""
    return run_failure_reason(state, error)


def handle(store: Store, detail: dict[str, Any], ledger: Ledger | None = None) -> str:
    job_name, run_id, state = detail["jobName"], detail["jobRunId"], detail["state"]
    ledger = ledger or Ledger(store, _client("glue"), _client("sqs"))
    run = _client("glue").get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
    args = run.get("Arguments", {})
    dataset, uri, version = args.get("--dataset"), args.get("--source_uri"), args.get("--source_version", "")
    if not uri:
        return f"{job_name} {run_id}: no --source_uri, not an ingest run"
    if state not in FAILED_STATES and state != "SUCCEEDED":
        return f"{run_id} {state}: nothing to do"
    bucket, key = split_uri(uri)
    sid = source_id(bucket, key, version)
    base = {"job_name": job_name, "dataset": dataset, "bucket": bucket, "key": key, "version": version}
    for _ in range(5):  # another writer changed the entry meanwhile: read it again
        entry, etag = ledger.read(sid)
        current = (entry or {}).get("job_run_id")
        if current and current != run_id:
            # a newer attempt (or another orchestrator's run) owns the entry
            return f"{run_id} {state} {uri}: stale event, the ledger follows {current}"
        status = (entry or {}).get("status")
        try:
            manifest = ledger.manifest(dataset, sid, version)
            if manifest:  # the commit point of this version exists: done, whatever the run says
                if status == SUCCEEDED:
                    return f"{run_id} SUCCEEDED {uri}: already recorded"
                ledger.mark_succeeded(sid, entry, etag, manifest, {**base, "job_run_id": run_id})
                return f"{run_id} SUCCEEDED {uri}"
            if status in (FAILED, RETRYING):
                return f"{run_id} {state} {uri}: already {status}"
            doc = {**(entry or {}), **base, "job_run_id": run_id}
            error = run.get("ErrorMessage") or detail.get("message") or state
            if state == "SUCCEEDED":  # succeeded without a manifest of this version
                error, state = "run succeeded without a manifest (run lost its output)", "FAILED"
            attempts = int(doc.get("attempts") or 1)
            if is_infrastructure_error(error) and attempts < ledger.limits.max_attempts:
                ledger.requeue(sid, doc, etag, f"run {state}: {error}", event_body(doc))
                return f"{run_id} {state} {uri}: requeued ({error})"
            ledger.dead_letter(sid, doc, etag, reason=failure_reason(state, error), detail=error,
                               body=event_body(doc), run_id=run_id)
            return f"{run_id} {state} {uri}: in the DLQ"
        except Conflict:
            continue
    raise RuntimeError(f"ledger entry {sid} kept changing while recording {run_id} {state}")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store = Store(s3=_client("s3"), sns=_client("sns"))
    result = handle(store, event.get("detail", {}))
    log.info(result)
    return {"result": result}
