"""The AWS Glue JSON 1.1 operations the platform (boto3, AWS CLI, Airflow) uses.

Each handler takes the decoded request body and returns the response body, or raises
:class:`GlueError`, which the server turns into an AWS JSON error (``__type`` + message).
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any

from glue_runner.runner import Runner, now
from glue_runner.script_policy import ScriptLocationError
from glue_runner.store import ACTIVE_STATES, Store

log = logging.getLogger(__name__)

ACCOUNT = "000000000000"
_JOB_FIELDS = {
    "Description", "LogUri", "Role", "ExecutionProperty", "Command", "DefaultArguments",
    "NonOverridableArguments", "Connections", "MaxRetries", "AllocatedCapacity", "Timeout",
    "MaxCapacity", "SecurityConfiguration", "NotificationProperty", "GlueVersion",
    "NumberOfWorkers", "WorkerType", "CodeGenConfigurationNodes", "ExecutionClass",
    "SourceControlDetails", "MaintenanceWindow", "JobMode", "JobRunQueuingEnabled",
}
_RUN_FIELDS = ("Timeout", "MaxCapacity", "WorkerType", "NumberOfWorkers", "SecurityConfiguration",
               "NotificationProperty", "ExecutionClass", "AllocatedCapacity")


class GlueError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _require(body: dict[str, Any], key: str, kind: type = str) -> Any:
    value = body.get(key)
    if value is None or value == "" or not isinstance(value, kind):
        raise GlueError("InvalidInputException", f"{key} is required and must be a {kind.__name__}")
    return value


def _minutes(value: Any) -> int | None:
    """A Timeout in minutes, or None when unset. CloudFormation passes a ``!Ref`` parameter
    as a string (MiniStack stores ``"60"``); Glue accepts it, so the runner does too."""
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise GlueError("InvalidInputException", "Timeout must be a positive number of minutes")
    return int(value)


def _page(items: list[Any], body: dict[str, Any], default: int = 100) -> tuple[list[Any], str | None]:
    try:
        start = int(body.get("NextToken") or 0)
        size = int(body.get("MaxResults") or default)
    except (TypeError, ValueError) as exc:
        raise GlueError("InvalidInputException", "bad NextToken or MaxResults") from exc
    if size < 1 or start < 0:
        raise GlueError("InvalidInputException", "MaxResults must be >= 1")
    chunk = items[start : start + size]
    return chunk, str(start + size) if start + size < len(items) else None


def _public(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if not k.startswith("_") and v is not None}


def _check_args(value: Any, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise GlueError("InvalidInputException", f"{key} must be a map of strings to strings")
    return value


class GlueApi:
    def __init__(self, store: Store, runner: Runner, jobs: Any = None) -> None:
        self.store = store
        self.runner = runner
        #: job definitions elsewhere (glue_runner.job_source.EmulatorJobs): job operations
        #: go there, runs stay here
        self.jobs = jobs
        #: Glue's MaxConcurrentRuns default; none for definitions from a source that cannot
        #: store ExecutionProperty (see job_source)
        self.default_max_runs: int | None = 1 if jobs is None else None
        self._start_lock = threading.Lock()
        self.operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            name: getattr(self, name)
            for name in (
                "CreateJob", "GetJob", "GetJobs", "ListJobs", "BatchGetJobs", "UpdateJob",
                "DeleteJob", "StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun",
                "GetTags", "TagResource", "UntagResource",
            )
        }

    def _check_code(self, job: Any) -> None:
        """Refuse a definition whose script or --extra-py-files the runner would not run
        (before it is stored here or forwarded to the emulator)."""
        if not isinstance(job, dict):
            return  # the operation's own validation reports the shape
        try:
            command = job.get("Command")
            if isinstance(command, dict) and "ScriptLocation" in command:
                self.runner.policy.check(command["ScriptLocation"])
            for key in ("DefaultArguments", "NonOverridableArguments"):
                self.runner.policy.check_arguments(job.get(key))
        except ScriptLocationError as exc:
            raise GlueError("InvalidInputException", str(exc)) from exc

    def dispatch(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        if operation == "CreateJob":
            self._check_code(body)
        elif operation == "UpdateJob":
            self._check_code(body.get("JobUpdate"))
        if self.jobs is not None and operation in self.jobs.operations:
            return self.jobs.call(operation, body)
        handler = self.operations.get(operation)
        if handler is None:
            raise GlueError(
                "UnknownOperationException", f"Operation {operation or '(none)'} is not supported"
            )
        return handler(body)

    # --- jobs --------------------------------------------------------------------------
    def _job(self, name: Any) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise GlueError("InvalidInputException", "JobName is required")
        job = (self.jobs or self.store).get_job(name)
        if job is None:
            raise GlueError("EntityNotFoundException", f"Job with name: {name} not found")
        return job

    @staticmethod
    def _validate_job(job: dict[str, Any]) -> None:
        command = job.get("Command")
        if not isinstance(command, dict) or not command.get("ScriptLocation"):
            raise GlueError("InvalidInputException", "Command.ScriptLocation is required")
        _check_args(job.get("DefaultArguments"), "DefaultArguments")
        _check_args(job.get("NonOverridableArguments"), "NonOverridableArguments")
        runs = (job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns", 1)
        if not isinstance(runs, int) or runs < 1:
            raise GlueError("InvalidInputException", "MaxConcurrentRuns must be a positive integer")
        _minutes(job.get("Timeout"))

    def CreateJob(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _require(body, "Name")
        _require(body, "Role")
        if self.store.get_job(name) is not None:
            raise GlueError("AlreadyExistsException", f"Job with name: {name} already exists")
        job = {k: v for k, v in body.items() if k in _JOB_FIELDS}
        job.setdefault("ExecutionProperty", {"MaxConcurrentRuns": 1})
        job.setdefault("MaxRetries", 0)
        job.setdefault("Timeout", 2880)
        self._validate_job(job)
        ts = now()
        job.update(Name=name, CreatedOn=ts, LastModifiedOn=ts)
        self.store.put_job(job, _check_args(body.get("Tags"), "Tags"))
        log.info("created job %s", name)
        return {"Name": name}

    def GetJob(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"Job": self._job(body.get("JobName"))}

    def GetJobs(self, body: dict[str, Any]) -> dict[str, Any]:
        names, token = _page(self.store.job_names(), body)
        jobs = [j for j in (self.store.get_job(n) for n in names) if j is not None]
        return {"Jobs": jobs, **({"NextToken": token} if token else {})}

    def ListJobs(self, body: dict[str, Any]) -> dict[str, Any]:
        names, token = _page(self.store.job_names(), body)
        return {"JobNames": names, **({"NextToken": token} if token else {})}

    def BatchGetJobs(self, body: dict[str, Any]) -> dict[str, Any]:
        names = _require(body, "JobNames", list)
        jobs = {n: self.store.get_job(n) for n in names}
        return {
            "Jobs": [j for j in jobs.values() if j is not None],
            "JobsNotFound": [n for n, j in jobs.items() if j is None],
        }

    def UpdateJob(self, body: dict[str, Any]) -> dict[str, Any]:
        """Replace the job definition, as Glue does (fields left out return to defaults)."""
        old = self._job(body.get("JobName"))
        update = _require(body, "JobUpdate", dict)
        job = {k: v for k, v in update.items() if k in _JOB_FIELDS}
        for keep in ("Role", "Command"):
            job.setdefault(keep, old.get(keep))
        job.setdefault("ExecutionProperty", {"MaxConcurrentRuns": 1})
        job.setdefault("MaxRetries", 0)
        job.setdefault("Timeout", 2880)
        self._validate_job(job)
        job.update(Name=old["Name"], CreatedOn=old["CreatedOn"], LastModifiedOn=now())
        self.store.put_job(job)
        log.info("updated job %s", old["Name"])
        return {"JobName": old["Name"]}

    def DeleteJob(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _require(body, "JobName")
        if self.store.delete_job(name):
            log.info("deleted job %s", name)
        return {"JobName": name}

    # --- runs --------------------------------------------------------------------------
    def StartJobRun(self, body: dict[str, Any]) -> dict[str, Any]:
        job = self._job(body.get("JobName"))
        name = job["Name"]
        run_args = _check_args(body.get("Arguments"), "Arguments")
        arguments = {
            **(job.get("DefaultArguments") or {}),
            **run_args,
            **(job.get("NonOverridableArguments") or {}),
        }
        timeout = _minutes(body.get("Timeout", job.get("Timeout")))
        # the definition may come from the emulator, where anyone can create one
        self._check_code({**job, "DefaultArguments": arguments})
        run_id = f"jr_{secrets.token_hex(32)}"
        ts = now()
        run: dict[str, Any] = {
            "Id": run_id,
            "Attempt": 0,
            "JobName": name,
            "JobMode": job.get("JobMode", "SCRIPT"),
            "StartedOn": ts,
            "LastModifiedOn": ts,
            "JobRunState": "STARTING",
            "Arguments": arguments,
            "PredecessorRuns": [],
            "ExecutionTime": 0,
            "Timeout": timeout or 2880,
            "GlueVersion": job.get("GlueVersion", "5.0"),
            "LogGroupName": str(self.store.log_path(name, run_id)),
        }
        for key in _RUN_FIELDS:
            if key != "Timeout" and (body.get(key) or job.get(key)) is not None:
                run[key] = body.get(key) or job.get(key)
        limit = (job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns", self.default_max_runs)
        with self._start_lock:
            if limit is not None and self.runner.active_count(name) >= limit:
                raise GlueError(
                    "ConcurrentRunsExceededException",
                    f"Concurrent runs exceeded for {name}: MaxConcurrentRuns is {limit}",
                )
            self.runner.submit(run)
        log.info("started run %s of %s", run_id, name)
        return {"JobRunId": run_id}

    def GetJobRun(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _require(body, "JobName")
        run_id = _require(body, "RunId")
        run = self.store.get_run(name, run_id)
        if run is None:
            raise GlueError("EntityNotFoundException", f"Job run {run_id} of job {name} not found")
        return {"JobRun": _public(run)}

    def GetJobRuns(self, body: dict[str, Any]) -> dict[str, Any]:
        job = self._job(body.get("JobName"))
        runs, token = _page(self.store.runs(job["Name"]), body, default=100)
        return {"JobRuns": [_public(r) for r in runs], **({"NextToken": token} if token else {})}

    def BatchStopJobRun(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _require(body, "JobName")
        ids = _require(body, "JobRunIds", list)
        done: list[dict[str, str]] = []
        errors: list[dict[str, Any]] = []
        for run_id in ids:
            problem = self.runner.stop(name, str(run_id))
            if problem is None:
                done.append({"JobName": name, "JobRunId": run_id})
            else:
                errors.append({
                    "JobName": name, "JobRunId": run_id,
                    "ErrorDetail": {"ErrorCode": "InvalidInputException", "ErrorMessage": problem},
                })
        return {"SuccessfulSubmissions": done, "Errors": errors}

    # --- tags (the Airflow hook reconciles job tags through these) ----------------------
    def _tag_job(self, body: dict[str, Any]) -> str:
        arn = _require(body, "ResourceArn")
        prefix, sep, name = arn.partition(":job/")
        if not sep or not prefix.startswith("arn:"):
            raise GlueError("InvalidInputException", f"not a Glue job ARN: {arn}")
        self._job(name)
        return name

    def GetTags(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": self.store.get_tags(self._tag_job(body)) or {}}

    def TagResource(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._tag_job(body)
        tags = {**(self.store.get_tags(name) or {}), **_check_args(body.get("TagsToAdd"), "TagsToAdd")}
        self.store.set_tags(name, tags)
        return {}

    def UntagResource(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._tag_job(body)
        drop = set(body.get("TagsToRemove") or [])
        self.store.set_tags(name, {k: v for k, v in (self.store.get_tags(name) or {}).items()
                                   if k not in drop})
        return {}


__all__ = ["ACTIVE_STATES", "GlueApi", "GlueError"]
