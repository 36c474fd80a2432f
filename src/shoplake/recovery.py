"""Recovery from the operator's seat: is the event path delivering, what is stuck, and the
sweep that puts it back on track (``shoplake up``, ``wait``, ``status``, ``doctor``).

The sweep itself is the ``sweeper`` Lambda (``lambdas/sweeper``): the same code that runs
every minute on an EventBridge schedule, invoked here synchronously, so the local stack and
AWS recover by one code path.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from shoplake import aws
from shoplake.settings import Settings

log = logging.getLogger(__name__)


class RecoveryError(RuntimeError):
    pass


def sweep(settings: Settings, *, lost_before: float | None = None,
          grace_seconds: float | None = None) -> dict[str, Any]:
    """Run the sweeper now and return its summary (``by_action``, ``actions``)."""
    payload: dict[str, Any] = {"source": "shoplake.cli"}
    if lost_before:
        payload["lost_before"] = lost_before
    if grace_seconds is not None:
        payload["grace_seconds"] = grace_seconds
    try:
        resp = aws.client("lambda", settings).invoke(
            FunctionName=settings.sweeper_function, InvocationType="RequestResponse",
            Payload=json.dumps(payload).encode())
    except ClientError as exc:
        raise RecoveryError(f"cannot run the sweeper ({exc}): run `shoplake deploy`") from exc
    body = resp["Payload"].read()
    if resp.get("FunctionError"):
        raise RecoveryError(f"the sweeper failed: {body[:500]!r}")
    return dict(json.loads(body or b"{}"))


def _queue(settings: Settings, name: str) -> tuple[Any, str]:
    sqs = aws.client("sqs", settings)
    return sqs, str(sqs.get_queue_url(QueueName=name)["QueueUrl"])


def depth(settings: Settings, name: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    sqs, url = _queue(settings, name)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def ingest_mappings(settings: Settings) -> list[dict[str, Any]]:
    """The event source mappings of the ingest queue."""
    lam = aws.client("lambda", settings)
    sqs, url = _queue(settings, settings.ingest_queue)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    maps = lam.list_event_source_mappings(FunctionName=settings.lambda_name)["EventSourceMappings"]
    return [m for m in maps if m.get("EventSourceArn") == arn]


def probe_event_path(settings: Settings, timeout: float = 30.0) -> tuple[bool, str]:
    """Put an ``s3:TestEvent`` (the trigger acknowledges and ignores it) on the ingest queue
    and watch its consumer take it: the one check that a listed mapping really polls."""
    maps = ingest_mappings(settings)
    if not maps:
        return False, f"no event source mapping on {settings.ingest_queue}"
    if not all(m.get("State") in ("Enabled", None) for m in maps):
        return False, f"event source mapping is {maps[0].get('State')}"
    sqs, url = _queue(settings, settings.ingest_queue)
    before = sum(depth(settings, settings.ingest_queue))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": settings.lake_bucket,
         "RequestId": f"shoplake-probe-{uuid.uuid4().hex[:12]}"}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(depth(settings, settings.ingest_queue)) <= before:
            return True, "event path delivers"
        time.sleep(0.5)
    return False, f"a test event sat on {settings.ingest_queue} for {timeout:.0f}s: nothing consumes the queue"


def queue_has_consumer(settings: Settings, sample_s: float = 3.0) -> tuple[bool, str]:
    """Without sending anything: a queue with visible messages that do not move (none in
    flight, the same count after ``sample_s``) has no working consumer."""
    if not ingest_mappings(settings):
        return False, f"no event source mapping on {settings.ingest_queue}"
    visible, in_flight = depth(settings, settings.ingest_queue)
    if visible == 0 or in_flight:
        return True, f"{visible} visible, {in_flight} in flight"
    time.sleep(sample_s)
    visible2, in_flight2 = depth(settings, settings.ingest_queue)
    if in_flight2 or visible2 < visible:
        return True, f"{visible2} visible, {in_flight2} in flight"
    return False, f"{visible2} message(s) visible on {settings.ingest_queue} and none taken for {sample_s:.0f}s"


def repair_event_path(settings: Settings) -> None:
    """Put the ingest queue's event source mappings back to what the template says
    (enabled). CloudFormation does not repair a resource changed behind its back: a deploy
    of the same template is "no changes", so this is done through the Lambda API."""
    lam = aws.client("lambda", settings)
    for m in ingest_mappings(settings):
        lam.update_event_source_mapping(UUID=m["UUID"], Enabled=True)


# --- doctor --------------------------------------------------------------------------------
@dataclass
class Finding:
    what: str
    detail: str
    fix: str


@dataclass
class Diagnosis:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, what: str, detail: str, fix: str) -> None:
        self.findings.append(Finding(what, detail, fix))


def diagnose(settings: Settings) -> Diagnosis:
    """Components, the event path, stuck objects, orphaned runs, the DLQ: what is wrong and
    the command that fixes it."""
    from shoplake import dlq, ingest, stack

    d = Diagnosis()
    if settings.needs_local_stack:
        state = stack.running_state(settings)
        if not state:
            d.add("stack", "the embedded stack is not running", "shoplake up")
            return d
        for name, good in stack.component_health(state).items():
            if not good:
                d.add("component", f"{name} is DOWN", "shoplake up (restarts it)")
        if d.findings:
            return d
    ok, why = queue_has_consumer(settings)
    if not ok:
        d.add("event path", why, "shoplake up (re-enables the mapping and checks it)")
    states = ingest.object_states(settings)
    ledger_runs = {o.detail.get("job_run_id") for o in states if o.detail.get("job_run_id")}
    for o in states:
        if o.status != "PENDING":
            continue
        entry = o.detail
        age = _age(entry.get("updated_at"))
        d.notes.append(f"pending {o.key}: {entry.get('status') or 'no ledger entry'}"
                       f"{f', {age:.0f}s ago' if age is not None else ''}")
        if age is not None and age > 120:
            d.add("stuck object", f"{o.key} {entry.get('status')} for {age:.0f}s (run {entry.get('job_run_id')})",
                  "shoplake wait (runs the sweeper), or shoplake up after a crash")
    for run in ingest.active_runs(settings):
        if run["Id"] not in ledger_runs and time.time() - float(run.get("StartedOn") or 0) > 300:
            d.notes.append(f"run {run['Id']} of {run['JobName']} is {run['JobRunState']} and no ledger entry "
                           "follows it (a batch run of the daily DAG, or an orphan)")
    letters = dlq.peek(settings, hold_seconds=1)
    for letter in letters:
        d.add("dead letter", f"{letter.object} ({letter.failure_point}): {letter.reason} {letter.detail[:120]}",
              f"fix the cause, then shoplake dlq redrive {letter.source_id or letter.message_id}")
    return d


def _age(stamp: str | None) -> float | None:
    from datetime import UTC, datetime

    if not stamp:
        return None
    try:
        t = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return time.time() - t.timestamp()


# --- shoplake up ---------------------------------------------------------------------------
@dataclass
class UpResult:
    settings: Settings
    restarted: list[str]
    event_path: str
    swept: dict[str, Any]


def ensure_up(settings: Settings, echo: Any = print, *, deploy: bool = True) -> UpResult:
    """``shoplake up``: start what is not running (every dead component, not only the
    emulator), provision, prove the event path delivers, and sweep what a stop or a crash
    left half-done. Raises :class:`RecoveryError` unless all of it holds."""
    from shoplake import stack
    from shoplake.settings import refreshed

    state = stack.up(settings, echo=echo)
    restarted = list(state.get("restarted", []))
    live = refreshed(settings)
    if not deploy:
        return UpResult(live, restarted, "not checked (--no-deploy)", {})
    from shoplake.deploy import deploy as run_deploy

    run_deploy(live, echo=echo)
    ok, why = probe_event_path(live)
    if not ok:
        echo(f"event path: {why}; re-enabling the event source mapping")
        repair_event_path(live)
        ok, why = probe_event_path(live)
        if not ok:
            raise RecoveryError(f"event path: {why} (log: {live.home / 'logs' / 'emulator.log'})")
    echo(f"event path: {why}")
    emulator = state.get("components", {}).get("emulator", {})
    # the emulator (re)started now: messages and events written before it may be lost
    lost_before = emulator.get("started_at") if "emulator" in restarted else None
    swept = sweep(live, lost_before=lost_before)
    for a in swept.get("actions", []):
        echo(f"  sweeper: {a['action']} {a['object']}: {a['why']}")
    return UpResult(live, restarted, why, swept)
