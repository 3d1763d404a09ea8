"""Suite-wide fixtures: personas, service checks, a live Celery worker, headless Chromium.

REQUIRE_SERVICES=1 turns a missing PostgreSQL/Redis into a failure instead of a skip;
REQUIRE_BROWSER=1 does the same for Chromium. CI sets both.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the
# test body are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]


def _flag(name: str) -> bool:
    return os.environ.get(name, "") in {"1", "true", "yes"}


def need(condition: bool, reason: str, required_by: str) -> None:
    """Skip with a reason locally; fail when the CI flag demands the service."""
    if condition:
        return
    if _flag(required_by):
        pytest.fail(f"{reason} ({required_by}=1, so this is a failure, not a skip)")
    pytest.skip(reason)


def redis_url() -> str:
    return os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or ""


def redis_answers(url: str) -> bool:
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


def run_queue_prefix() -> str:
    """This test process's Celery queue prefix: its own queues on the shared Redis."""
    return f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}-"


def pytest_sessionstart(session: pytest.Session) -> None:
    from django.conf import settings

    from alignweb.queues import use_prefix

    # Tasks sent by this run, and the live workers it starts, use queues no other run (or
    # a stray worker left by one) consumes; see alignweb/queues.py.
    prefix = run_queue_prefix()
    os.environ["CELERY_QUEUE_PREFIX"] = prefix
    use_prefix(prefix)

    # PBKDF2 with Django's production iteration count costs ~0.5 s per user on these
    # machines; tests create hundreds. Production hashing is unchanged.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if _flag("REQUIRE_SERVICES"):
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres://", "postgresql://")):
            raise pytest.UsageError("REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
        if not redis_answers(redis_url()):
            raise pytest.UsageError("REQUIRE_SERVICES=1 but Redis (CELERY_BROKER_URL) is down")
    if _flag("REQUIRE_BROWSER") and not Path(CHROMIUM).exists():
        raise pytest.UsageError(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop this run's queues (tasks sent outside ``celery_eager``) from the shared Redis."""
    from alignweb.queues import queue_name

    url = redis_url()
    if url.startswith("redis") and redis_answers(url):
        import redis
        from django.conf import settings

        names = [queue_name(q) for q in settings.CELERY_QUEUE_NAMES]
        # kombu keeps priorities 3, 6 and 9 in sibling lists.
        names += [f"{n}\x06\x16{p}" for n in names for p in (3, 6, 9)]
        redis.Redis.from_url(url).delete(*names)


@pytest.fixture
def celery_eager(settings) -> Iterator[None]:
    """Tasks run in-process, inside the test. Opt in where a test needs its tasks done
    (``pytestmark = pytest.mark.usefixtures("celery_eager")``). Elsewhere a task sent with
    a broker configured waits in this run's own queues, which the session purges."""
    from alignweb.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = previous


def _seed_builtin_data() -> None:
    """Re-run the (idempotent) data migrations when a flush removed their rows."""
    import importlib

    from django.apps import apps

    from audit.models import Benchmark, BenchmarkVersion
    from coding.models import Rubric
    from transcripts.models import Scaffold

    for model, module, func in (
        (Rubric, "coding.migrations.0002_alignment_rubric", "create_rubric"),
        (Scaffold, "transcripts.migrations.0002_builtin_scaffolds_prompts", "forwards"),
        (Benchmark, "audit.migrations.0003_seed_benchmarks", "seed"),
        (BenchmarkVersion, "audit.migrations.0005_registry_sixteen", "forwards"),
    ):
        if not model.objects.exists():
            getattr(importlib.import_module(module), func)(apps, None)


@pytest.fixture(autouse=True)
def _builtin_data(request) -> None:
    """Transactional tests end with a flush that also empties the rows shipped by data
    migrations (the D1-D8 rubric, scaffolds, benchmarks); put them back for each DB test."""
    if request.node.get_closest_marker("django_db") or "_django_db_helper" in (
        request.fixturenames
    ):
        request.getfixturevalue("_django_db_helper")
        _seed_builtin_data()


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def personas(db):
    from tests.factories import make_personas

    return make_personas()


@pytest.fixture
def login(client):
    """Log a persona in on the test client: ``login(personas.coder_a)``."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture
def require_postgres(db) -> None:
    need(is_postgres(), "needs PostgreSQL (set DATABASE_URL)", "REQUIRE_SERVICES")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveWorker:
    """A real Celery worker subprocess on Redis, sharing the test database."""

    def __init__(self, env: dict[str, str], queues: str, concurrency: int) -> None:
        self.env = env
        self.queues = queues
        self.concurrency = concurrency
        self.proc: subprocess.Popen | None = None
        self.log_path = ROOT / ".pytest-worker.log"

    def start(self) -> None:
        from alignweb.queues import queue_name

        # disable_sync_subtasks=False below: an eager task run earlier in this process can
        # leave Celery believing it is inside a task, which would refuse result.get().
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "alignweb",
                "worker",
                "--loglevel=INFO",
                "--pool=threads",
                f"--concurrency={self.concurrency}",
                "-Q",
                ",".join(queue_name(q) for q in self.queues.split(",")),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        from alignweb.celery import app

        deadline = time.monotonic() + 60
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early; see {self.log_path}")
            try:
                app.send_task("alignweb.health", queue=queue_name("default")).get(
                    timeout=2, disable_sync_subtasks=False
                )
                return
            except Exception as exc:  # noqa: BLE001
                last = exc
                time.sleep(0.2)
        raise RuntimeError(
            f"worker did not answer within 60 s (last error: {last!r}); see {self.log_path}"
        )

    def kill(self) -> None:
        """SIGKILL: the crash case (tasks in flight are not acknowledged)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def live_worker_factory(transactional_db, settings):
    """Start real Celery workers on Redis against the test database (PostgreSQL).

    Every test using this must carry ``@pytest.mark.xdist_group("live_worker")``: workers
    share the Redis queues, so under ``-n 2 --dist loadgroup`` they must run serially.
    """
    from django.db import connection

    from alignweb.celery import app

    url = redis_url()
    need(
        bool(url) and redis_answers(url), "needs Redis (set CELERY_BROKER_URL)", "REQUIRE_SERVICES"
    )
    need(
        is_postgres(),
        "a worker process needs a shared PostgreSQL test database",
        "REQUIRE_SERVICES",
    )
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        CELERY_BROKER_URL=url,
        CELERY_TASK_ALWAYS_EAGER="0",
        DEBUG="1",
        PYTHONUNBUFFERED="1",
    )
    previous_eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # An eager task run earlier in this process can leave its request on Celery's task
    # stack; Celery would then treat this test as running inside a task.
    from celery._state import _task_stack

    while _task_stack.top is not None:
        _task_stack.pop()
    app.control.purge()
    workers: list[LiveWorker] = []

    def start(queues: str = "default,generation", concurrency: int = 4) -> LiveWorker:
        worker = LiveWorker(env, queues, concurrency)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    app.control.purge()
    app.conf.task_always_eager = previous_eager


@pytest.fixture
def live_worker(live_worker_factory) -> LiveWorker:
    return live_worker_factory()


@pytest.fixture(scope="session")
def browser_instance():
    need(
        Path(CHROMIUM).exists() or bool(shutil.which("chromium")),
        f"needs Debian chromium at {CHROMIUM}",
        "REQUIRE_BROWSER",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser_instance, live_server):
    """A fresh browser context on the live server; ``page.base`` is its URL."""
    from django.urls import get_resolver

    # The live server runs in this process: load every URLconf and view module now, so
    # the first navigation does not spend the page timeout importing them.
    get_resolver().url_patterns  # noqa: B018
    context = browser_instance.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.base = live_server.url
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def browser_login(page, username: str, password: str | None = None) -> None:
    from tests.factories import PASSWORD

    page.goto(page.base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password or PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.fixture
def screenshot_dir() -> Path:
    path = ROOT / ".screenshots"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def api():
    """A REST client (log in with ``as_user``; modules may override with their own)."""
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def open_study(personas):
    """The personas' study with 12 imported items, opened (k = 2, two coders)."""
    from coding.services import items_import, study_open
    from tests.coding.conftest import make_records

    items_import(study=personas.study, records=make_records(12), by=personas.lead)
    study_open(study=personas.study, by=personas.lead)
    personas.study.refresh_from_db()
    return personas


@pytest.fixture
def quiet_submissions():
    """No after-submit listeners (no agreement snapshot per submission), as the demo loads."""
    from coding import hooks

    with hooks.submissions_quiet():
        yield
