"""The state folder and the files holding raw PII or secrets are owner-only (issue 12,
finding 10): 0700 / 0600 from creation, and an older folder is repaired by `shoplake up`."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from shoplake import private
from shoplake.orchestration.config import airflow_env
from shoplake.settings import load_settings
from shoplake.warehouse import connection
from shoplake.warehouse.writer_lock import writer_lock


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual 022 umask: files are 0644 unless the code makes them private."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _old_state_folder(home: Path) -> list[Path]:
    """A state folder as main made it: 0755 folders, 0644 files."""
    files = [
        home / "warehouse.duckdb", home / "warehouse.duckdb.wal", home / "pii-key",
        home / "airflow" / "airflow.db", home / "airflow" / "airflow.db-wal",
        home / "airflow" / "airflow.db-journal", home / "airflow" / "jwt-secret",
        home / "airflow" / "admin-password", home / "airflow" / "passwords.json",
    ]
    for d in (home, home / "airflow", home / "logs", home / "emulator" / "s3" / "shoplake-lake"):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)
    for f in files:
        f.write_text("x")
        f.chmod(0o644)
    return files


def test_harden_repairs_an_old_state_folder_and_is_idempotent(tmp_path: Path, loose_umask: None) -> None:
    home = tmp_path / ".shoplake"
    files = _old_state_folder(home)
    log = home / "logs" / "emulator.log"
    log.write_text("x")
    (home / "link").symlink_to(tmp_path)  # a symlink's target is not ours to change
    tmp_path.chmod(0o755)
    s = load_settings(home=home)
    changed = private.harden(s)
    assert set(files) <= set(changed)
    for d in (home, home / "airflow", home / "logs", home / "emulator", home / "emulator" / "s3",
              home / "emulator" / "s3" / "shoplake-lake"):
        assert _mode(d) == 0o700, d
    for f in files:
        assert _mode(f) == 0o600, f
    assert _mode(tmp_path) == 0o755
    assert private.harden(s) == []


def test_warehouse_outside_the_state_folder_is_private_too(tmp_path: Path, loose_umask: None) -> None:
    elsewhere = tmp_path / "data" / "wh.duckdb"
    elsewhere.parent.mkdir()
    duckdb.connect(str(elsewhere)).close()
    elsewhere.chmod(0o644)
    s = load_settings(home=tmp_path / "home", warehouse_path=elsewhere)
    assert elsewhere in private.harden(s)
    assert _mode(elsewhere) == 0o600


def test_new_state_folder_warehouse_and_secrets_are_private_from_creation(
    tmp_path: Path, loose_umask: None
) -> None:
    home = tmp_path / ".shoplake"
    s = load_settings(home=home)
    conn = connection.connect(s)  # creates the warehouse file (real DuckDB behind fakesnow)
    try:
        connection.create_tables(conn)  # the raw tables (customers: raw PII)
    finally:
        conn.close()
    assert _mode(home) == 0o700
    assert _mode(s.warehouse_file) == 0o600
    with writer_lock(s):
        pass
    env = airflow_env(s)
    airflow = Path(env["AIRFLOW_HOME"])
    assert _mode(airflow) == 0o700
    for name in ("jwt-secret", "admin-password", "passwords.json"):
        if (airflow / name).exists():
            assert _mode(airflow / name) == 0o600, name
    assert private.harden(s) == []  # nothing left to repair
