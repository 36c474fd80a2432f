"""Run the dbt project (``dbt/``) for the current profile: ``shoplake transform`` and the
Airflow DAG both call :func:`run_dbt`.

dbt runs as a subprocess of this interpreter's ``dbt`` executable, with the project and
profiles directories given explicitly and the working directory set to the project: the
repository root must never be on ``sys.path`` of a dbt process, because the top-level
``dbt/`` folder would join the installed ``dbt`` namespace package.

The target is ``settings.dbt_target`` (``local`` = dbt-duckdb on ``settings.warehouse_file``,
``prod`` = dbt-snowflake configured by the ``SNOWFLAKE_*`` variables, see dbt/profiles.yml).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from shoplake import pii, private
from shoplake.settings import ROOT, Settings, get_settings
from shoplake.warehouse.backends import backend

log = logging.getLogger(__name__)

#: The dbt project; profiles.yml lives in it too.
DBT_PROJECT_DIR = ROOT / "dbt"

#: Commands that take --target / --profiles-dir.
_NO_PROFILE_COMMANDS = {"clean", "deps", "init", "--version", "-v"}


class TransformError(RuntimeError):
    """dbt exited with a non-zero status."""

    def __init__(self, args: Sequence[str], returncode: int) -> None:
        super().__init__(f"dbt {' '.join(args)} failed with exit code {returncode}")
        self.args_ = list(args)
        self.returncode = returncode


def dbt_executable() -> str:
    """The ``dbt`` of this interpreter's environment (the venv), else the one on PATH."""
    candidate = Path(sys.executable).with_name("dbt")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("dbt")
    if not found:
        raise TransformError(["--version"], 127)
    return found


def dbt_env(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of the dbt process: the caller's, plus the warehouse file for `local`."""
    env = dict(os.environ)
    # where the local target's file is, which target (and, locally, its private folder)
    env.update(backend(settings).dbt_env())
    # the PII hashes' key, as the HMAC's padded keys (dbt/macros/pii.sql)
    env.update(pii.dbt_env(pii.key(settings)))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    # a PYTHONPATH that contains the repository root would expose dbt/ as a package
    env.pop("PYTHONPATH", None)
    if extra:
        env.update(extra)
    return env


def dbt_command(args: Sequence[str], settings: Settings) -> list[str]:
    """The full dbt command line for ``args`` (e.g. ``["build", "--select", "fct_orders"]``)."""
    cmd = [dbt_executable(), *args]
    if args and args[0] not in _NO_PROFILE_COMMANDS:
        cmd += ["--profiles-dir", str(DBT_PROJECT_DIR)]
        if "--target" not in args and "-t" not in args:
            cmd += ["--target", settings.dbt_target]
    if not args or args[0] not in {"--version", "-v"}:
        cmd += ["--project-dir", str(DBT_PROJECT_DIR)]
    return cmd


def run_dbt(
    args: Sequence[str],
    settings: Settings | None = None,
    *,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    capture_output: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``dbt <args>`` for the profile's target; raise :class:`TransformError` on failure
    when ``check``. ``env`` adds variables (e.g. ``DBT_TARGET_PATH``)."""
    settings = settings or get_settings()
    args = list(args)
    cmd = dbt_command(args, settings)
    log.info("running %s", " ".join(cmd))
    with backend(settings).writer_lock(what="dbt"):
        result = subprocess.run(
            cmd,
            cwd=DBT_PROJECT_DIR,
            env=dbt_env(settings, env),
            text=True,
            capture_output=capture_output,
            check=False,
            umask=private.UMASK,  # dbt-duckdb may create the warehouse file (raw PII)
        )
    if check and result.returncode != 0:
        if capture_output:
            log.error("%s", result.stdout[-5000:])
        raise TransformError(args, result.returncode)
    return result


def build(
    select: Sequence[str] = (),
    *,
    full_refresh: bool = False,
    settings: Settings | None = None,
    **kwargs,
) -> subprocess.CompletedProcess[str]:
    """``dbt build`` (seeds, models, snapshots, tests in DAG order)."""
    args = ["build"]
    for s in select:
        args += ["--select", s]
    if full_refresh:
        args.append("--full-refresh")
    return run_dbt(args, settings, **kwargs)


def check_freshness(settings: Settings | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
    """``dbt source freshness`` (raw tables' ``_loaded_at`` against the sources' limits)."""
    return run_dbt(["source", "freshness"], settings, **kwargs)


def generate_docs(settings: Settings | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
    """``dbt docs generate`` (target/index.html, catalog.json)."""
    return run_dbt(["docs", "generate"], settings, **kwargs)
