"""Where the runner finds job definitions.

Standalone (its own tests, ``python -m glue_runner`` on its own) the runner keeps jobs in its
:class:`~glue_runner.store.Store`, as Glue would. In the stack (embedded and compose profiles)
the jobs are CloudFormation's: ``infra/shoplake.yaml`` creates them in the emulator's Glue
API, which stores them but does not run ``glueetl`` jobs. Started with
``--jobs-endpoint <emulator URL>`` the runner reads every definition from there
(:class:`EmulatorJobs`) and forwards the job operations it receives (CreateJob, GetJob,
UpdateJob, DeleteJob, tags, ...) unchanged, so jobs live in exactly one place and
``aws glue get-job`` answers the same through either endpoint; runs stay the runner's.

MiniStack 1.5.33's Glue API has no ListJobs and no BatchGetJobs: the runner answers them from
GetJobs and GetJob. It keeps no ``ExecutionProperty`` either: definitions read
from it carry no ``MaxConcurrentRuns``, so the runner applies no per-job limit to them (the
template asks for a limit no burst reaches); its global slot cap still queues the runs.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from glue_runner.api import GlueError, _page, _require

#: The Glue operations about jobs (not runs): answered by the job source.
JOB_OPERATIONS = frozenset({
    "CreateJob", "GetJob", "GetJobs", "ListJobs", "BatchGetJobs", "UpdateJob", "DeleteJob",
    "GetTags", "TagResource", "UntagResource",
})


#: Numeric job fields: Glue answers them as numbers, but MiniStack keeps what CloudFormation
#: passed, and a ``!Ref`` parameter is a string (``"60"``). boto3 rejects a string when the
#: definition is sent back (UpdateJob), so the runner answers them typed, as Glue does.
_INT_FIELDS = ("Timeout", "MaxRetries", "NumberOfWorkers", "AllocatedCapacity")
_FLOAT_FIELDS = ("MaxCapacity",)


def _typed_numbers(job: dict[str, Any]) -> None:
    for key, kind in [*((k, int) for k in _INT_FIELDS), *((k, float) for k in _FLOAT_FIELDS)]:
        value = job.get(key)
        if isinstance(value, str):
            # a value that is no number is left as it is: StartJobRun reports it clearly
            with contextlib.suppress(ValueError):
                job[key] = kind(value)
    runs = (job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns")
    if isinstance(runs, str) and runs.isdigit():
        job["ExecutionProperty"]["MaxConcurrentRuns"] = int(runs)


class EmulatorJobs:
    """Job definitions in the Glue API at ``endpoint`` (the AWS JSON 1.1 protocol, signed
    with the process's AWS credentials, as the AWS CLI would send it)."""

    operations = JOB_OPERATIONS

    def __init__(self, endpoint: str, region: str | None = None, timeout: float = 10.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False  # loopback / compose network: never through a proxy

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._call(operation, body)
        for job in [answer.get("Job"), *answer.get("Jobs", [])]:
            if isinstance(job, dict):
                _typed_numbers(job)
        return answer

    def _call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        if operation == "ListJobs":
            names, token = _page(sorted(j["Name"] for j in self._all_jobs()), body)
            return {"JobNames": names, **({"NextToken": token} if token else {})}
        if operation == "BatchGetJobs":
            jobs = {n: self.get_job(n) for n in _require(body, "JobNames", list)}
            return {"Jobs": [j for j in jobs.values() if j is not None],
                    "JobsNotFound": [n for n, j in jobs.items() if j is None]}
        return self._send(operation, body)

    def _all_jobs(self) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = []
        token = None
        while True:
            page = self._send("GetJobs", {"NextToken": token} if token else {})
            jobs += page.get("Jobs", [])
            token = page.get("NextToken")
            if not token:
                return jobs

    def _send(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        request = AWSRequest(method="POST", url=f"{self.endpoint}/", data=data, headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AWSGlue.{operation}",
        })
        SigV4Auth(Credentials(os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                              os.environ.get("AWS_SECRET_ACCESS_KEY", "test")),
                  "glue", self.region).add_auth(request)
        try:
            resp = self._session.post(request.url, data=data, headers=dict(request.headers),
                                      timeout=self.timeout)
        except requests.RequestException as exc:
            raise GlueError("InternalServiceException",
                            f"job definitions unavailable: {self.endpoint} did not answer ({exc})", 503) from exc
        try:
            answer = resp.json() if resp.content else {}
        except ValueError:
            answer = {}
        if resp.status_code >= 400:
            code = str(answer.get("__type") or resp.headers.get("x-amzn-ErrorType") or "InternalServiceException")
            message = answer.get("message") or answer.get("Message") or resp.text[:500]
            raise GlueError(code.split("#")[-1].split(":")[0], str(message), resp.status_code)
        return answer

    def get_job(self, name: str) -> dict[str, Any] | None:
        try:
            job = self._send("GetJob", {"JobName": name})["Job"]
        except GlueError as exc:
            if exc.code == "EntityNotFoundException":
                return None
            raise
        _typed_numbers(job)
        return job
