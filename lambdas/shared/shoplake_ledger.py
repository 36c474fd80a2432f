"""The idempotency ledger as a state machine that survives crashes (bundled into every Lambda).

One ledger entry per raw object version, ``state/ledger/<source_id>.json``. Its ``status``:

- ``STARTING``   a delivery claimed the object and is starting its Glue run;
- ``STARTED``    a Glue run (``job_run_id``) is processing it;
- ``RETRYING``   its run died for a reason outside the data (runner restarted or shut down,
                 run lost, claim abandoned): the event was put back on the ingest queue;
- ``SUCCEEDED``  its manifest (the commit point) exists: loaded, never processed again;
- ``FAILED``     in the dead-letter queue with a reason and an alert; a replay
                 (``shoplake dlq redrive``) starts it again with a fresh retry budget.

Every writer (the trigger on each delivery, the job-state handler on each run event, the
sweeper every minute) reads the entry with its ETag and writes it back conditionally
(S3 ``If-Match`` / ``If-None-Match``), so two deliveries of one object start one run, and a
stale event never overwrites a newer attempt. :func:`decide` is the whole policy, pure.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shoplake_events import Store, log, now

from shoplake_contract.keys import ledger_key, manifest_key

STARTING, STARTED, RETRYING, SUCCEEDED, FAILED = "STARTING", "STARTED", "RETRYING", "SUCCEEDED", "FAILED"
ACTIVE_RUN_STATES = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})
#: Run errors that say nothing about the data (the runner or the storage it needs went away
#: under it): the run is retried within the budget, not dead-lettered.
INFRASTRUCTURE_ERRORS = (
    "runner restarted", "runner shut down", "run lost",
    "endpointconnectionerror", "could not connect to the endpoint", "connection refused",
    "connection reset", "connectionclosederror", "readtimeouterror", "connecttimeouterror",
    "serviceunavailable", "slowdown", "throttl", "internalerror",
)


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    #: runs per object before it goes to the DLQ (an operator's replay starts a new budget)
    max_attempts: int = 3
    #: seconds a claim or a requeued event may take before the sweeper acts on it again
    grace_s: float = 120.0
    #: seconds after which an "active" run is presumed stuck (the job timeout + grace)
    run_timeout_s: float = 3600.0 + 300.0

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_attempts=_env_int("MAX_ATTEMPTS", 3),
            grace_s=float(_env_int("SWEEP_GRACE_SECONDS", 120)),
            run_timeout_s=float(_env_int("JOB_TIMEOUT_MINUTES", 60) * 60 + 300),
        )


@dataclass(frozen=True)
class Decision:
    #: skip | succeeded | start | retry | dead_letter | stop_and_retry
    action: str
    why: str


def is_infrastructure_error(message: str | None) -> bool:
    text = (message or "").lower()
    return any(e in text for e in INFRASTRUCTURE_ERRORS)


def written_at(entry: dict[str, Any]) -> float | None:
    stamp = entry.get("updated_at")
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except (TypeError, ValueError):
        return None


def age_s(entry: dict[str, Any], at: float | None = None) -> float:
    """Seconds since the entry was last written (0 if it carries no time)."""
    t = written_at(entry)
    return 0.0 if t is None else max(0.0, (at if at is not None else time.time()) - t)


def decide(entry: dict[str, Any] | None, run: dict[str, Any] | None, committed: bool,
           limits: Limits, *, at: float | None = None, delivery: bool = True,
           lost_before: float | None = None) -> Decision:
    """What to do with one object, given its ledger entry, the state of the entry's run
    (``None``: no run id, or the Glue API does not know it) and whether its manifest exists.

    ``delivery``: the caller holds the object's S3 event (the trigger); otherwise it is the
    sweeper, which can only put the event back on the queue (``retry``), never start a run.
    ``lost_before``: the emulator restarted at this time: messages and events of entries
    written before it may be lost, so such entries count as old at once.
    """
    if committed:
        if entry and entry.get("status") == SUCCEEDED:
            return Decision("skip", "already loaded")
        return Decision("succeeded", "manifest committed")
    status = (entry or {}).get("status")
    attempts = int((entry or {}).get("attempts") or 0)
    exhausted = attempts >= limits.max_attempts
    if entry is None:
        return Decision("start", "first delivery") if delivery else Decision("skip", "no ledger entry")
    if status == SUCCEEDED:
        return Decision("skip", "already loaded")
    if status == FAILED:
        if delivery:  # a replay from the DLQ after a fix: a fresh budget
            return Decision("start", "replay of a failed object")
        return Decision("skip", "in the dead-letter queue")
    stamp = written_at(entry)
    old = age_s(entry, at) > limits.grace_s or bool(
        lost_before and (stamp is None or stamp < lost_before))
    if status in (STARTING, RETRYING):
        if not old and (status == STARTING or not delivery):
            return Decision("skip", f"{status.lower()} {age_s(entry, at):.0f}s ago")
        if exhausted:
            return Decision("dead_letter", f"retries_exhausted: {attempts} attempts")
        return Decision("start" if delivery else "retry", f"{status.lower()} and not started")
    # STARTED: ask the run
    state = (run or {}).get("JobRunState")
    if state in ACTIVE_RUN_STATES:
        if age_s(entry, at) > limits.run_timeout_s:
            return Decision("stop_and_retry", f"run {state} for {age_s(entry, at):.0f}s: stuck")
        return Decision("skip", f"run {state}")
    message = (run or {}).get("ErrorMessage") or state
    if state is None:
        why, infrastructure = "run lost", True
    elif state == "SUCCEEDED":  # succeeded, yet no manifest of this version: not done
        why, infrastructure = "run succeeded without a manifest", True
    else:
        why, infrastructure = f"run {state}: {message}", is_infrastructure_error(message)
    if not infrastructure and not delivery:
        if not old:
            return Decision("skip", f"{why} (the job-state handler reports it)")
        # its job-state event was lost: fail it as that handler would have
        return Decision("dead_letter", f"job_{state.lower()}: {message}")
    if exhausted:
        return Decision("dead_letter", f"retries_exhausted: {attempts} attempts, last {why}")
    return Decision("start" if delivery else "retry", why)


class Conflict(RuntimeError):
    """The entry changed since it was read (another writer won)."""


class Ledger:
    """Conditional reads and writes of ledger entries plus the side effects every writer
    shares: a run's state, the commit point, requeueing, the dead-letter queue."""

    def __init__(self, store: Store, glue: Any, sqs: Any, limits: Limits | None = None) -> None:
        self.store = store
        self.glue = glue
        self.sqs = sqs
        self.limits = limits or Limits.from_env()
        self._urls: dict[str, str] = {}

    # --- entries ---------------------------------------------------------------------------
    def read(self, sid: str) -> tuple[dict[str, Any] | None, str | None]:
        try:
            obj = self.store.s3.get_object(Bucket=self.store.bucket, Key=ledger_key(sid))
        except Exception as exc:  # noqa: BLE001 - emulators phrase 404s differently
            if "NoSuchKey" in str(exc) or "404" in str(exc) or "Not Found" in str(exc):
                return None, None
            raise
        return json.loads(obj["Body"].read()), obj["ETag"]

    def write(self, sid: str, doc: dict[str, Any], etag: str | None) -> str:
        """Write the entry if it is still the version read (``etag``; None = must not exist)."""
        body = json.dumps({**doc, "source_id": sid, "updated_at": now()}, indent=1, sort_keys=True)
        cond = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            out = self.store.s3.put_object(Bucket=self.store.bucket, Key=ledger_key(sid),
                                           Body=body.encode(), ContentType="application/json", **cond)
        except Exception as exc:  # noqa: BLE001
            text = str(exc)
            if "PreconditionFailed" in text or "412" in text or "ConditionalRequestConflict" in text:
                raise Conflict(f"ledger entry {sid} changed meanwhile") from exc
            raise
        return str(out.get("ETag", ""))

    def run(self, entry: dict[str, Any] | None) -> dict[str, Any] | None:
        """The entry's Glue run, or None when it has none or the API does not know it."""
        if not entry or not entry.get("job_run_id") or not entry.get("job_name"):
            return None
        try:
            return dict(self.glue.get_job_run(JobName=entry["job_name"], RunId=entry["job_run_id"])["JobRun"])
        except Exception as exc:  # noqa: BLE001
            if "EntityNotFound" in str(exc):
                return None
            raise

    def manifest(self, dataset: str | None, sid: str, version: str) -> dict[str, Any] | None:
        """The committed manifest of exactly this object version, or None."""
        if not dataset:
            return None
        doc = self.store.get_json(manifest_key(dataset, sid))
        if doc and doc.get("status") == "SUCCEEDED" and str(doc.get("source_version") or "") == version:
            return doc
        return None

    # --- transitions -----------------------------------------------------------------------
    def mark_succeeded(self, sid: str, entry: dict[str, Any] | None, etag: str | None,
                       manifest: dict[str, Any], base: dict[str, Any]) -> None:
        counts = {k: manifest.get(k) for k in ("rows_read", "rows_written", "rows_quarantined",
                                               "duplicates_dropped", "quarantined_by_reason", "duration_s")}
        doc = {**(entry or {}), **base, "status": SUCCEEDED, "counts": counts,
               "job_run_id": manifest.get("run_id") or (entry or {}).get("job_run_id")}
        doc.pop("error", None)
        self.write(sid, doc, etag)
        failed = self.store.failed(sid)
        if failed and not failed.get("resolved_at"):
            self.store.record_failure(sid, {**failed, "resolved_at": now(), "resolved_by": doc["job_run_id"]})
        self.store.alert("job_succeeded", dataset=base.get("dataset"), obj=_uri(base),
                         run_id=doc["job_run_id"], counts=counts)

    def requeue(self, sid: str, entry: dict[str, Any], etag: str | None, why: str,
                body: str, delay: int = 2) -> None:
        """Mark the entry RETRYING and put its S3 event back on the ingest queue."""
        doc = {**entry, "status": RETRYING, "retry_reason": why}
        self.write(sid, doc, etag)
        self.sqs.send_message(QueueUrl=self._url(os.environ["INGEST_QUEUE"]), MessageBody=body,
                              DelaySeconds=delay)
        log.info("requeued %s (%s): %s", _uri(entry), sid, why)

    def dead_letter(self, sid: str, entry: dict[str, Any], etag: str | None, *, reason: str,
                    detail: str, body: str, point: str = "job", run_id: str | None = None) -> None:
        """Ledger FAILED, a failure record, the event in the DLQ (reason as attributes), an alert."""
        doc = {**entry, "status": FAILED, "error": detail}
        self.write(sid, doc, etag)
        uri, dataset = _uri(entry), entry.get("dataset")
        self.store.record_failure(sid, {"failure_point": point, "reason": reason, "detail": detail,
                                        "object": uri, "dataset": dataset, "run_id": run_id,
                                        "attempts": entry.get("attempts"), "message_body": body})
        attrs = {"failure_point": point, "reason": reason, "job_run_id": run_id or "-"}
        self.sqs.send_message(
            QueueUrl=self._url(os.environ["INGEST_DLQ"]), MessageBody=body,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attrs.items()})
        self.store.alert("job_failed", dataset=dataset, obj=uri, run_id=run_id, error=f"{reason}: {detail}",
                         extra={"failure_point": point, "source_id": sid, "attempts": entry.get("attempts"),
                                "next": "dead-letter queue"})

    def _url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[name]


def _uri(entry: dict[str, Any]) -> str | None:
    if entry.get("bucket") and entry.get("key"):
        return f"s3://{entry['bucket']}/{entry['key']}"
    return None


def event_body(entry: dict[str, Any]) -> str:
    """The S3 event of the entry's object: the original record when kept, else one as S3
    would send it."""
    if entry.get("record"):
        return json.dumps({"Records": [entry["record"]]})
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": now(),
        "s3": {"bucket": {"name": entry["bucket"]},
               "object": {"key": entry["key"], "size": int(entry.get("size") or 1),
                          "versionId": entry.get("version", "")}},
    }]})
