"""HTTP front of the local Glue job runner: the AWS Glue JSON 1.1 protocol + GET /health.

Run: ``python services/glue_runner/server.py --host 127.0.0.1 --port P --home DIR``
(or ``PYTHONPATH=services python -m glue_runner ...``), then point boto3 / the AWS CLI at
it with ``endpoint_url`` or ``AWS_ENDPOINT_URL_GLUE``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localhost_guard import GuardedHandler, Rejection, allowed_hosts  # noqa: E402

from glue_runner.api import GlueApi, GlueError  # noqa: E402
from glue_runner.runner import Runner, RunnerConfig  # noqa: E402
from glue_runner.store import Store  # noqa: E402

log = logging.getLogger("glue_runner")

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "AWSGlue."
#: Host names besides the loopback ones (compose: ``glue-runner``), comma-separated.
ALLOWED_HOSTS_ENV = "GLUE_RUNNER_ALLOWED_HOSTS"


class Handler(GuardedHandler):
    server: GlueServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: dict[str, Any], extra: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, err: GlueError) -> None:
        self._send(
            err.status,
            {"__type": err.code, "message": err.message, "Message": err.message},
            {"x-amzn-ErrorType": err.code},
        )

    def send_rejection(self, rejection: Rejection) -> None:
        # the AWS JSON error shape, so boto3 / the CLI print a readable one-line error
        code = "MisdirectedRequestException" if rejection.status == 421 else "AccessDeniedException"
        self._send(rejection.status, {"__type": code, "message": rejection.reason,
                                      "Message": rejection.reason},
                   {"x-amzn-ErrorType": code, "Connection": "close"})

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/health":
            self._send(200, {"status": "ok", **self.server.runner.counts()})
        else:
            self._error(GlueError("UnknownOperationException", f"GET {self.path} not found", 404))

    def do_POST(self) -> None:
        target = self.headers.get("X-Amz-Target", "")
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else ""
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError as exc:
                raise GlueError("SerializationException", f"request body is not JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise GlueError("SerializationException", "request body must be a JSON object")
            if not operation:
                raise GlueError(
                    "UnknownOperationException", f"missing or foreign X-Amz-Target: {target!r}"
                )
            result = self.server.api.dispatch(operation, body)
        except GlueError as err:
            log.info("%s -> %s: %s", operation or target, err.code, err.message)
            self._error(err)
            return
        except Exception as exc:
            log.exception("%s failed", operation)
            self._error(GlueError("InternalServiceException", f"{type(exc).__name__}: {exc}", 500))
            return
        self._send(200, result)


class GlueServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: GlueApi, runner: Runner,
                 hosts: frozenset[str] | None = None) -> None:
        super().__init__(address, Handler)
        self.api = api
        self.runner = runner
        self.allowed_hosts = hosts or allowed_hosts(ALLOWED_HOSTS_ENV)


def build(host: str, port: int, config: RunnerConfig, jobs_endpoint: str | None = None,
          hosts: frozenset[str] | None = None) -> GlueServer:
    store = Store(config.home)
    jobs = None
    if jobs_endpoint:
        from glue_runner.job_source import EmulatorJobs

        jobs = EmulatorJobs(jobs_endpoint)
    runner = Runner(store, config, jobs)
    runner.recover()
    return GlueServer((host, port), GlueApi(store, runner, jobs), runner, hosts)


#: Warm workers (:mod:`glue_runner.warm`) unless GLUE_RUNNER_WARM_WORKERS says otherwise.
WARM_WORKERS_DEFAULT = False


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in ("1", "true", "yes", "on")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="glue_runner", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=4599)
    p.add_argument("--home", type=Path, default=None, help="state root (default: settings.home)")
    p.add_argument("--emit-events", action="store_true", default=_env_flag("GLUE_RUNNER_EMIT_EVENTS"),
                   help="put 'Glue Job State Change' events on EventBridge (env GLUE_RUNNER_EMIT_EVENTS)")
    p.add_argument("--event-source", default=os.environ.get("GLUE_RUNNER_EVENT_SOURCE", "aws.glue"),
                   help="event Source; if the bus refuses it (aws.* on MiniStack) the runner "
                   "falls back to --fallback-event-source")
    p.add_argument("--fallback-event-source",
                   default=os.environ.get("GLUE_RUNNER_FALLBACK_EVENT_SOURCE", "shoplake.glue"))
    p.add_argument("--max-concurrency", type=int,
                   default=int(os.environ.get("GLUE_RUNNER_MAX_CONCURRENCY", "2")),
                   help="runs executing at once; the rest wait in STARTING")
    p.add_argument("--timeout-scale", type=float,
                   default=float(os.environ.get("GLUE_RUNNER_TIMEOUT_SCALE", "60")),
                   help="seconds per Glue Timeout minute (tests use ~1)")
    p.add_argument("--stop-grace", type=float,
                   default=float(os.environ.get("GLUE_RUNNER_STOP_GRACE", "10")),
                   help="seconds between SIGTERM and SIGKILL when stopping a run")
    p.add_argument("--warm-workers", action=argparse.BooleanOptionalAction,
                   default=_env_flag("GLUE_RUNNER_WARM_WORKERS", WARM_WORKERS_DEFAULT),
                   help="fork duckdb-engine runs from a pre-imported Python worker instead of "
                   "starting a fresh interpreter (env GLUE_RUNNER_WARM_WORKERS=1|0)")
    p.add_argument("--jobs-endpoint", default=os.environ.get("GLUE_RUNNER_JOBS_ENDPOINT") or None,
                   help="read job definitions from the Glue API at this URL (the emulator, where "
                   "CloudFormation creates them) and forward job operations there; default: "
                   "keep jobs in the runner's own store (env GLUE_RUNNER_JOBS_ENDPOINT)")
    p.add_argument("--allowed-hosts", default="",
                   help="Host header names accepted besides localhost/127.0.0.1/[::1], "
                   f"comma-separated (also env {ALLOWED_HOSTS_ENV}; compose: glue-runner)")
    p.add_argument("--allow-scripts", default=os.environ.get("GLUE_RUNNER_ALLOW_SCRIPTS", ""),
                   help="script locations allowed besides the deployed ones "
                   "(s3://<artifacts bucket>/jobs/<sha256>/<file>): comma-separated "
                   "s3://bucket/prefix/ or absolute local folders (env GLUE_RUNNER_ALLOW_SCRIPTS)")
    p.add_argument("--log-level", default=os.environ.get("GLUE_RUNNER_LOG_LEVEL", "INFO"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if args.home is None:
        from shoplake.settings import get_settings

        args.home = get_settings().home
    config = RunnerConfig(
        home=args.home.resolve(), max_concurrency=args.max_concurrency,
        timeout_scale=args.timeout_scale, stop_grace=args.stop_grace, emit_events=args.emit_events,
        event_source=args.event_source, fallback_event_source=args.fallback_event_source,
        warm_workers=args.warm_workers, allow_scripts=args.allow_scripts,
    )
    try:
        hosts = allowed_hosts(ALLOWED_HOSTS_ENV, args.allowed_hosts.split(","))
        server = build(args.host, args.port, config, jobs_endpoint=args.jobs_endpoint, hosts=hosts)
    except ValueError as exc:  # a bad --allowed-hosts / --allow-scripts entry
        log.error("glue runner not started: %s", exc)
        return 2

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    host, port = server.server_address[:2]
    log.info("glue runner listening on http://%s:%s (home %s, events %s, warm workers %s, jobs %s, "
             "hosts %s, scripts %s)",
             host, port, config.home, "on" if config.emit_events else "off",
             "on" if config.warm_workers else "off", args.jobs_endpoint or "own store",
             ",".join(sorted(hosts)), server.runner.policy.describe())
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        server.runner.shutdown()
        log.info("glue runner stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
