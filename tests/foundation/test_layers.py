"""Module layering and settings freshness (issue 13 item 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shoplake.settings import get_settings


def test_airflow_components_do_not_import_the_stack() -> None:
    # stack -> orchestration.components -> processes: no way back up (no circle to hide)
    code = (
        "import sys, shoplake.orchestration.components as c, shoplake.processes;"
        "assert 'shoplake.stack' not in sys.modules, 'components imports the stack';"
        "import shoplake.stack as s; assert s.Component is c.Component"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_get_settings_reads_the_stack_file_as_it_is_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOPLAKE_AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("SHOPLAKE_PROFILE", "embedded")
    monkeypatch.setenv("SHOPLAKE_HOME", str(tmp_path))
    assert get_settings().aws_endpoint_url is None
    (tmp_path / "stack.json").write_text(json.dumps({"endpoints": {"aws": "http://127.0.0.1:1"}}))
    assert get_settings().aws_endpoint_url == "http://127.0.0.1:1"  # no cache to clear
