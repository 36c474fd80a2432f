"""Lifecycle of the local stack: the processes ``shoplake up`` starts and ``down`` stops.

Every component runs in ONE process group (the first one leads it), so ``down`` can signal
exactly what ``up`` started and nothing else. ``<home>/stack.json`` records the group, each
component's pid, port and log, and the endpoints that :mod:`shoplake.settings` hands to
everything else.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from shoplake.settings import ROOT, Settings, read_stack_file, stack_file

log = logging.getLogger(__name__)

EMULATOR_KEY = "test"
#: AWS reserves "aws.*" event sources for itself (PutEvents refuses them, and so does
#: MiniStack): the local runner announces Glue Job State Change events under its own source.
GLUE_RUNNER_EVENT_SOURCE = "shoplake.glue-runner"


@dataclass
class Component:
    """One local process of the stack."""

    name: str
    argv: list[str]
    health_path: str
    port: int
    endpoint_key: str
    env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 60.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class StackError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _venv_bin() -> str:
    return str(Path(sys.executable).parent)


def plan_components(settings: Settings) -> list[Component]:
    """The processes of the local stack, with freshly chosen loopback ports."""
    home = settings.home
    ports = {name: free_port(settings.bind_host) for name in ("aws", "glue", "fx_api")}
    aws_url = f"http://127.0.0.1:{ports['aws']}"
    glue_url = f"http://127.0.0.1:{ports['glue']}"
    aws_env = {
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_ENDPOINT_URL_GLUE": glue_url,
        "AWS_ACCESS_KEY_ID": EMULATOR_KEY,
        "AWS_SECRET_ACCESS_KEY": EMULATOR_KEY,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_REGION": settings.region,
    }
    emu_dir = home / "emulator"
    components = [
        Component(
            name="emulator",
            argv=[str(settings.emulator_python), "-m", "ministack"],
            health_path="/_ministack/health",
            port=ports["aws"],
            endpoint_key="aws",
            env={
                **aws_env,
                "GATEWAY_PORT": str(ports["aws"]),
                "BIND_HOST": settings.bind_host,
                "STATE_DIR": str(emu_dir / "state"),
                "TMPDIR": str(emu_dir / "tmp"),
                "PERSIST_STATE": "1",
                "S3_PERSIST": "1",
                "S3_DATA_DIR": str(emu_dir / "s3"),
                "LOG_LEVEL": "INFO",
            },
        ),
    ]
    runner = ROOT / "services" / "glue_runner" / "server.py"
    if runner.exists():
        components.append(
            Component(
                name="glue-runner",
                argv=[sys.executable, str(runner), "--host", settings.bind_host,
                      "--port", str(ports["glue"]), "--home", str(home), "--emit-events",
                      "--event-source", GLUE_RUNNER_EVENT_SOURCE],
                health_path="/health",
                port=ports["glue"],
                endpoint_key="glue",
                env={**aws_env, "SHOPLAKE_JOB_ENGINE": settings.job_engine},
            )
        )
    fx = ROOT / "services" / "fx_api" / "server.py"
    if fx.exists():
        components.append(
            Component(
                name="fx-api",
                argv=[sys.executable, str(fx), "--host", settings.bind_host, "--port", str(ports["fx_api"])],
                health_path="/health",
                port=ports["fx_api"],
                endpoint_key="fx_api",
            )
        )
    if settings.local_airflow:
        from shoplake.orchestration.components import airflow_components

        components += airflow_components(settings, aws_url=aws_url, glue_url=glue_url)
    return components


# --- process helpers ------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        p = psutil.Process(pid)
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
    return out


def _listening_pids(port: int) -> set[int]:
    pids: set[int] = set()
    for c in psutil.net_connections(kind="tcp"):
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid:
            pids.add(c.pid)
    return pids


def _wait_healthy(comp: Component, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + comp.ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise StackError(f"{comp.name} exited with {proc.returncode} during start-up:\n{tail}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(comp.url + comp.health_path, timeout=2).ok:
                # The answer must come from OUR process (another server may hold the port).
                owners = _listening_pids(comp.port)
                ours = {proc.pid} | {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
                if owners and not owners & ours:
                    raise StackError(f"port {comp.port} is held by another process {owners}")
                return
        time.sleep(0.2)
    raise StackError(f"{comp.name} not healthy after {comp.ready_timeout:.0f}s; log: {log_path}")


@contextlib.contextmanager
def _lock(home: Path) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "stack.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- public API -----------------------------------------------------------------------
def running_state(settings: Settings) -> dict[str, Any] | None:
    """The stack file if its process group is alive, else None."""
    state = read_stack_file(settings.home)
    pgid = state.get("pgid")
    if pgid and _alive(pgid):
        return state
    return None


def _clean_stale(settings: Settings) -> None:
    state = read_stack_file(settings.home)
    if not state:
        return
    pgid = state.get("pgid")
    if pgid and not _alive(pgid):
        leftovers = group_members(pgid)
        log.warning("cleaning a stale stack from a killed run", extra={"ctx": {"pgid": pgid, "leftovers": len(leftovers)}})
        _terminate_group(pgid, timeout=5)
        stack_file(settings.home).unlink(missing_ok=True)


def up(settings: Settings, echo: Callable[[str], None] = print,
       only: set[str] | None = None) -> dict[str, Any]:
    """Start every component (or ``only`` those named; idempotent). Returns the stack state."""
    with _lock(settings.home):
        state = running_state(settings)
        if state:
            echo(f"stack already running (pgid {state['pgid']}): nothing to do")
            return state
        _clean_stale(settings)
        logs = settings.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        components = [c for c in plan_components(settings) if only is None or c.name in only]
        for d in ("state", "tmp", "s3"):
            (settings.home / "emulator" / d).mkdir(parents=True, exist_ok=True)
        state = {"pgid": None, "started_at": time.time(), "components": {}, "endpoints": {}}
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        base_env["PATH"] = _venv_bin() + os.pathsep + base_env.get("PATH", "")
        base_env["SHOPLAKE_HOME"] = str(settings.home)
        try:
            for comp in components:
                log_path = logs / f"{comp.name}.log"
                echo(f"starting {comp.name} on {comp.url} ...")
                with open(log_path, "ab") as out:
                    proc = subprocess.Popen(
                        comp.argv,
                        env={**base_env, **comp.env},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        cwd=str(ROOT),
                        process_group=state["pgid"] or 0,
                    )
                if state["pgid"] is None:
                    state["pgid"] = proc.pid
                state["components"][comp.name] = {
                    "pid": proc.pid, "port": comp.port, "url": comp.url,
                    "health": comp.url + comp.health_path, "log": str(log_path),
                }
                state["endpoints"][comp.endpoint_key] = comp.url
                _write_state(settings, state)
                _wait_healthy(comp, proc, log_path)
                echo(f"  {comp.name} healthy")
        except BaseException:
            if state["pgid"]:
                _terminate_group(state["pgid"])
            stack_file(settings.home).unlink(missing_ok=True)
            raise
        return state


def _write_state(settings: Settings, state: dict[str, Any]) -> None:
    path = stack_file(settings.home)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)


def _terminate_group(pgid: int, timeout: float = 20.0) -> int:
    """SIGTERM the group, then SIGKILL what is left after ``timeout``. Returns #killed."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not group_members(pgid):
            return 0
        time.sleep(0.2)
    left = group_members(pgid)
    for p in left:
        with contextlib.suppress(psutil.Error):
            p.kill()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    return len(left)


def down(settings: Settings, echo: Callable[[str], None] = print, timeout: float = 20.0) -> bool:
    """Stop every process ``up`` started. Returns False if nothing was running."""
    with _lock(settings.home):
        state = read_stack_file(settings.home)
        pgid = state.get("pgid")
        if not pgid:
            echo("stack not running")
            return False
        members = group_members(pgid)
        echo(f"stopping {len(members)} process(es) of group {pgid} ...")
        killed = _terminate_group(pgid, timeout=timeout)
        if killed:
            echo(f"  {killed} process(es) needed SIGKILL after {timeout:.0f}s")
        stack_file(settings.home).unlink(missing_ok=True)
        echo("stack stopped")
        return True


def component_health(state: dict[str, Any]) -> dict[str, bool]:
    out = {}
    for name, comp in state.get("components", {}).items():
        try:
            out[name] = requests.get(comp["health"], timeout=2).ok
        except requests.RequestException:
            out[name] = False
    return out
