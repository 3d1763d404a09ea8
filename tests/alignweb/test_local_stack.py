"""`make run` end to end: the supervisor (alignweb/local.py) starts gunicorn with DEBUG off,
a real Celery worker on the embedded file broker and the offline model server, on a fresh
SQLite database in a temporary folder and free ports. Nothing here uses PostgreSQL,
Redis or the test database: this is the stack a fresh clone runs.

1. The lead runs a 3 endpoints x 2 scaffolds x 2 prompts generation from the new-run form
   to a blinded study; the run page updates in place while the worker runs the cells.
2. The lead cancels and resumes a run mid-way; then the worker is killed (the stack stops,
   as any crash would stop it), and starting the stack again resumes the run: every cell
   succeeds, none is called more than twice.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from alignweb.local import Options, local_env, secret_key

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "local-stack-pass-4821"
LATENCY = 0.5  # seconds per model reply: long enough to see a run in progress

pytestmark = [pytest.mark.services, pytest.mark.browser]


# -- the environment make run gives its processes ----------------------------------------


def test_server_error_page_is_our_own(settings):
    """With DEBUG off a crash shows AlignWeb's page, not Django's (no settings, no paths)."""
    from django.test import Client
    from django.urls import path

    def boom(request):
        raise RuntimeError("secret detail")

    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [path("boom/", boom)]})
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body and "secret detail" not in body


def test_local_env_debug_off_generated_secret_embedded_broker(tmp_path):
    options = Options(local_dir=tmp_path, database_url="sqlite:///x.sqlite3")
    env = local_env({"REDIS_URL": "redis://elsewhere:6379/0", "PATH": "/bin"}, options)
    assert env["DEBUG"] == "0" and env["LOCAL_MODE"] == "1"
    assert env["CELERY_BROKER_URL"].startswith("localfs://")
    assert env["CELERY_TASK_ALWAYS_EAGER"] == "0"
    assert "REDIS_URL" not in env  # no server needed, even if the shell names one
    key = (tmp_path / "secret_key").read_text().strip()
    assert env["SECRET_KEY"] == key and len(key) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # only the owner reads it
    assert secret_key(tmp_path) == key  # generated once, then kept (sessions survive)
    # A developer can turn debug pages on; their own secret wins.
    env = local_env({"DEBUG": "1", "SECRET_KEY": "s" * 60}, options)
    assert env["DEBUG"] == "1" and env["SECRET_KEY"] == "s" * 60


# -- the running stack -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """One `make run` (the supervisor process) on a folder of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port, self.fake_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "stack.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        drop = {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY", "REDIS_URL"}
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        args = [sys.executable, "-m", "alignweb.local", "--port", str(self.port)]
        args += ["--fake-port", str(self.fake_port), "--fake-latency", str(LATENCY)]
        args += ["--demo", "users", "--password", PASSWORD, "--local-dir", str(self.folder)]
        args += ["--database-url", f"sqlite:///{self.folder / 'db.sqlite3'}"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            if self.health().get("workers", {}).get("count"):
                return
            time.sleep(0.5)
        raise AssertionError("the stack did not come up:\n" + self.log.read_text()[-3000:])

    def health(self) -> dict:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5) as response:  # noqa: S310
                return json.loads(response.read())
        except (OSError, ValueError):
            return {}

    def child(self, word: str) -> int:
        """The pid of the supervisor's child whose command line contains ``word``."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        for pid in children.split():
            if word in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                return int(pid)
        raise AssertionError(f"no {word} process under the supervisor")

    def wait_exit(self, timeout: float = 60) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def query(self, sql: str, *params) -> list[tuple]:
        with sqlite3.connect(self.folder / "db.sqlite3", timeout=20) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stack")
    running = Stack(folder)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def lead_page(browser_instance, stack):
    context = browser_instance.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(stack.url + "/login/")
    page.fill("#id_username", "lead")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    yield page
    context.close()


def _fill_run_form(page, stack, *, name: str, scaffolds: list[str], prompts: int | None) -> None:
    page.goto(stack.url + "/transcripts/runs/new/")
    page.fill("#id_name", name)
    for label in ("Atlas 7B (fake)", "Borealis 70B (fake)", "Cirrus mini (fake)"):
        page.check(f"label:has-text('{label}')")
    for code in scaffolds:
        page.check(f"label:has-text('{code} ')")
    if prompts:
        page.fill("#id_max_prompts", str(prompts))
    page.fill("#id_max_tokens", "400")


def test_debug_off_no_url_patterns_in_a_404(stack):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(stack.url + "/no-such-page/", timeout=10)  # noqa: S310
    body = caught.value.read().decode()
    assert caught.value.code == 404
    assert "Not found" in body
    for leak in ("URLconf", "urlpatterns", "DEBUG = True", "Traceback"):
        assert leak not in body
    health = stack.health()
    # A real worker on a broker: no request runs tasks inline.
    assert health["broker"] == {"ok": True, "mode": "broker"}
    assert health["workers"]["count"] == 1


def test_lead_runs_a_generation_from_the_form_to_a_study(stack, lead_page, screenshot_dir):
    page = lead_page
    _fill_run_form(page, stack, name="Scaffold check", scaffolds=["C1", "C2"], prompts=2)
    # 12 cells, each reply at most max_tokens=400: a bound, and priced from the endpoints.
    page.wait_for_selector("[data-estimate=output]:text-is('≤ 4,800')")
    assert page.locator("[data-estimate=cells]").inner_text() == "12"
    assert page.locator("[data-estimate=cost]").inner_text().startswith("≤ $")
    page.screenshot(path=str(screenshot_dir / "local_run_form.png"), full_page=True)
    page.click("button:has-text('Start run')")
    # The form answered before any cell ran: the worker does the work, not the request.
    status = page.locator("[data-run-status]")
    assert status.get_attribute("data-run-status") == "running"
    page.evaluate("window.alignwebMarker = 'same page'")
    page.wait_for_selector("[data-run-status=finished]", timeout=120_000)
    # Updated in place by polling (no reload lost the marker), and it stayed usable.
    assert page.evaluate("window.alignwebMarker") == "same page"
    assert page.locator("[data-count=succeeded]").inner_text() == "12"
    assert page.locator("[data-outcome]").first.get_attribute("data-outcome") == "succeeded"
    name = page.locator("#id_name").input_value()
    assert "Scaffold check" not in name and name.startswith("Blinded coding study ")
    page.click("button:has-text('Create blinded study')")
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("created with 12 blinded items").is_visible()

    page.goto(stack.url + "/transcripts/endpoints/")
    page.click("text=Atlas 7B (fake)")
    page.click("button:has-text('Test connection')")
    page.wait_for_selector("[data-check=ok]", timeout=60_000)
    assert "Connected: atlas-7b answered" in page.locator("#endpoint-check").inner_text()
    page.screenshot(path=str(screenshot_dir / "local_endpoint_page.png"), full_page=True)


def test_killed_worker_then_make_run_again_resumes_the_run(
    stack, lead_page, screenshot_dir, tmp_path
):
    page = lead_page
    _fill_run_form(page, stack, name="Crash check", scaffolds=["C1", "C2", "C3", "C4"], prompts=0)
    page.click("button:has-text('Start run')")
    page.wait_for_selector("[data-run-status=running]")
    runs = "SELECT id, status, history FROM transcripts_generationrun WHERE name = 'Crash check'"
    run_id = stack.query(runs)[0][0]

    def count(state: str) -> int:
        sql = "SELECT COUNT(*) FROM transcripts_transcript WHERE run_id = ? AND state = ?"
        return stack.query(sql, run_id, state)[0][0]

    def wait_for(check, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, what
            time.sleep(0.2)

    wait_for(lambda: count("succeeded") >= 12, "the worker made no progress")
    # Cancel mid-run: calls in flight finish, no new cell starts; Resume goes on.
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Cancel run')")
    page.wait_for_selector("[data-run-status=cancelled]")
    wait_for(lambda: count("claimed") == 0, "calls in flight did not finish")
    stopped_at = count("succeeded")
    time.sleep(1.5)
    assert count("succeeded") == stopped_at and count("pending") > 0
    page.click("button:has-text('Resume')")
    page.wait_for_selector("[data-run-status=running]")
    wait_for(lambda: count("succeeded") >= stopped_at + 12, "the resumed run made no progress")
    page.wait_for_selector("[data-count=succeeded]:not(:text-is('0'))", timeout=10_000)
    page.screenshot(path=str(screenshot_dir / "local_run_page_mid_run.png"), full_page=True)
    os.kill(stack.child("celery"), signal.SIGKILL)
    # Like honcho: one process gone stops the rest, and the supervisor exits non-zero.
    assert stack.wait_exit() != 0
    done_at_kill, in_flight = count("succeeded"), count("claimed")
    assert done_at_kill < 180, "the run finished before the kill"

    stack.start()  # `make run` again: recovery, then a fresh worker
    deadline = time.monotonic() + 180
    while stack.query(runs)[0][1] == "running":
        assert time.monotonic() < deadline, "the run did not finish after the restart"
        time.sleep(0.3)
    cells = stack.query(
        "SELECT state, attempts, attempt_log FROM transcripts_transcript WHERE run_id = ?", run_id
    )
    assert len(cells) == 180
    assert {state for state, _, _ in cells} == {"succeeded"}  # no cell lost
    # Every call is a claim first, so attempts counts calls: none called more than twice.
    assert max(attempts for _, attempts, _ in cells) <= 2
    lost = [json.loads(log) for _, attempts, log in cells if attempts == 2]
    assert len(lost) == in_flight >= 1  # exactly the calls cut off by the kill
    assert all(log[0]["outcome"] == "lost" and log[-1]["outcome"] == "ok" for log in lost)
    history = json.loads(stack.query(runs)[0][2])
    assert "recovered" in [event["event"] for event in history]
