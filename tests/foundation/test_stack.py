"""The local stack's lifecycle with real processes: up, second up, status, down, stale state."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from pathlib import Path

import duckdb
import psutil
import pytest
from click.testing import CliRunner

from shoplake import stack
from shoplake.cli import cli
from shoplake.settings import load_settings, read_stack_file

pytestmark = pytest.mark.slow


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _quiet(_: str) -> None:
    pass


def test_up_status_second_up_down_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("SHOPLAKE_LOCAL_AIRFLOW", "false")  # Airflow's start: tests/airflow_dags

    # a state folder from before it was private: 0755 folder, 0644 warehouse and Airflow db
    tmp_path.chmod(0o755)
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    (tmp_path / "airflow").mkdir(mode=0o755)
    (tmp_path / "airflow" / "airflow.db").write_bytes(b"")
    for f in ("warehouse.duckdb", "airflow/airflow.db"):
        (tmp_path / f).chmod(0o644)
    runner = CliRunner()
    try:
        r = runner.invoke(cli, ["up"])  # provisioned: status checks the event path too
        assert r.exit_code == 0, r.output
        assert "event path delivers" in r.output
        # up repaired it; what the components wrote since (the emulator's S3 data holds raw
        # objects) is private from creation (their umask)
        assert [_mode(tmp_path / p) for p in ("", "airflow", "warehouse.duckdb", "airflow/airflow.db")] == [
            0o700, 0o700, 0o600, 0o600]
        written = [p for p in (tmp_path / "emulator").rglob("*") if p.is_file()]
        assert written and all(_mode(p) & 0o077 == 0 for p in written), [
            (p, oct(_mode(p))) for p in written if _mode(p) & 0o077]
        state = read_stack_file(tmp_path)
        pgid = state["pgid"]
        assert {"emulator", "glue-runner", "fx-api"} <= set(state["components"])
        for comp in state["components"].values():
            assert comp["url"].startswith("http://127.0.0.1:")
            # bound to loopback only
            conns = [c for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == comp["port"]]
            assert conns and all(c.laddr.ip == "127.0.0.1" for c in conns)
        r = runner.invoke(cli, ["status"])
        assert r.exit_code == 0 and "healthy" in r.output, r.output
        r = runner.invoke(cli, ["up", "--no-deploy"])
        assert r.exit_code == 0 and "already running" in r.output
        assert read_stack_file(tmp_path)["pgid"] == pgid
        r = runner.invoke(cli, ["env"])
        assert f"AWS_ENDPOINT_URL={state['endpoints']['aws']}" in r.output
    finally:
        r = runner.invoke(cli, ["down"])
    assert "stack stopped" in r.output
    assert stack.group_members(pgid) == []
    assert not (tmp_path / "stack.json").exists()


def test_stale_state_from_a_killed_run_is_cleaned(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    state = stack.up(settings, echo=_quiet, only={"emulator"})
    pgid = state["pgid"]
    os.killpg(pgid, signal.SIGKILL)  # a crash: stack.json stays behind
    deadline = time.monotonic() + 10
    while stack.group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert json.loads((tmp_path / "stack.json").read_text())["pgid"] == pgid
    assert stack.running_state(settings) is None
    try:
        new = stack.up(settings, echo=_quiet, only={"emulator"})
        assert new["pgid"] != pgid
    finally:
        stack.down(settings, echo=_quiet, timeout=5)
    assert not (tmp_path / "stack.json").exists()


def test_port_held_by_someone_else_is_detected(tmp_path: Path) -> None:
    import socket

    settings = load_settings(home=tmp_path, local_airflow=False)
    comp = stack.plan_components(settings)[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", comp.port))
        s.listen()
        assert os.getpid() in stack._listening_pids(comp.port)
