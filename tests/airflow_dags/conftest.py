"""Airflow test setup: an isolated AIRFLOW_HOME (never the developer's), set BEFORE airflow is
imported, because Airflow reads its configuration once at import.

- ``airflow_db``: ``airflow db migrate`` once per session into that home (SQLite);
- ``airflow_stack``: the embedded ``stack`` plus the ``aws_default`` connection pointing at
  it, for in-process ``dag.test()`` runs of the DAG files in ``dags/``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoplake.settings import ROOT, Settings

if "airflow" in sys.modules:  # pragma: no cover - a guard, not a test
    raise RuntimeError("airflow was imported before tests/airflow_dags/conftest.py could isolate it")

_HOME = Path(tempfile.mkdtemp(prefix="shoplake-airflow-test-"))
AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_HOME / "logs"),
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
}
os.environ.update(AIRFLOW_ENV)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated metadata database (and the ``warehouse`` pool) in the isolated AIRFLOW_HOME,
    made the way the local stack makes it."""
    from shoplake.orchestration.launch import migrate

    venv_bin = str(Path(sys.executable).parent)
    assert migrate({**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"})
    return _HOME


@pytest.fixture(scope="session")
def airflow_stack(stack: Settings, airflow_db: Path) -> Iterator[Settings]:
    """The embedded stack, with ``aws_default`` pointing at it (env connection)."""
    from shoplake.orchestration.config import AWS_CONN_ID, aws_connection

    var = "AIRFLOW_CONN_" + AWS_CONN_ID.upper()
    old = os.environ.get(var)
    os.environ[var] = json.dumps(aws_connection(stack))
    try:
        yield stack
    finally:
        if old is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = old
