"""One warehouse object per backend, picked from the settings (issue 13 item 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shoplake.settings import ROOT, load_settings
from shoplake.warehouse.backends import (
    LocalWarehouse,
    SnowflakeWarehouse,
    WarehouseError,
    backend,
)


def test_each_profile_gets_its_warehouse(tmp_path: Path) -> None:
    assert isinstance(backend(load_settings(home=tmp_path)), LocalWarehouse)
    assert isinstance(backend(load_settings(profile="compose", home=tmp_path)), LocalWarehouse)
    assert isinstance(backend(load_settings(profile="aws", home=tmp_path)), SnowflakeWarehouse)


def test_snowflake_has_no_writer_lock_and_no_native_mode(tmp_path: Path) -> None:
    wh = backend(load_settings(profile="aws", home=tmp_path))
    with wh.writer_lock(timeout=0):
        pass
    assert not (tmp_path / "warehouse.writer.lock").exists()
    with pytest.raises(WarehouseError, match="--native needs the local DuckDB warehouse"):
        wh.native_connection()
    assert wh.dbt_env()["SHOPLAKE_DBT_TARGET"] == "prod"


def test_local_writer_lock_is_a_file_lock(tmp_path: Path) -> None:
    wh = backend(load_settings(home=tmp_path))
    with wh.writer_lock(timeout=1):
        assert (tmp_path / "warehouse.writer.lock").exists()
    assert wh.dbt_env()["SHOPLAKE_WAREHOUSE_PATH"] == str((tmp_path / "warehouse.duckdb").resolve())


def test_no_module_outside_settings_tests_the_profile_by_value() -> None:
    pattern = re.compile(r"\b(warehouse_backend|stack_mode|dbt_target)\s*(==|!=)|\.extra\.get\(")
    hits = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("src", "dags", "services")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "settings.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []
