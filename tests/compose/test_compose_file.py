"""Static checks of docker-compose.yml and services/python.Dockerfile (no Docker engine needed).

`docker compose config -q` runs when a compose v2 CLI is available (the docker plugin, or the
binary scripts/docker-engine.sh installs); the rest parses the YAML itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shoplake.settings import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "services" / "python.Dockerfile"
DOCKER_DIR = Path(os.environ.get("SHOPLAKE_DOCKER_DIR", "/var/lib/shoplake-docker"))
SERVICES = {"emulator", "glue-runner", "fx-api", "init"}
ONE_SHOT = {"init"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def compose_cli() -> tuple[list[str], dict[str, str]] | None:
    """A working compose v2 command line and the environment it needs, or None."""
    candidates: list[tuple[list[str], dict[str, str]]] = []
    if shutil.which("docker"):
        candidates.append((["docker", "compose"], {}))
        plugin_cfg = DOCKER_DIR / "config"
        if (plugin_cfg / "cli-plugins" / "docker-compose").exists():
            candidates.append((["docker", "compose"], {"DOCKER_CONFIG": str(plugin_cfg)}))
    standalone = DOCKER_DIR / "config" / "cli-plugins" / "docker-compose"
    if standalone.exists():
        candidates.append(([str(standalone)], {}))
    for argv, env in candidates:
        try:
            out = subprocess.run([*argv, "version"], capture_output=True, text=True, timeout=30,
                                 env={**os.environ, **env})
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and "v2" in out.stdout:
            return argv, {**os.environ, **env}
    return None


def test_compose_config_is_valid() -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip("no compose v2 CLI here (docker compose plugin); scripts/docker-engine.sh install adds one")
    argv, env = cli
    out = subprocess.run([*argv, "-f", str(COMPOSE_FILE), "config", "-q"], capture_output=True,
                         text=True, timeout=60, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr


def test_the_expected_services_exist(compose: dict[str, Any]) -> None:
    assert set(_services(compose)) >= SERVICES


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, svc in _services(compose).items():
        hc = svc.get("healthcheck")
        assert hc and hc.get("test") and not hc.get("disable"), f"{name}: no healthcheck"
        assert hc.get("interval") and hc.get("retries"), f"{name}: healthcheck without interval/retries"


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, svc in _services(compose).items():
        image = svc.get("image")
        assert image, f"{name}: no image name (the built image must be tagged)"
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: image {image} has no tag"
        assert not image.endswith(":latest"), f"{name}: image {image} uses :latest"
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.M)
    assert base, "services/python.Dockerfile: no ARG BASE_IMAGE default"
    assert ":" in base.group(1) and not base.group(1).endswith(":latest"), base.group(1)
    for line in DOCKERFILE.read_text().splitlines():
        assert not re.match(r"^FROM\s+\S+:latest\b", line), line


def test_ports_are_published_on_loopback_only(compose: dict[str, Any]) -> None:
    for name, svc in _services(compose).items():
        for port in svc.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: port {port} not bound to 127.0.0.1"


def test_resource_limits_init_and_grace(compose: dict[str, Any]) -> None:
    total = 0
    for name, svc in _services(compose).items():
        limits = (svc.get("deploy", {}).get("resources", {}).get("limits", {}))
        mem = svc.get("mem_limit") or limits.get("memory")
        cpus = svc.get("cpus") or limits.get("cpus")
        assert mem and cpus, f"{name}: needs a memory and a cpu limit"
        total += _bytes(str(mem))
        assert svc.get("init") is True, f"{name}: init: true (signals reach the server, zombies reaped)"
        assert svc.get("stop_grace_period"), f"{name}: no stop_grace_period"
    assert total <= 10 * 2**30, f"memory limits add up to {total / 2**30:.1f} GiB: too much for a 16 GB laptop"


def test_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on must name a condition"
        for dep, spec in deps.items():
            want = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert spec.get("condition") == want, f"{name} -> {dep}: condition {spec.get('condition')}"
    assert "emulator" in services["glue-runner"]["depends_on"]
    assert {"emulator", "glue-runner", "fx-api"} <= set(services["init"]["depends_on"])


def test_compose_profile_and_service_endpoints(compose: dict[str, Any]) -> None:
    services = _services(compose)
    emu = services["emulator"]["environment"]
    # Lambda handlers (MiniStack subprocesses) must reach the runner, not MiniStack's Glue stub
    assert emu["AWS_ENDPOINT_URL_GLUE"] == "http://glue-runner:4599"
    assert emu["BIND_HOST"] == "0.0.0.0"
    for name in ("glue-runner", "init"):
        env = services[name]["environment"]
        assert env["SHOPLAKE_PROFILE"] == "compose"
        assert env["SHOPLAKE_AWS_ENDPOINT_URL"] == "http://emulator:4566"
        assert env["SHOPLAKE_GLUE_ENDPOINT_URL"] == "http://glue-runner:4599"
        assert env["SHOPLAKE_JOB_ENGINE"] == "spark"
    assert set(compose["volumes"]) >= {"emulator-data", "warehouse"}


def test_the_emulator_image_installs_exactly_the_setup_pins() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    pins = re.search(r'^MINISTACK_PINS="([^"]+)"', setup, re.M)
    assert pins
    assert f'ARG MINISTACK_PINS="{pins.group(1)}"' in DOCKERFILE.read_text()
    sha = re.search(r"^JARS_SDIST_SHA256=(\w+)", setup, re.M)
    assert sha and f"JARS_SDIST_SHA256={sha.group(1)}" in DOCKERFILE.read_text()


def test_certificates_are_never_committed() -> None:
    out = subprocess.run(["git", "ls-files", ".certs"], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "", "host CA certificates must not be committed"


def _bytes(value: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)b?", value.strip().lower())
    assert m, value
    return int(float(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2)])


def test_services_accept_the_host_names_other_containers_use(compose: dict[str, Any]) -> None:
    """The Host guard (services/localhost_guard.py) admits each service's compose name, and
    only that name besides loopback; the emulator image starts MiniStack behind the guard."""
    from urllib.parse import urlsplit

    services = _services(compose)
    allowed = {"emulator": "SHOPLAKE_EMULATOR_ALLOWED_HOSTS", "glue-runner": "GLUE_RUNNER_ALLOWED_HOSTS",
               "fx-api": "FX_API_ALLOWED_HOSTS"}
    called: set[str] = set()
    for service in services.values():
        for value in (service.get("environment") or {}).values():
            if isinstance(value, str) and value.startswith("http://"):
                called.add(urlsplit(value).hostname or "")
    assert called >= set(allowed)
    for name, var in allowed.items():
        assert services[name]["environment"][var] == name
    assert 'CMD ["python", "/opt/shoplake/emulator_guard.py"]' in DOCKERFILE.read_text()
