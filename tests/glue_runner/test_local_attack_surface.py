"""Issue 12 finding 8: a web page cannot drive the runner, and the runner runs only deployed code.

Real runner processes over HTTP: hostile Host headers (DNS rebinding), cross-origin requests,
CORS "simple" POSTs, and script locations outside the artifacts prefix, for CreateJob,
UpdateJob, StartJobRun and --extra-py-files; boto3 and the AWS CLI keep working.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError

DIGEST = "0123456789abcdef0123456789abcdef"
BUCKET = "shoplake-artifacts"  # settings.artifacts_bucket in the runner's environment
CREATE = {"Name": "web-page-job", "Role": "r",
          "Command": {"Name": "glueetl", "ScriptLocation": "/etc/passwd"}}


def raw(url: str, method: str, headers: dict[str, str], body: bytes = b"",
        path: str = "/") -> http.client.HTTPResponse:
    """One request with exactly these headers (no Host added unless given)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for key, value in headers.items():
        conn.putheader(key, value)
    if body or method in ("POST", "PUT"):
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body or None)
    resp = conn.getresponse()
    resp.body = resp.read()  # type: ignore[attr-defined]
    conn.close()
    return resp


def glue_post(url: str, headers: dict[str, str], body: dict[str, Any] = CREATE) -> http.client.HTTPResponse:
    port = urlsplit(url).port
    base = {"Host": f"127.0.0.1:{port}", "X-Amz-Target": "AWSGlue.CreateJob",
            "Content-Type": "application/x-amz-json-1.1"}
    return raw(url, "POST", {**base, **headers}, json.dumps(body).encode())


def port_of(url: str) -> int:
    return urlsplit(url).port  # type: ignore[return-value]


BAD_HOSTS = [
    "evil.com", "evil.com:{port}", "127.0.0.1.evil.com", "127.0.0.1.evil.com:{port}",
    "localhost.evil.com:{port}", "localhost.", "localhost.:{port}", "127.0.0.1.nip.io:{port}",
    "7f000001.rbndr.us:{port}", "0.0.0.0:{port}", "127.0.0.2:{port}", "2130706433:{port}",
    "0x7f.0.0.1:{port}", "[::ffff:127.0.0.1]:{port}", "[::1", "localhost:abc",
    "localhost:{port}:{port}", "evil.com@127.0.0.1:{port}", "127.0.0.1:{port}@evil.com",
    "glue-runner:{port}", "", "local host", "a" * 300,
]
GOOD_HOSTS = ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}",
              "localhost", "127.0.0.1"]
BAD_ORIGINS = [
    "http://evil.com", "https://evil.com", "null", "http://127.0.0.1.evil.com",
    "http://localhost.evil.com:{port}", "http://evil.com:{port}", "file://", "chrome-extension://abc",
    "http://user@127.0.0.1:{port}", "http://127.0.0.1:{port}/path", "http://[::ffff:7f00:1]", "",
]
SIMPLE_TYPES = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x", "TEXT/PLAIN", ""]


def _absent(glue: Any, name: str = "web-page-job") -> bool:
    try:
        glue.get_job(JobName=name)
    except ClientError as exc:
        return exc.response["Error"]["Code"] == "EntityNotFoundException"
    return False


@pytest.mark.parametrize("host", BAD_HOSTS)
def test_foreign_host_refused(runner: Any, glue: Any, host: str) -> None:
    host = host.format(port=port_of(runner.url))
    post = glue_post(runner.url, {"Host": host})
    get = raw(runner.url, "GET", {"Host": host}, path="/health")
    assert (post.status, get.status) == (421, 421), post.body  # type: ignore[attr-defined]
    assert "MisdirectedRequest" in json.loads(post.body)["__type"]  # type: ignore[attr-defined]
    assert post.getheader("Access-Control-Allow-Origin") is None
    assert _absent(glue)


def test_missing_host_refused(runner: Any) -> None:
    assert raw(runner.url, "GET", {}, path="/health").status == 421


@pytest.mark.parametrize("host", GOOD_HOSTS)
def test_loopback_hosts_served(runner: Any, host: str) -> None:
    resp = raw(runner.url, "GET", {"Host": host.format(port=port_of(runner.url))}, path="/health")
    assert resp.status == 200 and json.loads(resp.body)["status"] == "ok"  # type: ignore[attr-defined]


@pytest.mark.parametrize("origin", BAD_ORIGINS)
@pytest.mark.parametrize("method", ["POST", "OPTIONS", "GET"])
def test_cross_origin_refused(runner: Any, glue: Any, origin: str, method: str) -> None:
    origin = origin.format(port=port_of(runner.url))
    if method == "POST":
        resp = glue_post(runner.url, {"Origin": origin})
    else:
        resp = raw(runner.url, method, {"Host": f"127.0.0.1:{port_of(runner.url)}", "Origin": origin,
                                        "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "x-amz-target,content-type"},
                   path="/health")
    assert resp.status == 403, resp.body  # type: ignore[attr-defined]
    assert resp.getheader("Access-Control-Allow-Origin") is None
    assert _absent(glue)


@pytest.mark.parametrize("content_type", SIMPLE_TYPES)
def test_simple_post_from_a_page_refused(runner: Any, glue: Any, content_type: str) -> None:
    """Even from a loopback origin (another local page), a preflight-free POST is refused."""
    port = port_of(runner.url)
    resp = glue_post(runner.url, {"Origin": f"http://localhost:{port}", "Content-Type": content_type})
    assert resp.status == 403 and resp.getheader("Access-Control-Allow-Origin") is None
    cross_site = glue_post(runner.url, {"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status == 403
    assert _absent(glue)


def test_boto3_and_loopback_origin_json_still_work(runner: Any, glue: Any, scripts: Path) -> None:
    port = port_of(runner.url)
    body = {**CREATE, "Name": "page-ok", "Command": {"Name": "glueetl",
                                                     "ScriptLocation": str(scripts / "ok.py")}}
    resp = glue_post(runner.url, {"Origin": f"http://127.0.0.1:{port}"}, body)
    assert resp.status == 200, resp.body  # type: ignore[attr-defined]
    assert resp.getheader("Access-Control-Allow-Origin") is None
    assert glue.get_job(JobName="page-ok")["Job"]["Command"]["ScriptLocation"] == str(scripts / "ok.py")
    # boto3 through "localhost" (a different Host header than 127.0.0.1)
    local = boto3.client("glue", endpoint_url=f"http://localhost:{port}", region_name="us-east-1",
                         aws_access_key_id="test", aws_secret_access_key="test")
    assert "page-ok" in local.list_jobs()["JobNames"]


def test_compose_service_name_is_configurable(make_runner: Any) -> None:
    r = make_runner(GLUE_RUNNER_ALLOWED_HOSTS="glue-runner, Other-Name")
    for host in ("glue-runner:4599", "glue-runner", "other-name:1", f"127.0.0.1:{r.port}"):
        assert raw(r.url, "GET", {"Host": host}, path="/health").status == 200, host
    for host in ("evil.com", "glue-runner.evil.com", "xglue-runner:4599"):
        assert raw(r.url, "GET", {"Host": host}, path="/health").status == 421, host


def test_wildcard_allowed_host_refused_at_start(helpers: Any, tmp_path: Path) -> None:
    import glue_runner

    env = {**os.environ, **helpers.KEYS, "GLUE_RUNNER_ALLOWED_HOSTS": "*",
           "SHOPLAKE_HOME": str(tmp_path)}
    out = subprocess.run(glue_runner.command(helpers.free_port(), tmp_path), env=env,
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 2 and "not a host name" in out.stderr


# --- script locations -------------------------------------------------------------------
def bad_locations(scripts: Path) -> list[str]:
    link = scripts / "passwd_link.py"
    if not link.exists():
        link.symlink_to("/etc/passwd")
    return [
        "/etc/passwd", "/proc/self/environ", "file:///etc/passwd", "file://localhost/etc/passwd",
        "file://evil.com/etc/passwd", "file:/etc/passwd", f"{scripts}/../../../etc/passwd",
        f"file://{scripts}/../../../etc/passwd", f"file://{scripts}/%2e%2e/%2e%2e/etc/passwd",
        f"{scripts}/./ok.py", f"{scripts}//ok.py", str(link), "../ok.py", "./ok.py", "ok.py",
        "~/ok.py", f"{scripts}/ok.py\x00.txt", f"{scripts}/ok.py ", "\\\\server\\share\\x.py",
        "http://evil.com/x.py", "https://evil.com/x.py", "ftp://evil.com/x.py",
        f"s3://evil-bucket/jobs/{DIGEST}/cleanse.py", f"s3://{BUCKET}-x/jobs/{DIGEST}/cleanse.py",
        f"s3://{BUCKET}.evil/jobs/{DIGEST}/cleanse.py", f"S3://{BUCKET}/jobs/{DIGEST}/cleanse.py",
        f"s3://{BUCKET}/jobs/cleanse.py", f"s3://{BUCKET}/lambdas/{DIGEST}/s3_trigger.zip",
        f"s3://{BUCKET}/raw/{DIGEST}/x.py", f"s3://{BUCKET}/jobs/{DIGEST}/../../raw/x.py",
        f"s3://{BUCKET}/jobs/{DIGEST}//x.py", f"s3://{BUCKET}/jobs/{DIGEST}/",
        f"s3://{BUCKET}/jobs/{DIGEST.upper()}/cleanse.py", f"s3://{BUCKET}/jobs/{DIGEST[:31]}/x.py",
        f"s3://{BUCKET}/jobs/{DIGEST}/sub/x.py", f"s3://{BUCKET}/jobs/{DIGEST}/.hidden.py",
        f"s3://{BUCKET}//jobs/{DIGEST}/x.py", f"s3://{BUCKET}/artifacts/../jobs/{DIGEST}/x.py",
        "s3://artifacts/other/x.py", "s3://artifacts/jobs/../raw/x.py", "s3://artifactsx/jobs/x.py",
    ]


def _refused(call: Any) -> str:
    with pytest.raises(ClientError) as err:
        call()
    assert err.value.response["Error"]["Code"] == "InvalidInputException", err.value
    message = err.value.response["Error"]["Message"]
    assert "refused" in message, message
    return message


def test_create_job_refuses_foreign_scripts(glue: Any, scripts: Path) -> None:
    for n, location in enumerate(bad_locations(scripts)):
        _refused(lambda loc=location, n=n: glue.create_job(
            Name=f"bad-script-{n}", Role="r", Command={"Name": "glueetl", "ScriptLocation": loc}))
        assert _absent(glue, f"bad-script-{n}"), location


def test_extra_py_files_and_updates_refused(glue: Any, scripts: Path, helpers: Any) -> None:
    bad = bad_locations(scripts)
    for n, location in enumerate(bad[:12] + bad[-8:]):
        extra = f"{scripts}/ok.py,{location}"
        _refused(lambda e=extra, n=n: helpers.create_job(
            glue, f"bad-lib-{n}", scripts / "ok.py", DefaultArguments={"--extra-py-files": e}))
        _refused(lambda e=extra, n=n: helpers.create_job(
            glue, f"bad-lib-nov-{n}", scripts / "ok.py", NonOverridableArguments={"--extra-py-files": e}))
    helpers.create_job(glue, "good-job", scripts / "ok.py")
    for location in bad[:10] + bad[-10:]:
        _refused(lambda loc=location: glue.update_job(JobName="good-job", JobUpdate={
            "Role": "r", "Command": {"Name": "glueetl", "ScriptLocation": loc}}))
        _refused(lambda loc=location: glue.start_job_run(
            JobName="good-job", Arguments={"--extra-py-files": loc}))
    assert glue.get_job(JobName="good-job")["Job"]["Command"]["ScriptLocation"] == str(scripts / "ok.py")
    assert glue.get_job_runs(JobName="good-job")["JobRuns"] == []


def _aws(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_definitions_from_the_emulator_are_checked_at_start(
    make_runner: Any, ministack: str, helpers: Any
) -> None:
    """MiniStack accepts any CreateJob (even unsigned): the runner must not run what it holds."""
    r = make_runner(ministack, ["--jobs-endpoint", ministack])
    emulator = _aws("glue", ministack)
    for n, location in enumerate(["/etc/passwd", "file:///tmp/x.py", "s3://evil-bucket/jobs/x.py"]):
        emulator.create_job(Name=f"planted-{n}", Role="r",
                            Command={"Name": "glueetl", "ScriptLocation": location})
        message = _refused(lambda n=n: r.glue().start_job_run(JobName=f"planted-{n}"))
        assert location in message
    _refused(lambda: r.glue().create_job(Name="fwd-bad", Role="r", Command={
        "Name": "glueetl", "ScriptLocation": "/etc/passwd"}))
    with pytest.raises(ClientError):
        emulator.get_job(JobName="fwd-bad")  # refused before it was forwarded


def test_deployed_artifact_runs_and_a_replaced_one_does_not(
    glue: Any, ministack: str, helpers: Any
) -> None:
    s3 = _aws("s3", ministack)
    with contextlib.suppress(ClientError):
        s3.create_bucket(Bucket=BUCKET)
    body = b"print('DEPLOYED SCRIPT RAN')\n"
    key = f"jobs/{hashlib.sha256(body).hexdigest()[:32]}/probe.py"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    helpers.create_job(glue, "deployed-job", f"s3://{BUCKET}/{key}")
    run = helpers.wait_state(glue, "deployed-job", glue.start_job_run(JobName="deployed-job")["JobRunId"])
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert "DEPLOYED SCRIPT RAN" in Path(run["LogGroupName"]).read_text()

    s3.put_object(Bucket=BUCKET, Key=key, Body=b"print('PLANTED')\n")  # an unsigned PUT works too
    run = helpers.wait_state(glue, "deployed-job", glue.start_job_run(JobName="deployed-job")["JobRunId"])
    assert run["JobRunState"] == "FAILED"
    assert "does not match its key" in run["ErrorMessage"]
    assert "PLANTED" not in helpers.read(Path(run["LogGroupName"]))  # never started


def test_aws_cli_sees_the_refusal(runner: Any, helpers: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(helpers.KEYS, AWS_ENDPOINT_URL_GLUE=runner.url,
               AWS_CONFIG_FILE=str(tmp_path / "c"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "k"))
    out = subprocess.run([str(Path(sys.executable).parent / "aws"), "glue", "create-job",
                          "--name", "cli-bad", "--role", "r", "--command",
                          "Name=glueetl,ScriptLocation=file:///etc/passwd"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "InvalidInputException" in out.stderr and "refused" in out.stderr
