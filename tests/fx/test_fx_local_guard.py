"""Issue 12 finding 8: a web page cannot poison the FX stand-in's rates or read it.

The real stand-in over HTTP: cross-origin ``text/plain`` / form POSTs to ``/_control``,
``Origin: null``, DNS-rebinding Host names; the project's own clients keep working.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit

import fx_api
import pytest
import requests

POISON = json.dumps({"mode": "invalid", "count": -1, "today": "2001-01-01"}).encode()


def raw(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, str]]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for key, value in headers.items():
        conn.putheader(key, value)
    if body or method == "POST":
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body or None)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}


@pytest.fixture
def standin(fx_api_url: str) -> Iterator[str]:
    requests.post(f"{fx_api_url}/_control/reset", timeout=5).raise_for_status()
    yield fx_api_url
    requests.post(f"{fx_api_url}/_control/reset", timeout=5).raise_for_status()


def _unpoisoned(url: str) -> bool:
    state = requests.get(f"{url}/_control", timeout=5).json()
    return state["fault"]["mode"] == "ok" and state["today"] != "2001-01-01"


def _host(url: str) -> str:
    return f"127.0.0.1:{urlsplit(url).port}"


ORIGINS = ["http://evil.com", "https://evil.com", "null", "http://127.0.0.1.evil.com",
           "http://localhost.evil.com", "file://", "http://evil.com:8765", ""]
SIMPLE = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x", ""]
HOSTS = ["evil.com", "evil.com:{port}", "127.0.0.1.evil.com:{port}", "localhost.evil.com",
         "localhost.", "0.0.0.0:{port}", "127.0.0.2:{port}", "[::ffff:127.0.0.1]:{port}",
         "2130706433:{port}", "fx-api:8765", "", "localhost:x"]


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_cross_origin_control_post_refused(standin: str, origin: str, content_type: str) -> None:
    status, headers = raw(standin, "POST", "/_control", {
        "Host": _host(standin), "Origin": origin, "Content-Type": content_type}, POISON)
    assert status == 403 and "access-control-allow-origin" not in headers
    assert _unpoisoned(standin)


@pytest.mark.parametrize("content_type", SIMPLE)
@pytest.mark.parametrize("path", ["/_control", "/_control/reset"])
def test_simple_post_from_loopback_page_refused(standin: str, content_type: str, path: str) -> None:
    port = urlsplit(standin).port
    status, headers = raw(standin, "POST", path, {
        "Host": _host(standin), "Origin": f"http://localhost:{port}",
        "Content-Type": content_type}, POISON)
    assert status == 403 and "access-control-allow-origin" not in headers
    status, _ = raw(standin, "POST", path, {"Host": _host(standin), "Sec-Fetch-Site": "cross-site",
                                            "Content-Type": "text/plain"}, POISON)
    assert status == 403
    assert _unpoisoned(standin)


@pytest.mark.parametrize("host", HOSTS)
def test_foreign_host_refused(standin: str, host: str) -> None:
    host = host.format(port=urlsplit(standin).port)
    assert raw(standin, "POST", "/_control", {"Host": host, "Content-Type": "application/json"},
               POISON)[0] == 421
    assert raw(standin, "GET", "/v1/latest", {"Host": host})[0] == 421
    assert raw(standin, "GET", "/_control", {"Host": host})[0] == 421
    assert _unpoisoned(standin)


@pytest.mark.parametrize("method", ["OPTIONS", "GET"])
def test_no_cors_for_pages(standin: str, method: str) -> None:
    status, headers = raw(standin, method, "/v1/latest", {
        "Host": _host(standin), "Origin": "http://evil.com", "Access-Control-Request-Method": "POST"})
    assert status == 403 and "access-control-allow-origin" not in headers


def test_own_clients_still_work(standin: str) -> None:
    port = urlsplit(standin).port
    requests.post(f"{standin}/_control", json={"mode": "500", "count": 1}, timeout=5).raise_for_status()
    assert requests.get(f"http://localhost:{port}/v1/latest", timeout=5).status_code == 500
    status, headers = raw(standin, "POST", "/_control", {
        "Host": f"localhost:{port}", "Origin": f"http://127.0.0.1:{port}",
        "Content-Type": "application/json"}, b'{"mode": "ok"}')
    assert status == 200 and "access-control-allow-origin" not in headers
    resp = requests.get(f"{standin}/v1/latest", timeout=5)
    assert resp.ok and "access-control-allow-origin" not in resp.headers


def test_compose_service_name_is_configurable() -> None:
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(fx_api.command(port), env={**os.environ, "FX_API_ALLOWED_HOSTS": "fx-api"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{url}/health", timeout=1).json()["pid"] == proc.pid:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "stand-in did not start"
            time.sleep(0.1)
        for host in ("fx-api:8765", "fx-api", "FX-API:1"):
            assert raw(url, "GET", "/v1/latest", {"Host": host})[0] == 200, host
        for host in ("fx-api.evil.com", "evil.com", "xfx-api:8765"):
            assert raw(url, "GET", "/v1/latest", {"Host": host})[0] == 421, host
    finally:
        proc.terminate()
        proc.wait(timeout=10)
