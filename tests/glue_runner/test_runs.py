"""Job runs end to end: real processes started by the runner, driven through boto3."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest


def test_run_succeeds_with_glue_arguments(glue: Any, scripts: Path, helpers: Any) -> None:
    helpers.create_job(glue, "ok-job", scripts / "ok.py",
                       DefaultArguments={"--dataset": "orders", "--lake_bucket": "lake"})
    run_id = glue.start_job_run(JobName="ok-job", Arguments={"--dataset": "customers"})["JobRunId"]
    assert run_id.startswith("jr_")
    run = helpers.wait_state(glue, "ok-job", run_id)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert run["Id"] == run_id and run["Attempt"] == 0
    assert run["Arguments"] == {"--dataset": "customers", "--lake_bucket": "lake"}
    assert run["StartedOn"] <= run["CompletedOn"]
    assert run["ExecutionTime"] >= 0 and "ErrorMessage" not in run
    out = Path(run["LogGroupName"]).read_text()
    argv = eval(out.split("ARGS ", 1)[1].splitlines()[0])  # the script printed sys.argv[1:]
    pairs = dict(zip(argv[::2], argv[1::2], strict=True))
    assert pairs["--JOB_NAME"] == "ok-job" and pairs["--JOB_RUN_ID"] == run_id
    assert pairs["--dataset"] == "customers" and pairs["--lake_bucket"] == "lake"
    assert Path(run["LogGroupName"]).parts[-2:] == ("ok-job", f"{run_id}.log")

    runs = glue.get_job_runs(JobName="ok-job")["JobRuns"]
    assert [r["Id"] for r in runs] == [run_id]


def test_failing_script_reports_the_exception(glue: Any, scripts: Path, helpers: Any) -> None:
    helpers.create_job(glue, "fail-job", scripts / "fail.py")
    run_id = glue.start_job_run(JobName="fail-job")["JobRunId"]
    run = helpers.wait_state(glue, "fail-job", run_id)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ValueError: boom: bad input row 7"


def test_leftover_children_are_killed(glue: Any, scripts: Path, helpers: Any) -> None:
    helpers.create_job(glue, "leaky-job", scripts / "leaky.py")
    run = helpers.wait_state(glue, "leaky-job", glue.start_job_run(JobName="leaky-job")["JobRunId"])
    assert run["JobRunState"] == "SUCCEEDED"
    _, grandchild = helpers.sleeper_pids(run)
    helpers.wait_for(lambda: not helpers.alive(grandchild), "the leftover child to die")


def test_missing_script_fails_the_run(glue: Any, tmp_path: Path, helpers: Any) -> None:
    helpers.create_job(glue, "ghost-job", f"file://{tmp_path}/nope.py")
    run = helpers.wait_state(glue, "ghost-job", glue.start_job_run(JobName="ghost-job")["JobRunId"])
    assert run["JobRunState"] == "FAILED"
    assert "nope.py" in run["ErrorMessage"]


def test_max_retries_start_new_attempts(glue: Any, scripts: Path, helpers: Any) -> None:
    helpers.create_job(glue, "retry-job", scripts / "fail.py", MaxRetries=1)
    first = glue.start_job_run(JobName="retry-job")["JobRunId"]
    retry_id = f"{first}_attempt_1"
    helpers.wait_for(lambda: len(glue.get_job_runs(JobName="retry-job")["JobRuns"]) == 2,
                     "the retry attempt")
    retry = helpers.wait_state(glue, "retry-job", retry_id)
    assert retry["JobRunState"] == "FAILED" and retry["Attempt"] == 1
    assert retry["PreviousRunId"] == first
    assert helpers.wait_state(glue, "retry-job", first)["JobRunState"] == "FAILED"


def test_timeout_kills_the_process_group(glue: Any, scripts: Path, helpers: Any) -> None:
    # the runner runs with --timeout-scale 1: Timeout=5 "minutes" last five seconds, long
    # enough for sleep.py to report its pids even on a loaded machine
    helpers.create_job(glue, "slow-job", scripts / "sleep.py", Timeout=5)
    run_id = glue.start_job_run(JobName="slow-job")["JobRunId"]
    leader, grandchild = helpers.sleeper_pids(glue.get_job_run(JobName="slow-job", RunId=run_id)["JobRun"])
    run = helpers.wait_state(glue, "slow-job", run_id)
    assert run["JobRunState"] == "TIMEOUT"
    assert "timed out" in run["ErrorMessage"]
    assert not helpers.alive(leader)
    helpers.wait_for(lambda: not helpers.alive(grandchild), "the grandchild to die")


def test_run_timeout_overrides_the_job_timeout(glue: Any, scripts: Path, helpers: Any) -> None:
    helpers.create_job(glue, "slow-job-2", scripts / "sleep.py", Timeout=600)
    run_id = glue.start_job_run(JobName="slow-job-2", Timeout=1)["JobRunId"]
    run = helpers.wait_state(glue, "slow-job-2", run_id)
    assert (run["JobRunState"], run["Timeout"]) == ("TIMEOUT", 1)


def test_stop_and_max_concurrent_runs(glue: Any, scripts: Path, helpers: Any) -> None:
    helpers.create_job(glue, "stop-job", scripts / "sleep.py")  # MaxConcurrentRuns defaults to 1
    run_id = glue.start_job_run(JobName="stop-job")["JobRunId"]
    with pytest.raises(glue.exceptions.ConcurrentRunsExceededException):
        glue.start_job_run(JobName="stop-job")
    run = helpers.wait_state(glue, "stop-job", run_id, {"RUNNING"})
    leader, grandchild = helpers.sleeper_pids(run)

    resp = glue.batch_stop_job_run(JobName="stop-job", JobRunIds=[run_id, "jr_unknown"])
    assert resp["SuccessfulSubmissions"] == [{"JobName": "stop-job", "JobRunId": run_id}]
    assert [e["JobRunId"] for e in resp["Errors"]] == ["jr_unknown"]
    run = helpers.wait_state(glue, "stop-job", run_id)
    assert run["JobRunState"] == "STOPPED"
    assert not helpers.alive(leader)
    helpers.wait_for(lambda: not helpers.alive(grandchild), "the grandchild to die")

    # a finished run cannot be stopped; a new run is allowed again
    resp = glue.batch_stop_job_run(JobName="stop-job", JobRunIds=[run_id])
    assert resp["SuccessfulSubmissions"] == [] and len(resp["Errors"]) == 1
    again = glue.start_job_run(JobName="stop-job")["JobRunId"]
    glue.batch_stop_job_run(JobName="stop-job", JobRunIds=[again])
    assert helpers.wait_state(glue, "stop-job", again)["JobRunState"] == "STOPPED"


def test_global_cap_queues_runs_in_starting(make_runner: Any, scripts: Path, helpers: Any) -> None:
    r = make_runner(extra=["--max-concurrency", "2"])
    g = r.glue()
    helpers.create_job(g, "cap-job", scripts / "sleep.py", ExecutionProperty={"MaxConcurrentRuns": 3})
    ids = [g.start_job_run(JobName="cap-job")["JobRunId"] for _ in range(3)]

    def states() -> list[str]:
        return [g.get_job_run(JobName="cap-job", RunId=i)["JobRun"]["JobRunState"] for i in ids]

    helpers.wait_for(lambda: states()[:2] == ["RUNNING", "RUNNING"], "two runs to occupy the slots")
    time.sleep(1)  # give a (wrongly) free slot the chance to start the third run
    assert states()[2] == "STARTING"
    g.batch_stop_job_run(JobName="cap-job", JobRunIds=ids[:1])
    assert helpers.wait_state(g, "cap-job", ids[2], {"RUNNING"})["JobRunState"] == "RUNNING"
    g.batch_stop_job_run(JobName="cap-job", JobRunIds=ids)
    assert {helpers.wait_state(g, "cap-job", i)["JobRunState"] for i in ids} == {"STOPPED"}
