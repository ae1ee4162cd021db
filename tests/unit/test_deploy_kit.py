"""The deploy kit holds together: compose, nginx, Dockerfile, systemd unit and env example agree with the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_several_replicas_on_postgres_after_one_migration() -> None:
    services = _compose()["services"]
    assert {"postgres", "migrate", "qunke", "proxy"} <= set(services)
    qunke = services["qunke"]
    replicas = str(qunke["deploy"]["replicas"])
    default = re.fullmatch(r"\$\{QUNKE_REPLICAS:-(\d+)\}", replicas)
    assert default is not None and int(default.group(1)) >= 2
    assert qunke["environment"]["QUNKE_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert qunke["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["qunke", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "--host" in qunke["command"] and "0.0.0.0" in qunke["command"]


def test_proxy_exposes_the_callbacks_and_console_but_not_health_or_metrics() -> None:
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for path in ("/wecom/callback", "/wechat/callback", "/console"):
        assert re.search(rf"location (= )?{re.escape(path)}\s*\{{[^}}]*proxy_pass http://qunke_replicas", nginx), path
    assert "location / { return 404; }" in nginx
    assert "healthz" not in nginx.replace("/healthz and /metrics stay inside", "")


def test_image_runs_as_a_non_root_user_and_copies_every_package() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r'^CMD \["qunke", "serve"', dockerfile, re.M)
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.M))
    assert copied == packages


def test_systemd_unit_migrates_then_serves_as_the_qunke_user() -> None:
    unit = (DEPLOY / "qunke.service").read_text(encoding="utf-8")
    assert "User=qunke" in unit
    assert re.search(r"^ExecStartPre=\S+/qunke db upgrade$", unit, re.M)
    assert re.search(r"^ExecStart=\S+/qunke serve$", unit, re.M)


def test_every_variable_in_the_env_example_is_documented_in_the_readme() -> None:
    example = (DEPLOY / "qunke.env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.M))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert names and {name for name in names if f"`{name}`" not in readme} == set()


def test_image_and_systemd_unit_cap_malloc_arenas_when_deployed() -> None:
    # Resident memory grew about twice as much under load with one glibc arena per thread (bench/RESULTS.md).
    assert re.search(r"^\s+MALLOC_ARENA_MAX=2$", (REPO / "Dockerfile").read_text(encoding="utf-8"), re.M)
    assert "Environment=MALLOC_ARENA_MAX=2" in (DEPLOY / "qunke.service").read_text(encoding="utf-8")
