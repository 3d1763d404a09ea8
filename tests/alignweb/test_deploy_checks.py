"""Deployment checks beyond test_settings_health.py: the production settings themselves,
the headers and cookies a coder's browser actually receives under them, and no default
credentials anywhere in the shipped code except the demo command.

"Production settings" are read from the real settings module in a subprocess started
with a production environment, then applied in-process, so these tests follow
alignweb/settings.py rather than restating it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from coding.models import Assignment
from coding.services import items_import, study_open
from tests.coding.conftest import make_records
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "deploy-check-" + "k7Q2mX9vR4tL8wZ1" * 4,
    "ALLOWED_HOSTS": "alignweb.example.org",
}
SECURITY_SETTINGS = [
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "X_FRAME_OPTIONS",
    "CONTENT_SECURITY_POLICY",
]
ONE_YEAR = 365 * 24 * 3600


def _manage(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    drop = {"SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "ALLOWED_HOSTS"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("SECURE_")}
    env = {k: v for k, v in env.items() if not k.endswith("_COOKIE_SECURE")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def production() -> dict:
    """The security settings as alignweb/settings.py computes them for production."""
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {SECURITY_SETTINGS!r}}}))"
    )
    result = _manage(["shell", "-c", code], PROD_ENV)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def prod_settings(settings, production):
    """Apply the production security settings to this test's requests."""
    for name, value in production.items():
        if name == "SECURE_PROXY_SSL_HEADER" and value is not None:
            value = tuple(value)
        setattr(settings, name, value)
    return settings


# ------------------------------------------------------------------ settings values


def test_production_settings_are_the_secure_ones(production):
    assert production["DEBUG"] is False
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SESSION_COOKIE_SAMESITE"] in {"Lax", "Strict"}
    assert production["CSRF_COOKIE_SAMESITE"] in {"Lax", "Strict"}
    assert production["SECURE_HSTS_SECONDS"] >= ONE_YEAR
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["X_FRAME_OPTIONS"] == "DENY"
    assert production["SECURE_REFERRER_POLICY"] in {"same-origin", "strict-origin", "no-referrer"}
    assert production["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_check_deploy_catches_an_insecure_override():
    """The clean `check --deploy` (test_settings_health.py) means something: turning the
    protections off through the environment is reported."""
    result = _manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            **PROD_ENV,
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
        },
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in output, output


# ------------------------------------------------------------- coder pages over HTTPS


@pytest.fixture
def coder_pages(personas):
    items_import(study=personas.study, records=make_records(4), by=personas.lead)
    study_open(study=personas.study, by=personas.lead)
    a = (
        Assignment.objects.filter(item__study=personas.study, coder=personas.coder_a)
        .order_by("position")
        .first()
    )
    sid = personas.study.pk
    return personas, [
        reverse("home"),
        reverse("coding:queue", args=[sid]),
        reverse("coding:code-item", args=[sid, a.item.public_code]),
    ]


def _csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        tokens = part.split()
        if tokens:
            directives[tokens[0].lower()] = tokens[1:]
    return directives


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)
HANDLER_ATTR = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def test_csp_on_coder_pages_forbids_inline_and_eval(client, coder_pages, prod_settings):
    personas, urls = coder_pages
    responses = [(reverse("login"), client.get(reverse("login"), secure=True))]
    client.force_login(personas.coder_a)
    responses += [(url, client.get(url, secure=True)) for url in urls]
    for url, response in responses:
        assert response.status_code == 200, url
        assert "Content-Security-Policy-Report-Only" not in response.headers
        csp = _csp(response.headers["Content-Security-Policy"])
        script = csp.get("script-src", csp.get("default-src"))
        assert script == ["'self'"], (url, script)
        for word in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "https:", "http:"):
            assert word not in script
        assert csp["default-src"] == ["'self'"]
        assert csp["object-src"] == ["'none'"]
        assert csp["base-uri"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'none'"]
        # Under this policy inline code would silently not run: there must be none.
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), url
        assert not HANDLER_ATTR.search(html), url
        assert "javascript:" not in html.lower(), url


def test_plain_http_is_redirected_to_https(client, db, prod_settings):
    response = client.get(reverse("login"))
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_session_and_csrf_cookies_are_secure(client, personas, prod_settings):
    page = client.get(reverse("login"), secure=True)
    csrf = page.cookies["csrftoken"].output()
    assert "Secure" in csrf and "SameSite=Lax" in csrf

    response = client.post(
        reverse("login"), {"username": "coder_a", "password": PASSWORD}, secure=True
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"].output()
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in session, session
    if "csrftoken" in response.cookies:  # rotated on login
        assert "Secure" in response.cookies["csrftoken"].output()


def test_security_headers_on_html_json_and_api(client, coder_pages, prod_settings):
    personas, urls = coder_pages
    client.force_login(personas.coder_a)
    for url in [*urls, reverse("healthz"), reverse("api-schema")]:
        response = client.get(url, secure=True)
        assert response.status_code in {200, 503}, url  # healthz may be 503 without Redis
        headers = response.headers
        hsts = headers["Strict-Transport-Security"]
        assert f"max-age={prod_settings.SECURE_HSTS_SECONDS}" in hsts, url
        assert "includeSubDomains" in hsts
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] == prod_settings.SECURE_REFERRER_POLICY, url
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", url


# -------------------------------------------------------------- default credentials

DEMO_COMMAND = "demo/management/commands/demo.py"
SECRET_NAME = re.compile(r"(^|_)(password|passwd|pwd|secret|secret_key|api_key|token)$", re.I)
URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def _literal(node: ast.AST) -> str | None:
    """The text of a string literal (or a + of literals), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _literal(node.left)
        return left + (_literal(node.right) or "") if left is not None else None
    return None


def _secret_literal(node: ast.AST) -> bool:
    text = _literal(node)
    # Django's own marker for a development-only key (settings refuse it without DEBUG).
    return bool(text) and not text.startswith("django-insecure-")


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def credential_findings(source: str, path: str) -> list[str]:
    """Hard-coded passwords, superuser creation and credentials in URLs in one module."""
    found = []
    for node in ast.walk(ast.parse(source, filename=path)):
        where = f"{path}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "create_superuser":
                found.append(f"{where} create_superuser()")
            hashes = name in {"set_password", "make_password"}
            if hashes and node.args and _secret_literal(node.args[0]):
                found.append(f"{where} {name}() with a literal")
            for kw in node.keywords:
                if kw.arg and SECRET_NAME.search(kw.arg) and _secret_literal(kw.value):
                    found.append(f"{where} {kw.arg}= literal")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                label = getattr(target, "id", getattr(target, "attr", ""))
                secret = bool(label) and SECRET_NAME.search(label) is not None
                if secret and node.value is not None and _secret_literal(node.value):
                    found.append(f"{where} {label} = literal")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                label = _literal(key) if key is not None else None
                if label and SECRET_NAME.search(label) and _secret_literal(value):
                    found.append(f"{where} {label!r}: literal")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and URL_WITH_PASSWORD.search(node.value)
        ):
            found.append(f"{where} URL with a password")
    return found


def _shipped_python_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        p
        for p in listed
        if not p.startswith("tests/") and p != DEMO_COMMAND and (ROOT / p).exists()
    ]


def test_no_default_credentials_outside_the_demo_command():
    files = _shipped_python_files()
    assert "alignweb/settings.py" in files and len(files) > 20
    findings = [f for p in files for f in credential_findings((ROOT / p).read_text(), p)]
    assert findings == []


def test_credential_scan_finds_planted_examples():
    planted = """
User.objects.create_superuser("admin", "a@example.org", "admin")
user.set_password("hunter2")
make_password("letmein")
User.objects.create_user("bob", password="bob123")
ADMIN_PASSWORD = "changeme"
config = {"api_key": "sk-live-123"}
DATABASE = "postgres://app:s3cret@db:5432/app"
"""
    assert len(credential_findings(planted, "planted.py")) == 7
    harmless = """
user.set_password(secrets.token_urlsafe(24))
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
api_key_env = "OPENAI_API_KEY"
SECRET_KEY = "django-insecure-local-development-only-" + "x" * 20
"""
    assert credential_findings(harmless, "harmless.py") == []
