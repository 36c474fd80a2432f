"""Fixtures for the FX ingestion tests: the Frankfurter stand-in (a real process on a free
loopback port) and an AWS emulator (the shared ``emulator`` fixture when the suite has one,
otherwise MiniStack started here)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import fx_api
import pytest
import requests

from shoplake import aws
from shoplake.fx import RetryPolicy
from shoplake.settings import ROOT, Settings, load_settings

MINISTACK = ROOT / ".venv-emulator" / "bin" / "ministack"

#: Retries in tests: real backoff, but tiny.
FAST = RetryPolicy(
    max_attempts=3, backoff_base=0.01, backoff_max=0.05, connect_timeout=2, read_timeout=5
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            resp = requests.get(url, timeout=1)
            if resp.ok:
                return resp.json()
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not healthy after {timeout}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def fx_api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stand-in, started exactly as the stack launcher starts it (``fx_api.command``)."""
    port = free_port()
    log = (tmp_path_factory.mktemp("fx_api") / "server.log").open("wb")
    proc = subprocess.Popen(fx_api.command(port), stdout=log, stderr=subprocess.STDOUT)
    try:
        health = _wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        assert health["pid"] == proc.pid, "another server answers on our port"
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="session")
def _own_ministack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("ministack")
    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "STATE_DIR": str(state),
        "TMPDIR": str(state),
        "S3_DATA_DIR": str(state / "s3"),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    log = (state / "ministack.log").open("wb")
    proc = subprocess.Popen(
        [str(MINISTACK)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=state
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_ministack/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="session")
def aws_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings pointing at a real emulator over HTTP."""
    try:
        return request.getfixturevalue("emulator")
    except pytest.FixtureLookupError:
        endpoint = request.getfixturevalue("_own_ministack")
    return load_settings(
        aws_endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        home=tmp_path_factory.mktemp("home"),
    )


@pytest.fixture
def fx_settings(aws_settings: Settings, fx_api_url: str) -> Settings:
    """Per test: its own bucket and SSM prefix, and a stand-in with no faults and no log."""
    run = uuid.uuid4().hex[:10]
    settings = aws_settings.model_copy(
        update={
            "fx_api_url": fx_api_url,
            "lake_bucket": f"fx-test-{run}",
            "ssm_prefix": f"/fxtest/{run}",
        }
    )
    aws.client("s3", settings).create_bucket(Bucket=settings.lake_bucket)
    requests.post(f"{fx_api_url}/_control/reset", timeout=5).raise_for_status()
    return settings


class Control:
    """Drives the stand-in's fault injection and reads its request log."""

    def __init__(self, url: str) -> None:
        self.url = url

    def set(self, **spec: Any) -> None:
        requests.post(f"{self.url}/_control", json=spec, timeout=5).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/_control", timeout=5).json()["requests"]


@pytest.fixture
def control(fx_settings: Settings) -> Control:
    assert fx_settings.fx_api_url
    return Control(fx_settings.fx_api_url)


@pytest.fixture
def policy() -> RetryPolicy:
    return FAST


@pytest.fixture
def raw_keys(fx_settings: Settings) -> Callable[[], list[str]]:
    """Lists the test bucket's ``raw/fx_rates/`` keys."""

    def list_keys() -> list[str]:
        s3 = aws.client("s3", fx_settings)
        resp = s3.list_objects_v2(Bucket=fx_settings.lake_bucket, Prefix="raw/fx_rates/")
        return sorted(obj["Key"] for obj in resp.get("Contents", []))

    return list_keys
