"""Executes Glue job runs as local process groups, one thread per run.

State machine: STARTING (queued for a slot) -> RUNNING -> SUCCEEDED | FAILED | TIMEOUT, or
STOPPING -> STOPPED after BatchStopJobRun. A global semaphore caps how many runs execute
at once; the rest wait in STARTING. Failed runs are retried ``MaxRetries`` times as
``<id>_attempt_<n>`` runs, like Glue.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glue_runner import launcher, warm
from glue_runner.script_policy import ScriptPolicy
from glue_runner.store import ACTIVE_STATES, Store
from shoplake.settings import load_settings

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MINUTES = 2880
_POLL = 0.2


@dataclass
class RunnerConfig:
    home: Path
    max_concurrency: int = 2
    #: Seconds per Glue timeout minute (60 in production; small in tests).
    timeout_scale: float = 60.0
    #: Seconds between SIGTERM and SIGKILL when stopping a run.
    stop_grace: float = 10.0
    emit_events: bool = False
    #: Source of the state change events. EventBridge (AWS and MiniStack) refuses ``aws.*``
    #: sources from PutEvents; then the runner switches to ``fallback_event_source``.
    event_source: str = "aws.glue"
    fallback_event_source: str = "shoplake.glue"
    #: Run duckdb-engine (plain Python) runs in a fork of a pre-imported worker
    #: (:mod:`glue_runner.warm`) instead of a fresh interpreter; same script and arguments.
    warm_workers: bool = False
    #: Script locations allowed besides the deployed artifacts (glue_runner.script_policy):
    #: comma-separated ``s3://bucket/prefix/`` or absolute folders.
    allow_scripts: str = ""


@dataclass
class _Active:
    stop: threading.Event = field(default_factory=threading.Event)
    proc: subprocess.Popen[bytes] | warm.WarmProcess | None = None
    thread: threading.Thread | None = None


def now() -> float:
    return round(time.time(), 3)


class Runner:
    def __init__(self, store: Store, config: RunnerConfig, jobs: Any = None) -> None:
        self.store = store
        self.config = config
        #: where job definitions are read (glue_runner.job_source); the store by default
        self.jobs = jobs or store
        #: the only code this runner executes (checked at CreateJob/UpdateJob/StartJobRun and
        #: again here before every run: definitions in the emulator can change behind our back)
        self.policy = ScriptPolicy.build(load_settings().artifacts_bucket, config.allow_scripts)
        self._slots = threading.BoundedSemaphore(max(1, config.max_concurrency))
        self._active: dict[str, _Active] = {}
        self._lock = threading.Lock()
        self._closing = False
        self._event_source = config.event_source
        self._warm: warm.WarmPool | None = None
        if config.warm_workers:
            self._warm = warm.WarmPool()
            self._warm.start()
        self.outbox = Outbox(store.root / "outbox", self._put_event) if config.emit_events else None

    # --- start-up ----------------------------------------------------------------------
    def recover(self) -> int:
        """Mark runs a previous runner left unfinished as FAILED; kill their orphans."""
        count = 0
        for run in self.store.all_runs():
            if run["JobRunState"] not in ACTIVE_STATES:
                continue
            _kill_orphan(run)
            ts = now()
            self.store.update_run(
                run["JobName"],
                run["Id"],
                JobRunState="FAILED",
                ErrorMessage="runner restarted",
                CompletedOn=ts,
                LastModifiedOn=ts,
                ExecutionTime=_elapsed(run, ts),
                _pid=None,
                _pid_start=None,
            )
            count += 1
            # the job-state handler must learn it, or the object stays STARTED
            self._emit(self.store.get_run(run["JobName"], run["Id"]) or run)
        if count:
            log.warning("marked %d unfinished runs FAILED (runner restarted)", count)
        return count

    # --- API-facing --------------------------------------------------------------------
    def active_count(self, job_name: str) -> int:
        return sum(1 for r in self.store.runs(job_name) if r["JobRunState"] in ACTIVE_STATES)

    def counts(self) -> dict[str, int]:
        with self._lock:
            procs = [a.proc for a in self._active.values()]
        running = sum(1 for p in procs if p is not None and p.poll() is None)
        return {"active": len(procs), "running": running}

    def submit(self, run: dict[str, Any]) -> None:
        """Persist a new STARTING run and start its thread."""
        self.store.put_run(run)
        active = _Active()
        with self._lock:
            self._active[run["Id"]] = active
        active.thread = threading.Thread(
            target=self._execute, args=(run["JobName"], run["Id"], active),
            name=f"run-{run['Id']}", daemon=True,
        )
        active.thread.start()

    def stop(self, job_name: str, run_id: str) -> str | None:
        """Ask a run to stop; returns an error message when it cannot be stopped."""
        run = self.store.get_run(job_name, run_id)
        if run is None:
            return f"Job run {run_id} not found"
        with self._lock:
            active = self._active.get(run_id)
        if active is None or run["JobRunState"] not in ACTIVE_STATES:
            return f"Job run {run_id} is in state {run['JobRunState']} and cannot be stopped"
        self.store.update_run(job_name, run_id, JobRunState="STOPPING", LastModifiedOn=now())
        active.stop.set()
        return None

    def shutdown(self) -> None:
        """Stop every run (runner exit) and wait for their threads."""
        self._closing = True
        with self._lock:
            items = list(self._active.items())
        for _, active in items:
            active.stop.set()
        for _, active in items:
            if active.thread:
                active.thread.join(self.config.stop_grace + 5)
        if self._warm is not None:
            self._warm.close()
        if self.outbox is not None:
            self.outbox.close(flush_seconds=5.0)

    # --- execution ---------------------------------------------------------------------
    def _execute(self, job_name: str, run_id: str, active: _Active) -> None:
        final: dict[str, Any] = {}
        try:
            final = self._queue_and_run(job_name, run_id, active)
        except Exception as exc:  # never let a run thread die silently
            log.exception("run %s failed inside the runner", run_id)
            final = {"JobRunState": "FAILED", "ErrorMessage": f"{type(exc).__name__}: {exc}"}
        finally:
            with self._lock:
                self._active.pop(run_id, None)
        run = self._finish(job_name, run_id, final)
        self._emit(run)
        self._maybe_retry(run)

    def _queue_and_run(self, job_name: str, run_id: str, active: _Active) -> dict[str, Any]:
        while not self._slots.acquire(timeout=_POLL):
            if active.stop.is_set():
                return _stopped(self._closing)
        try:
            if active.stop.is_set():
                return _stopped(self._closing)
            return self._run_process(job_name, run_id, active)
        finally:
            self._slots.release()

    def _run_process(self, job_name: str, run_id: str, active: _Active) -> dict[str, Any]:
        run = self.store.get_run(job_name, run_id)
        job = self.jobs.get_job(job_name)
        assert run is not None
        if job is None:
            return {"JobRunState": "FAILED", "ErrorMessage": f"Job {job_name} was deleted"}
        settings = load_settings()
        if job["Command"].get("Name") == "pythonshell":  # plain Python on Glue too, never Spark
            settings = settings.model_copy(update={"job_engine": "duckdb"})
        work = self.store.work_dir / run_id
        log_path = Path(run["LogGroupName"])
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            args = run.get("Arguments", {})
            location = self.policy.check(job["Command"]["ScriptLocation"])
            self.policy.check_arguments(args)
            script = launcher.fetch(location, work, settings)
            self.policy.verify(location, script)
            py_files = []
            for loc in launcher.split_list(args.get(launcher.EXTRA_PY_FILES)):
                py_files.append(launcher.fetch(loc, work / "py", settings))
                self.policy.verify(loc, py_files[-1])
            cmd = launcher.command(
                settings, job_name, script, py_files, launcher.script_args(job_name, run_id, args)
            )
            env = launcher.environment(settings, py_files)
        except Exception as exc:
            log.warning("run %s could not start: %s", run_id, exc)
            launcher.clean_work_dir(work)
            return {"JobRunState": "FAILED", "ErrorMessage": f"{type(exc).__name__}: {exc}"}

        timeout_s = float(run.get("Timeout") or DEFAULT_TIMEOUT_MINUTES) * self.config.timeout_scale
        try:
            with log_path.open("ab") as out:
                out.write(f"[glue_runner] {' '.join(cmd)}\n".encode())
                out.flush()
                cwd = work if work.exists() else self.store.root
                proc = self._spawn_warm(cmd, env, cwd, log_path)
                if proc is None:
                    proc = subprocess.Popen(
                        cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                        env=env, cwd=cwd, start_new_session=True,
                    )
            active.proc = proc
            started = time.monotonic()
            if self.store.get_run(job_name, run_id)["JobRunState"] == "STARTING":  # type: ignore[index]
                self.store.update_run(
                    job_name, run_id, JobRunState="RUNNING", LastModifiedOn=now(), _pid=proc.pid,
                    _pid_start=getattr(proc, "start_time", None),
                )
            log.info("run %s of %s started: pid %d, %s%s", run_id, job_name, proc.pid, cmd[0],
                     " (warm)" if isinstance(proc, warm.WarmProcess) else "")
            outcome = self._wait(proc, active, started, timeout_s)
        finally:
            launcher.clean_work_dir(work)
        if outcome == "STOPPED":
            return _stopped(self._closing)
        if outcome == "TIMEOUT":
            return {
                "JobRunState": "TIMEOUT",
                "ErrorMessage": f"Job run timed out after {run.get('Timeout') or DEFAULT_TIMEOUT_MINUTES} minutes",
            }
        if proc.returncode == 0:
            return {"JobRunState": "SUCCEEDED"}
        text = log_path.read_text(errors="replace")[-200_000:]
        return {"JobRunState": "FAILED", "ErrorMessage": launcher.error_message(text, proc.returncode)}

    def _spawn_warm(
        self, cmd: list[str], env: dict[str, str], cwd: Path, log_path: Path
    ) -> warm.WarmProcess | None:
        """Fork the run from the warm worker when it is a plain ``python script`` run; None
        means start it cold (not such a run, warm workers off, or the worker failed)."""
        if self._warm is None or cmd[0] != sys.executable or len(cmd) < 2 or cmd[1].startswith("-"):
            return None
        try:
            return self._warm.spawn(cmd[1:], env, cwd, log_path)
        except warm.WarmError as exc:
            log.warning("warm start failed, starting cold: %s", exc)
            return None

    def _wait(
        self, proc: subprocess.Popen[bytes] | warm.WarmProcess, active: _Active, started: float, timeout_s: float
    ) -> str:
        while True:
            try:
                proc.wait(timeout=_POLL)
            except subprocess.TimeoutExpired:
                pass
            else:  # like Glue tearing down the driver: nothing the script left behind survives
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                return "EXITED"
            if active.stop.is_set():
                _terminate(proc, self.config.stop_grace)
                return "STOPPED"
            if time.monotonic() - started >= timeout_s:
                _terminate(proc, 0)
                return "TIMEOUT"

    def _finish(self, job_name: str, run_id: str, final: dict[str, Any]) -> dict[str, Any]:
        run = self.store.get_run(job_name, run_id) or {}
        ts = now()
        fields = {
            "CompletedOn": ts,
            "LastModifiedOn": ts,
            "ExecutionTime": _elapsed(run, ts),
            "_pid": None,
            "_pid_start": None,
            **final,
        }
        run = self.store.update_run(job_name, run_id, **fields)
        log.info("run %s of %s finished: %s %s", run_id, job_name, run["JobRunState"],
                 run.get("ErrorMessage", ""))
        return run

    def _maybe_retry(self, run: dict[str, Any]) -> None:
        job = self.jobs.get_job(run["JobName"])
        if self._closing or job is None or run["JobRunState"] != "FAILED":
            return
        attempt = int(run.get("Attempt", 0)) + 1
        if attempt > int(job.get("MaxRetries") or 0):
            return
        root = run["Id"].split("_attempt_")[0]
        retry = {
            **{k: v for k, v in run.items() if k not in ("ErrorMessage", "CompletedOn", "_pid")},
            "Id": f"{root}_attempt_{attempt}",
            "Attempt": attempt,
            "PreviousRunId": run["Id"],
            "JobRunState": "STARTING",
            "StartedOn": now(),
            "LastModifiedOn": now(),
            "ExecutionTime": 0,
        }
        retry["LogGroupName"] = str(self.store.log_path(run["JobName"], retry["Id"]))
        log.info("retrying %s as %s", run["Id"], retry["Id"])
        self.submit(retry)

    def _emit(self, run: dict[str, Any]) -> None:
        """Queue the run's Glue Job State Change event in the durable outbox."""
        if self.outbox is None:
            return
        state = run["JobRunState"]
        self.outbox.put(run["Id"], state, {
            "jobName": run["JobName"],
            "jobRunId": run["Id"],
            "state": state,
            "message": run.get("ErrorMessage") or f"Job run {state.lower()}",
            "severity": "ERROR" if state in ("FAILED", "TIMEOUT") else "INFO",
        })

    def _put_event(self, detail: dict[str, Any]) -> bool:
        """Put one event on the bus; False when it must be tried again later."""
        from shoplake.aws import client

        events = client("events", load_settings())
        result: dict[str, Any] = {}
        for source in dict.fromkeys([self._event_source, self.config.fallback_event_source]):
            entry = {"Source": source, "DetailType": "Glue Job State Change",
                     "Detail": json.dumps(detail), "EventBusName": "default"}
            result = events.put_events(Entries=[entry])["Entries"][0]
            if result.get("ErrorCode") != "NotAuthorizedForSourceException":
                break
            log.warning("event bus refuses source %s; using %s from now on",
                        source, self.config.fallback_event_source)
            self._event_source = self.config.fallback_event_source
        if result.get("ErrorCode"):
            log.warning("event for %s rejected: %s", detail["jobRunId"], result)
            return False
        log.info("emitted %s event for %s (source %s)", detail["state"], detail["jobRunId"], self._event_source)
        return True


class Outbox:
    """State-change events on disk until the event bus accepts them.

    A run's event is written (atomically) before delivery is tried, and deleted only once
    ``PutEvents`` accepted it, so an event bus that is down or restarting (``shoplake down``
    stops the emulator; a crash kills it) delays events but never loses them: a thread
    retries with backoff, and a restarted runner delivers what the last one left.
    """

    def __init__(self, folder: Path, send: Any, max_delay: float = 30.0) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._send = send
        self._max_delay = max_delay
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="event-outbox", daemon=True)
        self._thread.start()

    def put(self, run_id: str, state: str, detail: dict[str, Any]) -> Path:
        path = self.folder / f"{time.time_ns():020d}-{run_id}-{state}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(detail))
        os.replace(tmp, path)
        self._wake.set()
        return path

    def pending(self) -> list[Path]:
        return sorted(self.folder.glob("*.json"))

    def flush(self) -> int:
        """Try every queued event once, oldest first; returns how many are left."""
        with self._lock:
            for path in self.pending():
                try:
                    detail = json.loads(path.read_text())
                except (OSError, ValueError) as exc:
                    log.warning("dropping unreadable outbox file %s: %s", path, exc)
                    path.unlink(missing_ok=True)
                    continue
                try:
                    ok = self._send(detail)
                except Exception as exc:  # the bus is down: keep it for later
                    log.info("event bus not reachable (%s): %d event(s) wait in the outbox",
                             type(exc).__name__, len(self.pending()))
                    ok = False
                if not ok:
                    break  # keep the order: try again later
                path.unlink(missing_ok=True)
            return len(self.pending())

    def _loop(self) -> None:
        delay = 1.0
        while not self._closed.is_set():
            left = self.flush()
            delay = 1.0 if not left else min(delay * 2, self._max_delay)
            self._wake.wait(timeout=delay if left else 5.0)
            self._wake.clear()

    def close(self, flush_seconds: float = 0.0) -> None:
        deadline = time.monotonic() + flush_seconds
        while self.pending() and time.monotonic() < deadline and self.flush():
            time.sleep(0.5)
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=5)


def _stopped(closing: bool) -> dict[str, Any]:
    message = "runner shut down" if closing else "Job run stopped by request"
    return {"JobRunState": "STOPPED", "ErrorMessage": message}


def _elapsed(run: dict[str, Any], ts: float) -> int:
    return max(0, int(ts - float(run.get("StartedOn") or ts)))


def _terminate(proc: subprocess.Popen[bytes] | warm.WarmProcess, grace: float) -> None:
    """SIGTERM the run's process group, then SIGKILL it after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        if grace <= 0 and sig == signal.SIGTERM:
            continue
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # the leader exited; make sure nothing else in its group survives
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return


def _kill_orphan(run: dict[str, Any]) -> None:
    """Kill the process group of a run left by a dead runner, if it is still that run."""
    pid = run.get("_pid")
    if not pid:
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    # a cold run names its run id on its command line; a warm (forked) one is identified by
    # its start time, recorded with its pid
    started = run.get("_pid_start")
    if run["Id"].encode() in cmdline or (started is not None and warm.process_start_time(pid) == started):
        log.warning("killing orphaned process group %d of run %s", pid, run["Id"])
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
