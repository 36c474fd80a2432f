"""Warm workers: a pre-imported Python process that forks one child per duckdb-engine run.

A small job pays ~1-3 s of interpreter start and imports (duckdb, sqlframe, boto3) before
its first line of work. The *zygote* (this file run as a script, stdlib only) imports those
modules once and waits on a Unix socket; for each run the runner sends the exact command
it would have executed (``python <script> <args>``) plus its environment, working folder
and log file, and the zygote forks. The child starts its own session (its pid is its process
group id, like ``start_new_session=True``), points fd 0/1/2 at /dev/null and the run's log,
installs the run's environment, ``sys.argv`` and ``sys.path`` (script folder, then the
run's ``PYTHONPATH``) and runs the script with :func:`runpy.run_path` as ``__main__``. The
zygote reaps the child and sends its exit status back on the run's connection.

The runner side is :class:`WarmPool` / :class:`WarmProcess`, which quacks like the
``subprocess.Popen`` the runner uses otherwise (``pid``, ``poll``, ``wait``,
``returncode``), so stopping, timeouts and process-group clean-up are unchanged. Anything
going wrong on the way to a fork makes the runner fall back to a cold process.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

#: Imported once by the zygote. Only third-party libraries: the job's own code
#: (``--extra-py-files``) is fetched per run and imported by the child, never preloaded.
DEFAULT_PRELOAD = ("duckdb", "sqlframe.duckdb", "boto3", "botocore.client")
READY = b"READY"
#: Zygote starts per runner (the first + restarts after it died); then every run starts cold.
MAX_STARTS = 5


# --- zygote side (runs in its own interpreter; stdlib only) ---------------------------------
def process_start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot): with the pid, identifies it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _child(req: dict[str, Any], base_path: list[str]) -> None:
    """In the forked child: become the run's process and execute its script. Never returns."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(req["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's stdin
        sys.stdout = open(1, "w", closefd=False, buffering=1, encoding="utf-8")  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False, buffering=1, encoding="utf-8",  # noqa: SIM115
                          errors="backslashreplace")
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        script = req["argv"][0]
        extra = [p for p in req["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [str(Path(script).resolve().parent), *extra, *base_path]
        sys.argv = list(req["argv"])
        import runpy

        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - report like the interpreter does, then exit 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            import atexit

            atexit._run_exitfuncs()
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code & 0xFF)


def _send(conn: socket.socket, msg: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps(msg).encode() + b"\n")


def serve(sock_path: str, preload: list[str]) -> int:
    """The zygote's loop: preload, listen, fork per request, report exit codes. Ends when
    its stdin closes (the runner is gone)."""
    import importlib

    here = str(Path(__file__).resolve().parent)
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    base_path = [p for p in sys.path if p not in (here, "") and p not in inherited]
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a missing preload only costs speed
            print(f"warm: cannot preload {name}: {exc}", file=sys.stderr, flush=True)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(64)
    sys.stdout.buffer.write(READY + b"\n")
    sys.stdout.flush()
    conns: dict[int, socket.socket] = {}
    while True:
        readable, _, _ = select.select([srv, sys.stdin], [], [], 0.05)
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 4096):
            break  # the runner is gone: so are we (running children keep going)
        if srv in readable:
            conn, _ = srv.accept()
            try:
                conn.settimeout(10)
                req = json.loads(conn.makefile("rb").readline())
                pid = os.fork()
            except Exception as exc:  # noqa: BLE001 - the runner falls back to a cold start
                _send(conn, {"error": f"{type(exc).__name__}: {exc}"})
                conn.close()
                continue
            if pid == 0:
                srv.close()
                conn.close()
                for c in conns.values():
                    c.close()
                _child(req, base_path)
            conns[pid] = conn
            _send(conn, {"pid": pid, "start": process_start_time(pid)})
        while conns:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if conn := conns.pop(pid, None):
                _send(conn, {"returncode": os.waitstatus_to_exitcode(status)})
                conn.close()
    srv.close()
    with contextlib.suppress(OSError):
        os.unlink(sock_path)
        os.rmdir(os.path.dirname(sock_path))
    return 0


# --- runner side ---------------------------------------------------------------------------
class WarmError(RuntimeError):
    pass


class WarmProcess:
    """A forked run, seen like ``subprocess.Popen``: ``pid``, ``poll``, ``wait``, ``returncode``."""

    def __init__(self, conn: socket.socket, reader: Any, pid: int, start: int | None, args: list[str]) -> None:
        self.pid = pid
        self.start_time = start
        self.args = args
        self.returncode: int | None = None
        self._conn = conn
        self._reader = reader
        self._lock = threading.Lock()

    def _read(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` for the exit status (under the lock; one reader at a time)."""
        if self.returncode is not None:
            return
        ready, _, _ = select.select([self._conn], [], [], timeout)
        if not ready:
            return
        line = self._reader.readline()
        if line:
            self.returncode = int(json.loads(line)["returncode"])
        else:  # the zygote died: the child is an orphan now; wait for it by its pid
            while process_start_time(self.pid) == self.start_time and not _zombie(self.pid):
                time.sleep(0.1)
            self.returncode = 255
        self._conn.close()

    def poll(self) -> int | None:
        if self._lock.acquire(blocking=False):
            try:
                self._read(0)
            finally:
                self._lock.release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self.returncode is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0)
                self._read(left)
        return self.returncode


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


class WarmPool:
    """Owns the zygote process (started in the background; restarted once if it dies)."""

    def __init__(self, preload: tuple[str, ...] = DEFAULT_PRELOAD, ready_timeout: float = 120.0) -> None:
        self.preload = preload
        self.ready_timeout = ready_timeout
        self._dir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._restarting = False
        #: set once a start attempt is over (ready or not): runs wait for it, not for success
        self._settled = threading.Event()
        self._starts = 0

    @property
    def sock_path(self) -> str:
        assert self._dir is not None
        return os.path.join(self._dir, "zygote.sock")

    def start(self) -> None:
        """Start the zygote in the background (returns at once)."""
        threading.Thread(target=self._start, name="warm-zygote", daemon=True).start()

    def _start(self) -> None:
        try:
            self._launch()
        finally:
            self._restarting = False
            self._settled.set()

    def _launch(self) -> None:
        import tempfile

        with self._lock:
            if self._closed:
                return
            self._ready.clear()
            self._starts += 1
            self._dir = self._dir or tempfile.mkdtemp(prefix="glue-warm-")  # short: AF_UNIX path limit
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.sock_path)
            # Same process group as the runner: `shoplake down` and the runner's exit end it.
            self._proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), self.sock_path, ",".join(self.preload)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
            )
            proc = self._proc
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], self.ready_timeout)
        if ready and proc.stdout.readline().strip() == READY:
            self._ready.set()
        else:
            self._stop(proc)

    def alive(self) -> bool:
        return self._ready.is_set() and self._proc is not None and self._proc.poll() is None

    def _restart_if_dead(self) -> None:
        """Start a new zygote in the background when the current one has died."""
        with self._lock:
            if self._closed or self._restarting or self._proc is None or self._starts >= MAX_STARTS:
                return
            try:
                self._proc.wait(timeout=1)  # a refused connection: is it dying?
            except subprocess.TimeoutExpired:
                return
            self._restarting = True
            self._ready.clear()
            self._settled.clear()
        self.start()

    def spawn(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path,
              wait_ready: float = 60.0) -> WarmProcess:
        """Fork a child that runs ``python argv...``; raises :class:`WarmError` when it cannot."""
        if not self._settled.wait(wait_ready) or not self.alive():
            self._restart_if_dead()
            raise WarmError("warm worker not ready")
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(30)
            conn.connect(self.sock_path)
            req = {"argv": argv, "env": env, "cwd": str(cwd), "log": str(log)}
            conn.sendall(json.dumps(req).encode() + b"\n")
            reader = conn.makefile("rb")
            line = reader.readline()
            conn.settimeout(None)
            reply = json.loads(line) if line else {"error": "no answer"}
        except (OSError, ValueError) as exc:
            conn.close()
            self._restart_if_dead()
            raise WarmError(f"warm worker: {exc}") from exc
        if "pid" not in reply:
            conn.close()
            raise WarmError(f"warm worker: {reply.get('error')}")
        return WarmProcess(conn, reader, int(reply["pid"]), reply.get("start"), [sys.executable, *argv])

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()  # the zygote exits on EOF
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        self._closed = True
        with self._lock:
            if self._proc is not None:
                self._stop(self._proc)
            if self._dir:
                import shutil

                shutil.rmtree(self._dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], [m for m in sys.argv[2].split(",") if m]))
