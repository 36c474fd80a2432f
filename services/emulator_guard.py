"""MiniStack behind the same Host/Origin guard as the other local services.

MiniStack 1.5.33 cannot be configured to check the Host header or to stop answering with
``Access-Control-Allow-Origin: *`` (hard-coded in ``ministack/app.py`` for every non-S3
response and every OPTIONS preflight outside S3, even with ``AUTH=true``). So the local
stack starts it through this file, with MiniStack's own interpreter (.venv-emulator):
``python services/emulator_guard.py`` = ``python -m ministack`` with its ASGI app wrapped:

- requests whose ``Host`` is not a loopback name, a ``*.localhost`` name (S3 virtual-host
  style) or a name in ``SHOPLAKE_EMULATOR_ALLOWED_HOSTS`` (compose: ``emulator``) get 421;
- requests (and WebSocket handshakes) with a non-loopback ``Origin`` or
  ``Sec-Fetch-Site: cross-site``, and preflight-free "simple" POSTs from a page, get 403
  (:mod:`localhost_guard`);
- every ``Access-Control-*`` response header is dropped, so no preflight succeeds.

It also checkpoints MiniStack's state. MiniStack (``PERSIST_STATE=1``) writes its services'
state only at a clean shutdown, while S3 objects (``S3_PERSIST=1``) go to disk at once: after
a crash or SIGKILL the emulator came back with the lake's buckets and objects but without the
CloudFormation stacks, queues and functions that own them, and the redeploy stopped at "bucket
already exists". So every state-changing request marks the state dirty, and a task on
MiniStack's own event loop (no handler runs while it writes) saves it at most every
``SHOPLAKE_EMULATOR_CHECKPOINT_S`` seconds (default 2; 0 turns it off). What a crash can still
lose is the last seconds of queue traffic: the sweeper re-drives those objects.

MiniStack's own ``AUTH=true`` is opt-in (``SHOPLAKE_EMULATOR_AUTH``); what it covers and what
neither covers: docs/local-services.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from localhost_guard import allowed_hosts, check  # noqa: E402

log = logging.getLogger("emulator_guard")

ALLOWED_HOSTS_ENV = "SHOPLAKE_EMULATOR_ALLOWED_HOSTS"
CHECKPOINT_ENV = "SHOPLAKE_EMULATOR_CHECKPOINT_S"
_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})
#: Host suffixes also served: S3 virtual-host style and MiniStack's API-id hosts on loopback
#: (RFC 6761: *.localhost is loopback, no page can own such a name).
SUFFIXES = (".localhost",)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _Headers:
    """Case-insensitive view of ASGI headers, as localhost_guard.check wants them."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._h: dict[str, str] = {}
        for key, value in raw:
            self._h.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._h.get(key.lower(), default)


class Checkpointer:
    """Saves the emulator's state on its event loop, at most every ``interval`` seconds,
    when a state-changing request came in since the last save."""

    def __init__(self, save: Callable[[], None], interval: float) -> None:
        self.save = save
        self.interval = interval
        self.dirty = False
        self._task: asyncio.Task[None] | None = None

    def touch(self, method: str) -> None:
        if self.interval <= 0 or method in _READ_ONLY:
            return
        self.dirty = True
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.dirty:
                self.dirty = False
                try:
                    self.save()
                except Exception:  # a failed checkpoint must not take the emulator down
                    log.exception("state checkpoint failed (the next one retries)")


def guard(app: Callable[..., Awaitable[None]], hosts: frozenset[str],
          checkpoint: Checkpointer | None = None) -> Callable[..., Awaitable[None]]:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") not in ("http", "websocket"):
            return await app(scope, receive, send)  # lifespan
        headers = _Headers(list(scope.get("headers") or []))
        method = scope.get("method", "GET")
        rejection = check(method, headers, hosts, SUFFIXES)  # type: ignore[arg-type]
        if rejection is not None:
            log.warning("refused %s %s: %s", method, str(scope.get("path", ""))[:200], rejection.reason)
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return None
            body = json.dumps({"message": rejection.reason}).encode()
            await send({"type": "http.response.start", "status": rejection.status, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return None

        async def send_without_cors(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                message = {**message, "headers": [
                    (k, v) for k, v in message.get("headers") or []
                    if not bytes(k).lower().startswith(b"access-control-")]}
            await send(message)

        try:
            return await app(scope, receive, send_without_cors)
        finally:
            if checkpoint is not None:
                checkpoint.touch(method)

    return guarded


def main() -> None:
    import ministack.app as ministack_app

    hosts = allowed_hosts(ALLOWED_HOSTS_ENV)
    checkpoint = None
    if ministack_app.PERSIST_STATE:
        interval = float(os.environ.get(CHECKPOINT_ENV, "2"))
        checkpoint = Checkpointer(
            lambda: ministack_app.save_all(ministack_app._build_persistence_save_dict()), interval)
    # main() serves the module-level ``app``: replace it before it starts
    ministack_app.app = guard(ministack_app.app, hosts, checkpoint)
    ministack_app.main()


if __name__ == "__main__":
    main()
