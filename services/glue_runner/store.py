"""Persistent state of the Glue job runner: one JSON file per job and per run.

Layout under ``<home>/glue_runner/``::

    jobs/<job>.json            {"Job": {...Glue Job...}, "Tags": {...}}
    runs/<job>/<run_id>.json   {...Glue JobRun..., plus private "_pid"}
    logs/<job>/<run_id>.log    stdout + stderr of the run

File names are URL-quoted job names. Writes are atomic (temp file + rename), so a runner
killed mid-write leaves the previous version. Everything is also kept in memory; the store
is the only module that touches these files.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

#: States of a run that has not finished yet.
ACTIVE_STATES = frozenset({"STARTING", "WAITING", "RUNNING", "STOPPING"})
FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"})


def _safe(name: str) -> str:
    return quote(name, safe="")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("skipping unreadable state file %s: %s", path, exc)
        return None


class Store:
    """Jobs and runs, in memory and on disk. All methods are thread-safe."""

    def __init__(self, home: Path) -> None:
        self.root = home / "glue_runner"
        self.jobs_dir = self.root / "jobs"
        self.runs_dir = self.root / "runs"
        self.logs_dir = self.root / "logs"
        self.work_dir = self.root / "work"
        self._lock = threading.RLock()
        self._jobs: dict[str, dict[str, Any]] = {}
        self._runs: dict[str, dict[str, dict[str, Any]]] = {}
        self._load()

    # --- loading -----------------------------------------------------------------------
    def _load(self) -> None:
        for path in sorted(self.jobs_dir.glob("*.json")):
            rec = _read_json(path)
            if rec and "Job" in rec:
                self._jobs[rec["Job"]["Name"]] = rec
        for path in sorted(self.runs_dir.glob("*/*.json")):
            run = _read_json(path)
            if run and "Id" in run and "JobName" in run:
                self._runs.setdefault(run["JobName"], {})[run["Id"]] = run
        log.info(
            "loaded %d jobs and %d runs from %s",
            len(self._jobs),
            sum(len(r) for r in self._runs.values()),
            self.root,
        )

    # --- jobs --------------------------------------------------------------------------
    def get_job(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            rec = self._jobs.get(name)
            return json.loads(json.dumps(rec["Job"])) if rec else None

    def job_names(self) -> list[str]:
        with self._lock:
            return sorted(self._jobs)

    def put_job(self, job: dict[str, Any], tags: dict[str, str] | None = None) -> None:
        with self._lock:
            old = self._jobs.get(job["Name"])
            rec = {"Job": job, "Tags": tags if tags is not None else (old or {}).get("Tags", {})}
            self._jobs[job["Name"]] = rec
            _write_json(self.jobs_dir / f"{_safe(job['Name'])}.json", rec)

    def delete_job(self, name: str) -> bool:
        with self._lock:
            if self._jobs.pop(name, None) is None:
                return False
            (self.jobs_dir / f"{_safe(name)}.json").unlink(missing_ok=True)
            return True

    def get_tags(self, name: str) -> dict[str, str] | None:
        with self._lock:
            rec = self._jobs.get(name)
            return dict(rec["Tags"]) if rec else None

    def set_tags(self, name: str, tags: dict[str, str]) -> None:
        with self._lock:
            rec = self._jobs[name]
            self.put_job(rec["Job"], tags)

    # --- runs --------------------------------------------------------------------------
    def get_run(self, job_name: str, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            run = self._runs.get(job_name, {}).get(run_id)
            return dict(run) if run else None

    def runs(self, job_name: str) -> list[dict[str, Any]]:
        """Runs of a job, newest first."""
        with self._lock:
            runs = [dict(r) for r in self._runs.get(job_name, {}).values()]
        return sorted(runs, key=lambda r: (r.get("StartedOn", 0), r["Id"]), reverse=True)

    def all_runs(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for runs in self._runs.values() for r in runs.values()]

    def put_run(self, run: dict[str, Any]) -> None:
        with self._lock:
            self._runs.setdefault(run["JobName"], {})[run["Id"]] = dict(run)
            _write_json(self.run_path(run["JobName"], run["Id"]), run)

    def update_run(self, job_name: str, run_id: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            run = dict(self._runs[job_name][run_id])
            run.update(fields)
            self.put_run(run)
            return run

    def run_path(self, job_name: str, run_id: str) -> Path:
        return self.runs_dir / _safe(job_name) / f"{run_id}.json"

    def log_path(self, job_name: str, run_id: str) -> Path:
        return self.logs_dir / _safe(job_name) / f"{run_id}.log"
