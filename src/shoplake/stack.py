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
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import requests

from shoplake import private
from shoplake.orchestration.components import airflow_components
from shoplake.processes import Component, free_port
from shoplake.settings import ROOT, Settings, read_stack_file, stack_file

log = logging.getLogger(__name__)

EMULATOR_KEY = "test"
#: AWS reserves "aws.*" event sources for itself (PutEvents refuses them, and so does
#: MiniStack): the local runner announces Glue Job State Change events under its own source.
GLUE_RUNNER_EVENT_SOURCE = "shoplake.glue-runner"


class StackError(RuntimeError):
    pass


def _venv_bin() -> str:
    return str(Path(sys.executable).parent)


COMPONENT_NAMES = ("emulator", "glue-runner", "fx-api", "airflow-api", "airflow-scheduler",
                   "airflow-dag-processor", "airflow-triggerer")


def ports_file(home: Path) -> Path:
    return home / "ports.json"


def port_usable(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens on ``port`` (we could bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as the servers bind it: a port in TIME_WAIT after `shoplake down` is free to them
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def saved_ports(home: Path) -> dict[str, int]:
    try:
        return {k: int(v) for k, v in json.loads(ports_file(home).read_text()).items()}
    except (FileNotFoundError, ValueError, AttributeError):
        return {}


def choose_ports(settings: Settings) -> dict[str, int]:
    """The port of every component: the one it had last time when it is still free.

    Stable ports are not a nicety: MiniStack keys its SQS queues by a URL that contains its
    port, so an emulator restarted on another port restores queues that its event source
    mappings can no longer find (they list ``Enabled`` and never poll again).
    """
    saved = saved_ports(settings.home)
    ports: dict[str, int] = {}
    for name in COMPONENT_NAMES:
        port = saved.get(name)
        ports[name] = port if port and port_usable(port, settings.bind_host) else free_port(settings.bind_host)
    return ports


def plan_components(settings: Settings, ports: dict[str, int] | None = None) -> list[Component]:
    """The processes of the local stack, on ``ports`` (default: :func:`choose_ports`)."""
    home = settings.home
    chosen = ports or choose_ports(settings)
    ports = {"aws": chosen["emulator"], "glue": chosen["glue-runner"], "fx_api": chosen["fx-api"]}
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
            # `python -m ministack` behind the Host/Origin guard (no web page drives it)
            argv=[str(settings.emulator_python), str(ROOT / "services" / "emulator_guard.py")],
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
                # opt-in (settings.emulator_auth); what it covers and does not:
                # docs/local-services.md
                "AUTH": "true" if settings.emulator_auth else "false",
            },
        ),
    ]
    runner = ROOT / "services" / "glue_runner" / "server.py"
    components.append(
        Component(
            name="glue-runner",
            argv=[sys.executable, str(runner), "--host", settings.bind_host,
                  "--port", str(ports["glue"]), "--home", str(home), "--emit-events",
                  "--event-source", GLUE_RUNNER_EVENT_SOURCE,
                  # job definitions are CloudFormation's, in the emulator's Glue API
                  "--jobs-endpoint", aws_url],
            health_path="/health",
            port=ports["glue"],
            endpoint_key="glue",
            env={**aws_env, "SHOPLAKE_JOB_ENGINE": settings.job_engine},
        )
    )
    fx = ROOT / "services" / "fx_api" / "server.py"
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
        components += airflow_components(settings, aws_url=aws_url, glue_url=glue_url, ports=chosen)
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
    private.private_dir(home)
    with open(home / "stack.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


#: The same lock for others who write files of the stack's home (``shoplake dashboard``
#: saves its port in ports.json).
stack_lock = _lock


# --- public API -----------------------------------------------------------------------
def running_state(settings: Settings) -> dict[str, Any] | None:
    """The stack file if any process of its group is alive (some components may be dead:
    ``up`` restarts those), else None."""
    state = read_stack_file(settings.home)
    pgid = state.get("pgid")
    if pgid and (_alive(pgid) or group_members(pgid)):
        return state
    return None


def _clean_stale(settings: Settings) -> None:
    state = read_stack_file(settings.home)
    if not state:
        return
    pgid = state.get("pgid")
    if pgid:
        leftovers = group_members(pgid)
        log.warning("cleaning a stale stack from a killed run", extra={"ctx": {"pgid": pgid, "leftovers": len(leftovers)}})
        _terminate_group(pgid, timeout=5)
    stack_file(settings.home).unlink(missing_ok=True)


def _base_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = _venv_bin() + os.pathsep + env.get("PATH", "")
    env["SHOPLAKE_HOME"] = str(settings.home)
    return env


def _start(comp: Component, state: dict[str, Any], settings: Settings,
           echo: Callable[[str], None]) -> None:
    """Start one component in the stack's process group and wait until it is healthy."""
    log_path = settings.home / "logs" / f"{comp.name}.log"
    echo(f"starting {comp.name} on {comp.url} ...")
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            comp.argv,
            env={**_base_env(settings), **comp.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(ROOT),
            process_group=state["pgid"] or 0,
            umask=private.UMASK,  # what the components write into the state folder is private
        )
    if state["pgid"] is None:
        state["pgid"] = proc.pid
    state["components"][comp.name] = {
        "pid": proc.pid, "port": comp.port, "url": comp.url, "started_at": time.time(),
        "health": comp.url + comp.health_path, "log": str(log_path),
    }
    state["endpoints"][comp.endpoint_key] = comp.url
    _write_state(settings, state)
    _wait_healthy(comp, proc, log_path)
    echo(f"  {comp.name} healthy")


def _prepare_home(settings: Settings, ports: dict[str, int]) -> None:
    (settings.home / "logs").mkdir(parents=True, exist_ok=True)
    emu = settings.home / "emulator"
    previous = saved_ports(settings.home).get("emulator")
    if previous and previous != ports["emulator"] and any((emu / "state").glob("*")):
        # MiniStack's restored queues carry the old port in their URL and would never be
        # polled again: rebuild that state by deploy. S3 (the lake, the ledger) is kept.
        log.warning("emulator port %s is taken: starting on %s without its saved non-S3 state",
                    previous, ports["emulator"])
        shutil.rmtree(emu / "state", ignore_errors=True)
    for d in ("state", "tmp", "s3"):
        (emu / d).mkdir(parents=True, exist_ok=True)
    # keep what others saved there (the dashboard's port)
    ports_file(settings.home).write_text(json.dumps({**saved_ports(settings.home), **ports}, indent=1))


def up(settings: Settings, echo: Callable[[str], None] = print,
       only: set[str] | None = None) -> dict[str, Any]:
    """Start every component (or ``only`` those named) and return the stack state.

    Converges: on a running stack it restarts just the components that are dead or
    unhealthy, on their own ports; ``state["restarted"]`` names what it started.
    """
    with _lock(settings.home):
        # a state folder made before it was private (0755, 0644 files) is repaired here
        private.harden(settings)
        state = running_state(settings)
        if state:
            return _converge(settings, state, echo, only)
        _clean_stale(settings)
        ports = choose_ports(settings)
        _prepare_home(settings, ports)
        components = [c for c in plan_components(settings, ports) if only is None or c.name in only]
        state = {"pgid": None, "started_at": time.time(), "components": {}, "endpoints": {}}
        try:
            for comp in components:
                _start(comp, state, settings, echo)
        except BaseException:
            if state["pgid"]:
                _terminate_group(state["pgid"])
            stack_file(settings.home).unlink(missing_ok=True)
            raise
        state["restarted"] = [c.name for c in components]
        return state


def _converge(settings: Settings, state: dict[str, Any], echo: Callable[[str], None],
              only: set[str] | None) -> dict[str, Any]:
    known = state.get("components", {})
    ports = {**choose_ports(settings), **{n: int(c["port"]) for n, c in known.items()}}
    wanted = [c for c in plan_components(settings, ports) if only is None or c.name in only]
    health = component_health(state)
    sick = [c for c in wanted if not health.get(c.name)]
    # alive but slow to answer is not dead: ask again before restarting anything
    deadline = time.monotonic() + 15
    while sick and time.monotonic() < deadline and any(_alive(known[c.name]["pid"]) for c in sick if c.name in known):
        time.sleep(1)
        health = component_health(state)
        sick = [c for c in sick if not health.get(c.name)]
    if not sick:
        echo(f"stack already running (pgid {state['pgid']}), every component healthy: nothing to do")
        state["restarted"] = []
        return state
    for comp in sick:
        old = known.get(comp.name)
        if old and _alive(old["pid"]):
            echo(f"{comp.name} (pid {old['pid']}) is not healthy: restarting it")
            _terminate_tree(old["pid"])
        elif old:
            echo(f"{comp.name} (pid {old['pid']}) is dead: restarting it")
        if not port_usable(comp.port, settings.bind_host):
            raise StackError(f"port {comp.port} of {comp.name} is held by another process: "
                             "run `shoplake down`, then `shoplake up`")
        try:
            _start(comp, state, settings, echo)
        except OSError as exc:  # the process group is gone too
            raise StackError(f"cannot restart {comp.name} ({exc}): run `shoplake down`, then `shoplake up`") from exc
    state["restarted"] = [c.name for c in sick]
    _write_state(settings, state)
    return state


def _write_state(settings: Settings, state: dict[str, Any]) -> None:
    path = stack_file(settings.home)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({k: v for k, v in state.items() if k != "restarted"}, indent=2))
    tmp.replace(path)


def _terminate_tree(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM a process and its descendants, SIGKILL what is left after ``timeout``."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()


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


#: ``down`` stops the stack in this order, one tier at a time: what produces work first,
#: the emulator last, so the Glue runner's final state-change events still reach it.
STOP_TIERS = (("airflow-",), ("fx-api", "glue-runner"), ("emulator",))


def _stop_tiers(state: dict[str, Any], timeout: float, echo: Callable[[str], None]) -> None:
    comps = state.get("components", {})
    for tier in STOP_TIERS:
        procs = []
        for name, comp in comps.items():
            if any(name.startswith(t) for t in tier):
                with contextlib.suppress(psutil.Error):
                    procs.append(psutil.Process(comp["pid"]))
        if not procs:
            continue
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.terminate()
        _, alive = psutil.wait_procs(procs, timeout=timeout)
        if alive:
            echo(f"  {len(alive)} process(es) of {'/'.join(tier)} needed SIGKILL after {timeout:.0f}s")
            for p in alive:
                with contextlib.suppress(psutil.Error):
                    p.kill()


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
        _stop_tiers(state, timeout, echo)
        killed = _terminate_group(pgid, timeout=timeout)
        if killed:
            echo(f"  {killed} process(es) needed SIGKILL after {timeout:.0f}s")
        stack_file(settings.home).unlink(missing_ok=True)
        echo("stack stopped")
        return True


def component_health(state: dict[str, Any]) -> dict[str, bool]:
    out = {}
    for name, comp in state.get("components", {}).items():
        if not _alive(comp["pid"]):
            out[name] = False
            continue
        try:
            out[name] = requests.get(comp["health"], timeout=2).ok
        except requests.RequestException:
            out[name] = False
    return out
