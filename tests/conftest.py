"""Session fixtures shared by the suite: real processes, started once.

- ``emulator``: a MiniStack subprocess alone (fresh state per test via ``fresh_emulator``).
- ``stack``: the embedded stack (MiniStack + Glue job runner + FX API stand-in), provisioned
  with ``shoplake deploy``: the event path end to end.

Both live under a temporary ``SHOPLAKE_HOME`` so a developer's own ``.shoplake/`` is never
touched, and both are stopped (their process group) at the end of the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from shoplake import stack as stack_mod
from shoplake.settings import Settings, get_settings, load_settings


def _silent(_: str) -> None:
    pass


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings pointing at a MiniStack of its own (no provisioning)."""
    home = tmp_path_factory.mktemp("emulator-home")
    settings = load_settings(home=home)
    state = stack_mod.up(settings, echo=_silent, only={"emulator"})
    url = state["endpoints"]["aws"]
    try:
        yield load_settings(home=home, aws_endpoint_url=url, glue_endpoint_url=None)
    finally:
        stack_mod.down(settings, echo=_silent, timeout=10)


@pytest.fixture
def fresh_emulator(emulator: Settings) -> Settings:
    """The ``emulator`` with all state cleared (MiniStack's reset endpoint)."""
    requests.post(f"{emulator.aws_endpoint_url}/_ministack/reset", timeout=10).raise_for_status()
    return emulator


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The whole embedded stack, provisioned; SHOPLAKE_HOME points at it for the session."""
    from shoplake.deploy import deploy

    home: Path = tmp_path_factory.mktemp("stack-home")
    old = os.environ.get("SHOPLAKE_HOME")
    os.environ["SHOPLAKE_HOME"] = str(home)
    # Airflow's own processes are exercised by tests/airflow_dags and tests/demo; the event
    # path tests do not need them (and start ~1 min faster without).
    old_af = os.environ.get("SHOPLAKE_LOCAL_AIRFLOW")
    os.environ["SHOPLAKE_LOCAL_AIRFLOW"] = "false"
    settings = load_settings(home=home)
    stack_mod.up(settings, echo=_silent)
    try:
        live = get_settings()
        deploy(live, echo=_silent)
        yield live
    finally:
        stack_mod.down(settings, echo=_silent, timeout=10)
        for key, value in (("SHOPLAKE_HOME", old), ("SHOPLAKE_LOCAL_AIRFLOW", old_af)):
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
