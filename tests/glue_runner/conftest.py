"""Fixtures: a real MiniStack (S3 + EventBridge + SQS) and real Glue runner processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import glue_runner
import pytest

ROOT = Path(__file__).resolve().parents[2]
MINISTACK = ROOT / ".venv-emulator" / "bin" / "ministack"
KEYS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
FINAL = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"}

SCRIPTS = {
    "ok.py": "import sys\nprint('ARGS', sys.argv[1:])\n",
    "fail.py": "print('about to fail')\nraise ValueError('boom: bad input row 7')\n",
    # sleeps in a grandchild too, so killing the process group (not just the leader) is tested
    "sleep.py": (
        "import os, subprocess, time\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        "print('PIDS', os.getpid(), child.pid, flush=True)\n"
        "time.sleep(300)\n"
    ),
    # exits at once but leaves a background child in its process group
    "leaky.py": (
        "import os, subprocess\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        "print('PIDS', os.getpid(), child.pid, flush=True)\n"
    ),
}


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    """Session scratch space outside pytest's basetemp: concurrent pytest sessions on this
    machine prune each other's ``/tmp/pytest-of-*`` folders, which would pull the state
    directories out from under the servers."""
    d = Path(tempfile.mkdtemp(prefix="glue_runner_tests-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _mkdir(parent: Path, prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {limit}s:\n{log.read_text()}")


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # zombies are dead


@dataclass
class Runner:
    """One runner process (restartable on the same home)."""

    home: Path
    env: dict[str, str]
    extra: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return glue_runner.endpoint(self.port)

    @property
    def log(self) -> Path:
        return self.home / f"runner-{self.starts}.log"

    def start(self) -> Runner:
        self.port = free_port()
        self.starts += 1
        self.home.mkdir(parents=True, exist_ok=True)
        cmd = glue_runner.command(self.port, self.home, extra=self.extra)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=self.home
            )
        wait_http(f"{self.url}/health", self.proc, self.log)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        return stop_process(self.proc, sig)

    def glue(self) -> Any:
        return boto3.client(
            "glue", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )


@pytest.fixture(scope="session")
def scripts(workdir: Path) -> Path:
    d = _mkdir(workdir, "scripts-")
    for name, text in SCRIPTS.items():
        (d / name).write_text(text)
    return d


@pytest.fixture(scope="session")
def ministack(workdir: Path) -> Iterator[str]:
    if not MINISTACK.exists():
        pytest.skip("MiniStack venv (.venv-emulator) not installed")
    d = _mkdir(workdir, "ministack-")
    port = free_port()
    env = {
        **os.environ, **KEYS, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1",
        "STATE_DIR": str(d), "TMPDIR": str(d), "S3_DATA_DIR": str(d / "s3"),
    }
    log = d / "ministack.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(MINISTACK)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=d)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/_ministack/health", proc, log)
        yield url
    finally:
        stop_process(proc)


def runner_env(tmp: Path, aws_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPLAKE_", "AWS_"))}
    env.update(KEYS)
    env["SHOPLAKE_HOME"] = str(tmp / "shoplake-home")  # no stack.json from a real stack
    env["SHOPLAKE_JOB_ENGINE"] = "duckdb"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if aws_url:
        env["SHOPLAKE_AWS_ENDPOINT_URL"] = aws_url
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def make_runner(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Runner]]:
    """Factory of runner processes; all of them are stopped at the end of the session."""
    made: list[Runner] = []
    # the tests' scripts live in these folders and bucket prefix, not in the deploy's artifacts
    allow = f"{workdir},{tmp_path_factory.getbasetemp()},s3://artifacts/jobs/"

    def make(aws_url: str | None = None, extra: list[str] | None = None, **env: str) -> Runner:
        home = _mkdir(workdir, "runner-")
        r = Runner(home=home, env=runner_env(home, aws_url, **env),
                   extra=["--timeout-scale", "1", "--stop-grace", "2", "--allow-scripts", allow,
                          *(extra or [])])
        made.append(r)
        return r.start()

    yield make
    for r in made:
        if r.proc is not None:
            stop_process(r.proc)


@pytest.fixture(scope="session")
def runner(make_runner: Callable[..., Runner], ministack: str) -> Runner:
    """The shared runner: duckdb engine, MiniStack for S3/EventBridge, events on."""
    return make_runner(ministack, ["--emit-events"])


@pytest.fixture(scope="session")
def glue(runner: Runner) -> Any:
    return runner.glue()


def wait_state(
    glue: Any, job: str, run_id: str, states: set[str] = FINAL, limit: float = 120.0
) -> dict[str, Any]:
    """Poll GetJobRun until the run is in one of ``states``; returns the run."""
    deadline = time.monotonic() + limit
    while True:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] in states:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run['JobRunState']} after {limit}s")
        time.sleep(0.1)


def wait_for(predicate: Callable[[], Any], what: str, limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)
    return value


def create_job(glue: Any, name: str, script: Path | str, **kwargs: Any) -> str:
    glue.create_job(
        Name=name, Role="arn:aws:iam::000000000000:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": str(script), "PythonVersion": "3"},
        GlueVersion="5.0", **kwargs,
    )
    return name


def read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def sleeper_pids(run: dict[str, Any]) -> tuple[int, int]:
    """(script pid, grandchild pid) of a sleep.py run, read from its log."""
    log = Path(run["LogGroupName"])
    text = wait_for(lambda: "PIDS" in read(log) and read(log), "sleep.py's pids")
    leader, grandchild = text.split("PIDS", 1)[1].split()[:2]
    return int(leader), int(grandchild)


@pytest.fixture(scope="session")
def helpers() -> Any:
    """The module-level helpers, for test modules (conftest is not importable in importlib mode)."""
    import types

    return types.SimpleNamespace(
        wait_state=wait_state, wait_for=wait_for, create_job=create_job, alive=alive,
        sleeper_pids=sleeper_pids, read=read, free_port=free_port, KEYS=KEYS, ROOT=ROOT,
    )
