"""Issue 12 finding 8: the emulator as the stack starts it (services/emulator_guard.py).

A web page gets nothing from it: foreign Host names (DNS rebinding) 421, cross-origin requests
403, no ``Access-Control-Allow-Origin`` on any answer; boto3 keeps working. With
``emulator_auth`` MiniStack also refuses unsigned S3 object requests.
"""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError

from shoplake import stack as stack_mod
from shoplake.settings import Settings, load_settings


def raw(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, str]]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for key, value in {"Host": parts.netloc, **headers}.items():
        conn.putheader(key, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body or None)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}


def _s3(url: str) -> object:
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture
def bucket(emulator: Settings) -> str:
    name = f"guard-{uuid.uuid4().hex[:10]}"
    s3 = _s3(emulator.aws_endpoint_url)
    s3.create_bucket(Bucket=name)  # type: ignore[attr-defined]
    s3.put_object(Bucket=name, Key="k", Body=b"x")  # type: ignore[attr-defined]
    return name


HOSTS = ["evil.com", "evil.com:4566", "127.0.0.1.evil.com", "localhost.evil.com:1", "localhost.",
         "0.0.0.0", "[::ffff:127.0.0.1]", "2130706433", "emulator:4566", "evil.localhost.com", ""]
ORIGINS = ["http://evil.com", "null", "http://127.0.0.1.evil.com", "https://localhost.evil.com", ""]


@pytest.mark.parametrize("host", HOSTS)
def test_foreign_host_refused(emulator: Settings, bucket: str, host: str) -> None:
    url = emulator.aws_endpoint_url
    assert raw(url, "GET", f"/{bucket}/k", {"Host": host})[0] == 421
    assert raw(url, "PUT", f"/{bucket}/planted", {"Host": host}, b"evil")[0] == 421
    with pytest.raises(ClientError):
        _s3(url).head_object(Bucket=bucket, Key="planted")  # type: ignore[attr-defined]


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("method", ["GET", "PUT", "OPTIONS"])
def test_cross_origin_refused_without_cors(emulator: Settings, bucket: str, origin: str, method: str) -> None:
    status, headers = raw(emulator.aws_endpoint_url, method, f"/{bucket}/planted", {
        "Origin": origin, "Access-Control-Request-Method": "PUT", "Content-Type": "text/plain"},
        b"evil" if method == "PUT" else b"")
    assert status == 403 and not any(h.startswith("access-control-") for h in headers)
    with pytest.raises(ClientError):
        _s3(emulator.aws_endpoint_url).head_object(Bucket=bucket, Key="planted")  # type: ignore[attr-defined]


def test_loopback_page_gets_no_cors_and_clients_work(emulator: Settings, bucket: str) -> None:
    url = emulator.aws_endpoint_url
    port = urlsplit(url).port
    status, headers = raw(url, "OPTIONS", f"/{bucket}/k", {
        "Origin": f"http://localhost:{port}", "Access-Control-Request-Method": "PUT"})
    assert not any(h.startswith("access-control-") for h in headers), headers
    status, headers = raw(url, "GET", f"/{bucket}/k", {})
    assert status == 200 and "access-control-allow-origin" not in headers
    local = _s3(f"http://localhost:{port}")
    assert local.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"  # type: ignore[attr-defined]
    assert raw(url, "GET", "/k", {"Host": f"{bucket}.localhost:{port}"})[0] == 200  # virtual host
    sqs = boto3.client("sqs", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    assert sqs.create_queue(QueueName=f"guard-{uuid.uuid4().hex[:8]}")["QueueUrl"]


@pytest.fixture(scope="module")
def auth_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("auth-emulator")
    settings = load_settings(home=home, emulator_auth=True)
    state = stack_mod.up(settings, echo=lambda _: None, only={"emulator"})
    try:
        yield state["endpoints"]["aws"]
    finally:
        stack_mod.down(settings, echo=lambda _: None, timeout=10)


def test_emulator_auth_refuses_unsigned_object_requests(auth_emulator: str) -> None:
    s3 = _s3(auth_emulator)
    s3.create_bucket(Bucket="guard-auth")  # type: ignore[attr-defined]
    s3.put_object(Bucket="guard-auth", Key="k", Body=b"x")  # type: ignore[attr-defined]
    assert raw(auth_emulator, "GET", "/guard-auth/k", {})[0] == 403
    assert raw(auth_emulator, "PUT", "/guard-auth/planted", {}, b"evil")[0] == 403
    assert s3.get_object(Bucket="guard-auth", Key="k")["Body"].read() == b"x"  # type: ignore[attr-defined]


def test_checkpointer_saves_after_state_changes_only() -> None:
    # MiniStack saves its state only at a clean shutdown: the guard checkpoints it
    import asyncio

    from emulator_guard import Checkpointer

    saves: list[int] = []

    async def scenario() -> None:
        cp = Checkpointer(lambda: saves.append(1), interval=0.05)
        cp.touch("GET")
        cp.touch("HEAD")
        await asyncio.sleep(0.2)
        assert saves == []  # reads change nothing
        cp.touch("POST")
        cp.touch("PUT")
        await asyncio.sleep(0.2)
        assert saves == [1]  # one save for both, none while nothing changed
        cp.touch("DELETE")
        await asyncio.sleep(0.2)
        assert saves == [1, 1]

    asyncio.run(scenario())
