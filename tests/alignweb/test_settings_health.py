import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.urls import reverse

from tests.manage_cli import manage

ROOT = Path(__file__).resolve().parents[2]


def _run_manage(args, env_extra):
    drop = {"SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_off_without_secret_key_refuses_to_start():
    result = _run_manage(["check"], {"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_is_clean_under_production_settings():
    result = _run_manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            "DEBUG": "0",
            "SECRET_KEY": "x" * 20 + "production-like-secret-0123456789abcdef",
            "ALLOWED_HOSTS": "alignweb.example.org",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
@pytest.mark.usefixtures("celery_eager")
def test_healthz_reports_database_and_eager_broker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["mode"] == "eager"


@pytest.mark.django_db
def test_healthz_503_when_broker_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["broker"]["ok"] is False


def test_docker_compose_scales_out_behind_one_proxy():
    """``docker compose up --scale web=2 --scale worker=2``: migrations run once, before
    anything else; web replicas publish no host port (they would clash), nginx does."""
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = data["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "proxy", "worker"}
    for name in ("db", "redis", "web", "worker"):
        assert "healthcheck" in services[name]
    assert "gunicorn" in services["web"]["command"]
    assert "migrate" not in " ".join(services["web"]["command"])
    assert "ports" not in services["web"] and "ports" not in services["worker"]
    assert services["proxy"]["ports"] == ["8000:8000"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_pass $upstream" in conf and "http://web:8000" in conf


@pytest.mark.django_db
def test_security_headers(client):
    response = client.get(reverse("login"))
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_readme_starts_with_the_two_commands():
    lines = [ln for ln in (ROOT / "README.md").read_text().splitlines() if ln.strip()]
    code = [ln for ln in lines[:12] if ln.strip().startswith(("make ", "`make", "1.", "2."))]
    text = "\n".join(lines[:12])
    assert "make run" in text and "make test" in text
    assert text.index("make run") < text.index("make test")
    assert code


def test_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    settings.LOCAL_MODE = False
    result = manage("demo")
    assert result.returncode != 0
    assert "DEBUG" in result.stderr
