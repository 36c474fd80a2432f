"""History survives restarts; a killed runner's unfinished runs become FAILED, a stopped
runner's become STOPPED, and no job process outlives either."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any


def test_sigkill_restart_keeps_history_and_fails_orphans(
    make_runner: Any, scripts: Path, helpers: Any
) -> None:
    r = make_runner()
    g = r.glue()
    helpers.create_job(g, "hist-ok", scripts / "ok.py")
    helpers.create_job(g, "hist-sleep", scripts / "sleep.py")
    done = g.start_job_run(JobName="hist-ok")["JobRunId"]
    assert helpers.wait_state(g, "hist-ok", done)["JobRunState"] == "SUCCEEDED"
    busy = g.start_job_run(JobName="hist-sleep")["JobRunId"]
    leader, grandchild = helpers.sleeper_pids(helpers.wait_state(g, "hist-sleep", busy, {"RUNNING"}))

    r.stop(signal.SIGKILL)  # the runner dies; its job process group survives it...
    assert helpers.alive(leader)
    r.start()  # ...until the new runner finds and kills it
    g = r.glue()
    assert not helpers.alive(leader)
    helpers.wait_for(lambda: not helpers.alive(grandchild), "the orphan's child to die")

    assert g.get_job(JobName="hist-ok")["Job"]["Name"] == "hist-ok"
    assert helpers.wait_state(g, "hist-ok", done)["JobRunState"] == "SUCCEEDED"
    run = g.get_job_run(JobName="hist-sleep", RunId=busy)["JobRun"]
    assert (run["JobRunState"], run["ErrorMessage"]) == ("FAILED", "runner restarted")
    assert "CompletedOn" in run
    # and the restarted runner still runs jobs
    again = g.start_job_run(JobName="hist-ok")["JobRunId"]
    assert helpers.wait_state(g, "hist-ok", again)["JobRunState"] == "SUCCEEDED"
    assert [x["Id"] for x in g.get_job_runs(JobName="hist-ok")["JobRuns"]] == [again, done]


def test_sigterm_stops_children(make_runner: Any, scripts: Path, helpers: Any) -> None:
    r = make_runner()
    g = r.glue()
    helpers.create_job(g, "term-sleep", scripts / "sleep.py")
    busy = g.start_job_run(JobName="term-sleep")["JobRunId"]
    leader, grandchild = helpers.sleeper_pids(helpers.wait_state(g, "term-sleep", busy, {"RUNNING"}))

    assert r.stop(signal.SIGTERM) == 0
    assert not helpers.alive(leader)
    helpers.wait_for(lambda: not helpers.alive(grandchild), "the grandchild to die")

    r.start()
    run = r.glue().get_job_run(JobName="term-sleep", RunId=busy)["JobRun"]
    assert (run["JobRunState"], run["ErrorMessage"]) == ("STOPPED", "runner shut down")
