"""Locust scenario for ``make load``: coders code items, leads poll the dashboard.

Started by ``run_load.py``, which passes everything through environment variables
(``LOAD_*``) and reads back three kinds of per-process log files from ``LOAD_DIR``:

- ``requests-<pid>.csv``: one line per request (end time, name, ms, ok, status);
- ``submits-<pid>.jsonl``: one line per submit the server confirmed with a 302,
  holding exactly what was sent (item code, coder, values), so the controller can
  check afterwards that no score was lost or altered;
- ``logins-<pid>.txt``: one line per coder that finished logging in.

A coder's loop per item is what a browser does: fetch the item page, autosave a partial
draft, submit all eight scores with rationales; the submit answers with a redirect to
the coder's next item (or to the queue when none is left), which is the next fetch.
``/next/`` is asked once, for the first item.

``ApiCoderUser`` (``run_load.py --mode api``) is Label Studio's scenario through the REST
API instead: token authentication (tokens in ``LOAD_DIR/tokens.json``), closed loop,
per item ``GET .../my-assignments/next/`` -> ``GET .../my-assignments/<code>/`` ->
``POST .../submit/`` with all eight scores and rationales as JSON.
Coders stop starting new items once ``LOAD_DIR/stop`` exists, so the controller can
drain in-flight requests before it stops locust: every confirmed submit gets logged.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

from coder_values import values_for
from locust import FastHttpUser, constant, constant_pacing, events, task

LOAD_DIR = Path(os.environ.get("LOAD_DIR", "/tmp/alignweb-load"))
STUDY_ID = int(os.environ.get("LOAD_STUDY_ID", "0"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
N_CODERS = int(os.environ.get("LOAD_CODERS", "200"))
N_LEADS = int(os.environ.get("LOAD_LEADS", "3"))
CODER_PREFIX = os.environ.get("LOAD_CODER_PREFIX", "loadcoder")
LEAD_PREFIX = os.environ.get("LOAD_LEAD_PREFIX", "loadlead")
# Seconds per coded item for one coder (0 = as fast as the server answers).
PACE = float(os.environ.get("LOAD_PACE", "0"))
RAMP_TIMEOUT = float(os.environ.get("LOAD_RAMP_TIMEOUT", "240"))
LEAD_INTERVAL = float(os.environ.get("LOAD_LEAD_INTERVAL", "5"))
LEAD_PATHS = [p for p in os.environ.get("LOAD_LEAD_PATHS", "").split(",") if p]

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION_RE = re.compile(r'name="version" id="version" value="(\d+)"')


class _Logs:
    """Append-only per-process log files (opened lazily, after locust forks)."""

    def __init__(self) -> None:
        self.pid = 0
        self.requests: Any = None
        self.submits: Any = None
        self.logins: Any = None

    def _ensure(self) -> None:
        if self.pid == os.getpid():
            return
        self.pid = os.getpid()
        LOAD_DIR.mkdir(parents=True, exist_ok=True)
        self.requests = open(LOAD_DIR / f"requests-{self.pid}.csv", "a", buffering=1 << 16)  # noqa: SIM115
        self.submits = open(LOAD_DIR / f"submits-{self.pid}.jsonl", "a", buffering=1)  # noqa: SIM115
        self.logins = open(LOAD_DIR / f"logins-{self.pid}.txt", "a", buffering=1)  # noqa: SIM115

    def request(self, name: str, ms: float, ok: bool, status: int) -> None:
        self._ensure()
        self.requests.write(f"{time.time():.3f},{name},{ms:.1f},{int(ok)},{status}\n")

    def submit(self, record: dict) -> None:
        self._ensure()
        self.submits.write(json.dumps(record, separators=(",", ":")) + "\n")

    def login(self, username: str) -> None:
        self._ensure()
        self.logins.write(f"{time.time():.3f},{username}\n")

    def flush(self) -> None:
        for handle in (self.requests, self.submits, self.logins):
            if handle is not None:
                handle.flush()


LOGS = _Logs()


@events.request.add_listener
def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    exception: BaseException | None = None,
    response: Any = None,
    **_: Any,
) -> None:
    status = getattr(response, "status_code", 0) or 0
    LOGS.request(name, response_time or 0.0, exception is None, int(status))


@events.test_stop.add_listener
def _on_stop(**_: Any) -> None:
    LOGS.flush()


@events.quitting.add_listener
def _on_quit(**_: Any) -> None:
    LOGS.flush()


def _claim_index(kind: str) -> int:
    """A unique account index across locust processes (a locked counter file)."""
    LOAD_DIR.mkdir(parents=True, exist_ok=True)
    path = LOAD_DIR / f"counter-{kind}"
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        current = int(handle.read().strip() or 0)
        handle.seek(0)
        handle.truncate()
        handle.write(str(current + 1))
        handle.flush()
        fcntl.flock(handle, fcntl.LOCK_UN)
    return current


def _wait_for_logins() -> None:
    """Block until every coder has logged in (or the ramp-up deadline passed), so the
    measured window is not shared with 200 deliberately slow password hashes."""
    deadline = time.time() + RAMP_TIMEOUT
    path = LOAD_DIR / "counter-logged-in"
    while time.time() < deadline and not _stopping():
        try:
            if int(path.read_text().strip() or 0) >= N_CODERS:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.5)


def _stopping() -> bool:
    return (LOAD_DIR / "stop").exists()


def _form(values: dict[str, dict[str, Any]], csrf: str, version: str) -> dict[str, str]:
    data = {"csrfmiddlewaretoken": csrf, "version": version}
    for code, entry in values.items():
        data[f"value_{code}"] = str(entry["value"])
        data[f"rationale_{code}"] = entry["rationale"]
    return data


class _LoginMixin:
    username = ""

    def _login(self) -> bool:
        """Log in; a timed-out attempt (slow hashing under load) is retried twice."""
        for _attempt in range(3):
            if self._login_once():
                return True
            time.sleep(1.0)
        return False

    def _login_once(self) -> bool:
        client = self.client  # type: ignore[attr-defined]
        with client.get("/login/", name="login-page", catch_response=True) as resp:
            match = CSRF_RE.search(resp.text or "")
            if resp.status_code != 200 or not match:
                resp.failure(f"login page {resp.status_code}")
                return False
        data = {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": match[1]}
        with client.post(
            "/login/", data=data, name="login", allow_redirects=False, catch_response=True
        ) as resp:
            if resp.status_code != 302:
                resp.failure(f"login refused ({resp.status_code})")
                return False
        return True


def _claim_coder(user) -> bool:
    """Give a coder user its account (index, username); False when all are taken."""
    user.index = _claim_index("coder")
    user.done = user.index >= N_CODERS
    if not user.done:
        user.username = f"{CODER_PREFIX}{user.index:03d}"
    return not user.done


def _may_code(user) -> bool:
    """False (after a pause) once the coder is done or the run stops; the first call
    waits for every coder to be ready, then a random moment (no lock-step herd)."""
    if user.done or _stopping():
        time.sleep(1.0)
        return False
    if not user.ready:
        _wait_for_logins()
        user.ready = True
        time.sleep(random.uniform(0, PACE or 1.0))
    return True


class CoderUser(_LoginMixin, FastHttpUser):
    """One coder: log in once, then fetch next item, autosave, submit, repeat."""

    wait_time = constant_pacing(PACE) if PACE > 0 else constant(0)
    connection_timeout = 30.0
    network_timeout = 60.0

    def on_start(self) -> None:
        if not _claim_coder(self):
            return
        self.ready = False
        self.next_url = ""
        if self._login():
            LOGS.login(self.username)
            _claim_index("logged-in")
        else:
            self.done = True

    def _follow(self, location: str) -> bool:
        """Accept a redirect to an item page, or to the queue (every item coded)."""
        if f"/studies/{STUDY_ID}/items/" in location:
            return True
        if location.rstrip("/").endswith(f"/studies/{STUDY_ID}/queue"):
            self.done = True  # queue exhausted: not an error
            return True
        return False

    @task
    def code_one_item(self) -> None:
        if not _may_code(self):
            return
        prefix = f"/studies/{STUDY_ID}/"
        if not self.next_url:
            with self.client.get(
                f"{prefix}next/", name="next", allow_redirects=False, catch_response=True
            ) as resp:
                self.next_url = resp.headers.get("Location", "") if resp.status_code == 302 else ""
                if not self._follow(self.next_url):
                    resp.failure(f"next: {resp.status_code} {self.next_url!r}")
                elif self.done:
                    resp.success()
                if self.done or not self.next_url:
                    return
        item_url = self.next_url
        code = item_url.rstrip("/").rsplit("/", 1)[-1]
        self.next_url = ""
        with self.client.get(item_url, name="item", catch_response=True) as resp:
            csrf = CSRF_RE.search(resp.text or "")
            version = VERSION_RE.search(resp.text or "")
            if resp.status_code != 200 or not csrf or not version:
                resp.failure(f"item page {resp.status_code}")
                return
        values = values_for(self.username, code)
        draft = dict(list(values.items())[: len(values) // 2])
        with self.client.post(
            f"{item_url}save/",
            data=_form(draft, csrf[1], version[1]),
            name="save",
            catch_response=True,
        ) as resp:
            saved = VERSION_RE.search(resp.text or "")
            if resp.status_code != 200 or not saved:
                resp.failure(f"autosave {resp.status_code}")
                return
        with self.client.post(
            f"{item_url}submit/",
            data=_form(values, csrf[1], saved[1]),
            name="submit",
            allow_redirects=False,
            catch_response=True,
        ) as resp:
            location = resp.headers.get("Location", "")
            if resp.status_code != 302 or not self._follow(location):
                resp.failure(f"submit {resp.status_code} {location!r}")
                return
            self.next_url = "" if self.done else location
        LOGS.submit({"t": time.time(), "item": code, "coder": self.username, "values": values})


class ApiCoderUser(FastHttpUser):
    """One API client: token auth, then next -> item -> submit, as fast as answered."""

    wait_time = CoderUser.wait_time
    connection_timeout = CoderUser.connection_timeout
    network_timeout = CoderUser.network_timeout

    def on_start(self) -> None:
        if not _claim_coder(self):
            return
        tokens = json.loads((LOAD_DIR / "tokens.json").read_text())
        self.headers = {"Authorization": f"Token {tokens[self.username]}"}
        self.ready = False
        LOGS.login(self.username)  # no password to hash: ready at once
        _claim_index("logged-in")

    @task
    def code_one_item(self) -> None:
        if not _may_code(self):
            return
        base = f"/api/v1/studies/{STUDY_ID}/my-assignments/"
        with self.client.get(
            base + "next/", name="next", headers=self.headers, catch_response=True
        ) as resp:
            if resp.status_code == 204:
                self.done = True  # everything coded: not an error
                resp.success()
                return
            body = resp.json() if resp.status_code == 200 else {}
            code = body.get("item", "")
            if not code:
                resp.failure(f"next: {resp.status_code}")
                return
        with self.client.get(
            f"{base}{code}/", name="item", headers=self.headers, catch_response=True
        ) as resp:
            item = resp.json() if resp.status_code == 200 else {}
            if "version" not in item or not item.get("item", {}).get("content"):
                resp.failure(f"item: {resp.status_code}")
                return
        values = values_for(self.username, code)
        with self.client.post(
            f"{base}{code}/submit/",
            json={"version": item["version"], "scores": values},
            name="submit",
            headers=self.headers,
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"submit {resp.status_code}")
                return
        LOGS.submit({"t": time.time(), "item": code, "coder": self.username, "values": values})


class LeadUser(_LoginMixin, FastHttpUser):
    """A lead polling the study dashboard (and agreement pages when they exist)."""

    fixed_count = N_LEADS
    wait_time = constant_pacing(LEAD_INTERVAL)
    connection_timeout = 30.0
    network_timeout = 60.0

    def on_start(self) -> None:
        self.index = _claim_index("lead")
        self.username = f"{LEAD_PREFIX}{self.index % max(N_LEADS, 1)}"
        self.ok = self._login()
        if self.ok:
            _wait_for_logins()  # leads start polling with the measured window

    @task
    def poll_dashboard(self) -> None:
        if not self.ok or _stopping():
            time.sleep(1.0)
            return
        self.client.get(f"/studies/{STUDY_ID}/", name="dashboard")
        for path in LEAD_PATHS:
            self.client.get(path, name="agreement" if "agreement" in path else path)
