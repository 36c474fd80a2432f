"""The ledger's policy (lambdas/shared/shoplake_ledger.py ``decide``), case by case: pure logic,
no AWS. Every state an entry can be left in by a crash has exactly one next step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from shoplake_ledger import Limits, decide, is_infrastructure_error

LIMITS = Limits(max_attempts=3, grace_s=120, run_timeout_s=3900)
NOW = 1_800_000_000.0


def _stamp(seconds_ago: float) -> str:
    return datetime.fromtimestamp(NOW - seconds_ago, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry(status: str, ago: float = 5, attempts: int = 1, **extra: Any) -> dict[str, Any]:
    return {"status": status, "updated_at": _stamp(ago), "attempts": attempts,
            "job_name": "j", "job_run_id": "jr_1", **extra}


def run(state: str, error: str | None = None) -> dict[str, Any]:
    return {"JobRunState": state, **({"ErrorMessage": error} if error else {})}


@pytest.mark.parametrize("case, e, r, committed, delivery, want", [
    # the commit point decides first
    ("manifest, ledger behind", entry("STARTED"), run("FAILED", "runner restarted"), True, True, "succeeded"),
    ("manifest, no entry", None, None, True, False, "succeeded"),
    ("manifest, already recorded", entry("SUCCEEDED"), None, True, True, "skip"),
    ("first delivery", None, None, False, True, "start"),
    ("sweeper, no entry (handled by the lost-event rule)", None, None, False, False, "skip"),
    ("duplicate while running", entry("STARTED"), run("RUNNING"), False, True, "skip"),
    ("sweeper, running", entry("STARTED"), run("RUNNING"), False, False, "skip"),
    ("running past the timeout", entry("STARTED", ago=5000), run("RUNNING"), False, False, "stop_and_retry"),
    ("run lost (runner state gone)", entry("STARTED"), None, False, True, "start"),
    ("sweeper, run lost", entry("STARTED"), None, False, False, "retry"),
    ("runner restarted", entry("STARTED"), run("FAILED", "runner restarted"), False, False, "retry"),
    ("runner shut down", entry("STARTED"), run("STOPPED", "runner shut down"), False, True, "start"),
    ("emulator gone under the job", entry("STARTED"),
     run("FAILED", "EndpointConnectionError: Could not connect to the endpoint URL"), False, False, "retry"),
    ("succeeded without manifest", entry("STARTED"), run("SUCCEEDED"), False, False, "retry"),
    ("data failure, handler on its way", entry("STARTED", ago=10), run("FAILED", "JobError: bad header"),
     False, False, "skip"),
    ("data failure, its event lost", entry("STARTED", ago=600), run("FAILED", "JobError: bad header"),
     False, False, "dead_letter"),
    ("budget spent", entry("STARTED", attempts=3), run("FAILED", "runner restarted"), False, False, "dead_letter"),
    ("claim fresh", entry("STARTING", ago=5, job_run_id=None), None, False, True, "skip"),
    ("claim abandoned", entry("STARTING", ago=500, job_run_id=None), None, False, True, "start"),
    ("sweeper, claim abandoned", entry("STARTING", ago=500, job_run_id=None), None, False, False, "retry"),
    ("requeued, delivered", entry("RETRYING", ago=1), None, False, True, "start"),
    ("requeued, sweeper waits", entry("RETRYING", ago=30), None, False, False, "skip"),
    ("requeued message lost", entry("RETRYING", ago=500), None, False, False, "retry"),
    ("requeued past the budget", entry("RETRYING", ago=500, attempts=3), None, False, False, "dead_letter"),
    ("loaded", entry("SUCCEEDED"), None, False, True, "skip"),
    ("replay from the DLQ", entry("FAILED", attempts=3), None, False, True, "start"),
    ("sweeper leaves the DLQ alone", entry("FAILED"), None, False, False, "skip"),
])
def test_decide(case: str, e: Any, r: Any, committed: bool, delivery: bool, want: str) -> None:
    assert decide(e, r, committed, LIMITS, at=NOW, delivery=delivery).action == want, case


def test_an_emulator_restart_makes_older_entries_old_at_once() -> None:
    fresh = entry("RETRYING", ago=10)
    assert decide(fresh, None, False, LIMITS, at=NOW, delivery=False).action == "skip"
    assert decide(fresh, None, False, LIMITS, at=NOW, delivery=False, lost_before=NOW - 1).action == "retry"
    data = entry("STARTED", ago=10)
    failed = run("FAILED", "JobError: bad header")
    assert decide(data, failed, False, LIMITS, at=NOW, delivery=False, lost_before=NOW - 1).action == "dead_letter"


def test_dead_letter_reasons_are_codes() -> None:
    d = decide(entry("RETRYING", ago=500, attempts=3), None, False, LIMITS, at=NOW, delivery=False)
    assert d.why.split(":", 1)[0] == "retries_exhausted"
    d = decide(entry("STARTED", ago=600), run("TIMEOUT", "Job run timed out"), False, LIMITS, at=NOW,
               delivery=False)
    assert d.why.split(":", 1)[0] == "job_timeout"


@pytest.mark.parametrize("message, infra", [
    ("runner restarted", True), ("runner shut down", True),
    ("botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL", True),
    ("ValueError: boom: bad input row 7", False), ("JobError: header lacks columns", False),
    (None, False),
])
def test_infrastructure_errors(message: str | None, infra: bool) -> None:
    assert is_infrastructure_error(message) is infra


def test_limits_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ATTEMPTS", "5")
    monkeypatch.setenv("JOB_TIMEOUT_MINUTES", "10")
    limits = Limits.from_env()
    assert limits.max_attempts == 5 and limits.run_timeout_s == 900


def test_outbox_keeps_events_until_the_bus_takes_them(tmp_path: Any) -> None:
    """The Glue runner's state-change events survive a bus that is down, in order."""
    from glue_runner.runner import Outbox

    sent: list[str] = []
    bus_up = False

    def send(detail: dict[str, Any]) -> bool:
        if not bus_up:
            raise ConnectionError("bus down")
        sent.append(detail["jobRunId"])
        return True

    box = Outbox(tmp_path / "outbox", send, max_delay=0.2)
    for i in range(3):
        box.put(f"jr_{i}", "FAILED", {"jobRunId": f"jr_{i}"})
    assert box.flush() == 3 and sent == []
    box.close()  # the runner stops (or dies) with the bus still down
    bus_up = True
    again = Outbox(tmp_path / "outbox", send, max_delay=0.2)  # the next runner
    try:
        assert again.flush() == 0
    finally:
        again.close()
    assert sent == ["jr_0", "jr_1", "jr_2"]
