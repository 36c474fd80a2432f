"""Warm workers (``--warm-workers``): duckdb-engine runs forked from a pre-imported worker
behave exactly like cold ``python script args`` runs (arguments, environment, folder,
``sys.path``, exit status, log), and stop, timeout, clean-up and restart still reach the
run's whole process group."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

PROBE = (
    "import json, os, sys\n"
    "import probe_lib\n"
    "print('PROBE', json.dumps({'argv': sys.argv, 'name': __name__, 'cwd': os.getcwd(),\n"
    "    'engine': os.environ.get('SHOPLAKE_JOB_ENGINE'), 'marker': os.environ.get('WARM_MARKER'),\n"
    "    'lib': probe_lib.VALUE, 'path0': sys.path[0], 'pid': os.getpid(), 'pgid': os.getpgid(0),\n"
    "    'sid': os.getsid(0), 'ppid': os.getppid(), 'duckdb': 'duckdb' in sys.modules}))\n"
)


@pytest.fixture(scope="module")
def warm_runner(make_runner: Any, ministack: str) -> Any:
    return make_runner(ministack, ["--warm-workers"], WARM_MARKER="from-the-runner-env")


@pytest.fixture(scope="module")
def cold_runner(make_runner: Any, ministack: str) -> Any:
    return make_runner(ministack, ["--no-warm-workers"])


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("probe")
    (d / "probe.py").write_text(PROBE)
    lib = d / "lib"
    lib.mkdir()
    (lib / "probe_lib.py").write_text("VALUE = 42\n")
    return d


def _probe(glue: Any, helpers: Any, name: str, probe: Path) -> tuple[dict[str, Any], str]:
    import json

    helpers.create_job(glue, name, probe / "probe.py",
                       DefaultArguments={"--extra-py-files": str(probe / "lib" / "probe_lib.py")})
    run = helpers.wait_state(glue, name, glue.start_job_run(JobName=name, Arguments={"--k": "v w"})["JobRunId"])
    log = Path(run["LogGroupName"]).read_text()
    assert run["JobRunState"] == "SUCCEEDED", log
    return json.loads(log.split("PROBE ", 1)[1].splitlines()[0]), log


def test_warm_run_sees_what_a_cold_run_sees(warm_runner: Any, cold_runner: Any, probe: Path, helpers: Any) -> None:
    warm, warm_log = _probe(warm_runner.glue(), helpers, "probe-warm", probe)
    cold, cold_log = _probe(cold_runner.glue(), helpers, "probe-cold", probe)
    assert warm_log.startswith("[glue_runner] ") and cold_log.startswith("[glue_runner] ")
    assert warm["name"] == cold["name"] == "__main__"
    assert warm["argv"][0] == str(probe / "probe.py")
    for info in (warm, cold):
        args = dict(zip(info["argv"][1::2], info["argv"][2::2], strict=True))
        assert args["--k"] == "v w" and args["--JOB_NAME"].startswith("probe-")
        assert info["lib"] == 42 and info["engine"] == "duckdb"
        assert info["path0"] == str(probe)
        assert info["pgid"] == info["sid"] == info["pid"]  # its own session and process group
    assert warm["marker"] == "from-the-runner-env"
    assert Path(warm["cwd"]).name == Path(cold["cwd"]).name  # the runner's folder, as cold
    assert warm["ppid"] != warm_runner.proc.pid  # forked by the worker, not by the runner
    assert warm["duckdb"] and not cold["duckdb"]  # the worker pre-imported it


@pytest.mark.parametrize("n,body,state,message", [
    (1, "raise ValueError('boom: bad input row 7')\n", "FAILED", "ValueError: boom: bad input row 7"),
    (2, "import sys\nprint('exiting with 3')\nsys.exit(3)\n", "FAILED", "exiting with 3"),
    (3, "import sys\nsys.exit('fatal: told to stop')\n", "FAILED", "fatal: told to stop"),
    (4, "import sys\nprint('fine')\nsys.exit(0)\n", "SUCCEEDED", None),
    (5, "import os, signal\nprint('about to die', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n",
     "FAILED", "about to die"),
])
def test_exit_status_is_reported_like_a_cold_run(
    warm_runner: Any, cold_runner: Any, tmp_path: Path, helpers: Any, n: int, body: str, state: str,
    message: str | None,
) -> None:
    script = tmp_path / "exit.py"
    script.write_text(body)
    for r in (warm_runner, cold_runner):
        g = r.glue()
        helpers.create_job(g, f"exit-{n}", script)
        run = helpers.wait_state(g, f"exit-{n}", g.start_job_run(JobName=f"exit-{n}")["JobRunId"])
        assert (run["JobRunState"], run.get("ErrorMessage")) == (state, message), r.url


def test_timeout_and_stop_kill_the_process_group(warm_runner: Any, scripts: Path, helpers: Any) -> None:
    g = warm_runner.glue()
    helpers.create_job(g, "warm-sleep", scripts / "sleep.py", Timeout=1)  # 1 "minute" = 1 s here
    run = helpers.wait_state(g, "warm-sleep", g.start_job_run(JobName="warm-sleep")["JobRunId"])
    assert run["JobRunState"] == "TIMEOUT"
    leader, grandchild = helpers.sleeper_pids(run)
    helpers.wait_for(lambda: not helpers.alive(leader) and not helpers.alive(grandchild), "the group to die")

    busy = g.start_job_run(JobName="warm-sleep", Timeout=10)["JobRunId"]
    leader, grandchild = helpers.sleeper_pids(helpers.wait_state(g, "warm-sleep", busy, {"RUNNING"}))
    g.batch_stop_job_run(JobName="warm-sleep", JobRunIds=[busy])
    assert helpers.wait_state(g, "warm-sleep", busy)["JobRunState"] == "STOPPED"
    helpers.wait_for(lambda: not helpers.alive(leader) and not helpers.alive(grandchild), "the group to die")


def test_leftover_children_are_killed(warm_runner: Any, scripts: Path, helpers: Any) -> None:
    g = warm_runner.glue()
    helpers.create_job(g, "warm-leaky", scripts / "leaky.py")
    run = helpers.wait_state(g, "warm-leaky", g.start_job_run(JobName="warm-leaky")["JobRunId"])
    assert run["JobRunState"] == "SUCCEEDED"
    _, grandchild = helpers.sleeper_pids(run)
    helpers.wait_for(lambda: not helpers.alive(grandchild), "the leftover child to die")


def _worker_pid(runner_pid: int) -> int:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == runner_pid and b"warm.py" in cmdline:
            return int(entry)
    raise AssertionError("no warm worker under the runner")


def test_a_killed_worker_means_a_cold_start_then_a_new_worker(
    make_runner: Any, ministack: str, probe: Path, helpers: Any
) -> None:
    r = make_runner(ministack, ["--warm-workers"])
    g = r.glue()
    assert _probe(g, helpers, "probe-1", probe)[0]["duckdb"]  # warm
    os.kill(_worker_pid(r.proc.pid), signal.SIGKILL)
    assert not _probe(g, helpers, "probe-2", probe)[0]["duckdb"]  # cold (the worker restarts)
    assert _probe(g, helpers, "probe-3", probe)[0]["duckdb"]  # warm again


def test_sigkill_restart_kills_a_warm_orphan(make_runner: Any, ministack: str, scripts: Path, helpers: Any) -> None:
    r = make_runner(ministack, ["--warm-workers"])
    g = r.glue()
    helpers.create_job(g, "warm-orphan", scripts / "sleep.py")
    busy = g.start_job_run(JobName="warm-orphan")["JobRunId"]
    leader, grandchild = helpers.sleeper_pids(helpers.wait_state(g, "warm-orphan", busy, {"RUNNING"}))
    r.stop(signal.SIGKILL)
    assert helpers.alive(leader)
    r.start()
    helpers.wait_for(lambda: not helpers.alive(leader) and not helpers.alive(grandchild), "the orphan group to die")
    run = r.glue().get_job_run(JobName="warm-orphan", RunId=busy)["JobRun"]
    assert (run["JobRunState"], run["ErrorMessage"]) == ("FAILED", "runner restarted")
