"""Owner-only permissions for the local state folder and the files in it that hold raw PII
or secrets (issue 12, finding 10). The one place that knows the modes.

The state folder (``settings.home``, ``.shoplake/``) is 0700: it holds the warehouse (raw
customer rows), the emulator's S3 data (raw objects), Airflow's database and the generated
secrets, so nothing below it is reachable by another local user whatever its own mode.
The files named by :func:`sensitive_files` are 0600 as well (defence in depth, and for a
``warehouse_path`` outside the state folder). Processes the stack starts run with
:data:`UMASK`, so what they create is private from the start; ``shoplake up`` repairs
folders made before this existed (:func:`harden`).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from shoplake.settings import Settings

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
#: for processes that write into the state folder (stack components, dbt, airflow)
UMASK = 0o077

#: secrets generated into the state folder (shoplake.pii, shoplake.orchestration.config)
SECRET_FILES = ("airflow/admin-password", "airflow/passwords.json", "airflow/jwt-secret")
#: the PII hashing key (shoplake.pii), kept next to the warehouse whose hashes it made
PII_KEY_FILE = "pii-key"


def pii_key_file(settings: Settings) -> Path:
    return Path(settings.warehouse_file).parent / PII_KEY_FILE


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make ``path`` itself 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _chmod(path, DIR_MODE)
    return path


def state_dir(settings: Settings) -> Path:
    """The profile's state folder, created 0700 (use instead of ``home.mkdir``)."""
    return private_dir(Path(settings.home))


def restrict(paths: Iterable[Path]) -> list[Path]:
    """chmod 0600 every existing file of ``paths``; returns the ones that were changed."""
    return [p for p in paths if p.is_file() and _chmod(p, FILE_MODE)]


def sensitive_files(settings: Settings) -> list[Path]:
    """Files that hold raw PII or secrets (DuckDB and SQLite side files included)."""
    home = Path(settings.home)
    warehouse = Path(settings.warehouse_file)
    airflow_db = home / "airflow" / "airflow.db"
    files = [warehouse, warehouse.with_name(warehouse.name + ".wal")]
    files += [airflow_db] + [airflow_db.with_name(airflow_db.name + s) for s in ("-wal", "-shm", "-journal")]
    return files + [pii_key_file(settings)] + [home / f for f in SECRET_FILES]


def harden(settings: Settings) -> list[Path]:
    """Make an existing state folder private: the folder and every folder below it 0700,
    the sensitive files 0600. Idempotent; returns what it changed (logged)."""
    home = Path(settings.home)
    changed: list[Path] = []
    if home.is_dir():
        if _chmod(home, DIR_MODE):
            changed.append(home)
        for root, dirs, _files in os.walk(home):
            for d in dirs:
                p = Path(root) / d
                if not p.is_symlink() and _chmod(p, DIR_MODE):
                    changed.append(p)
    changed += restrict(sensitive_files(settings))
    if changed:  # one line, not one per folder: the emulator makes its own folders 0755
        log.info("made %d path(s) under %s private (folders %s, files %s)", len(changed), home,
                 oct(DIR_MODE), oct(FILE_MODE))
    return changed


def _chmod(path: Path, mode: int) -> bool:
    """Set ``path``'s permission bits to ``mode``; True if they were different."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current == mode:
        return False
    path.chmod(mode)
    return True
