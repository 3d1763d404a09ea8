"""Process management for the load run: gunicorn, a Celery worker, locust, RSS/CPU sampling.

Every process is started in its own session so it (and its children) can be stopped by
process group, and only the groups started here are ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Managed:
    """A started process group with its log file."""

    name: str
    proc: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after ``timeout``."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(name: str, argv: list[str], *, env: dict[str, str], cwd: Path, logdir: Path) -> Managed:
    log = logdir / f"{name}.log"
    handle = open(log, "ab")  # noqa: SIM115 - owned by the child process from here on
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    handle.close()
    return Managed(name=name, proc=proc, log=log)


def wait_http(url: str, *, timeout: float, managed: Managed, want: str = "") -> str:
    """Poll ``url`` (loopback) until it answers 200 (containing ``want``); return the body."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not managed.alive():
            raise RuntimeError(f"{managed.name} exited early:\n{managed.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback only
                body = resp.read().decode()
                if resp.status == 200 and want in body:
                    return body
                last = body
        except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
            last = repr(exc)
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s: {last}\n{managed.tail()}")


def _group_usage(pid: int) -> tuple[int, float, list[int]]:
    """(RSS bytes, CPU seconds, per-process RSS) of a process and its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0.0, []
    rss, cpu, each = 0, 0.0, []
    for proc in procs:
        try:
            mem = proc.memory_info().rss
            times = proc.cpu_times()
        except psutil.Error:
            continue
        rss += mem
        each.append(mem)
        cpu += times.user + times.system + times.children_user + times.children_system
    return rss, cpu, each


def _services_cpu(database: str) -> tuple[dict[int, float], float, float]:
    """Per-backend CPU seconds of this run's PostgreSQL connections (matched by database
    name in their process title), Redis CPU, and the whole machine's busy CPU (to show
    what other work took). Read-only."""
    backends: dict[int, float] = {}
    redis = 0.0
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        times = proc.info.get("cpu_times")
        if times is None:
            continue
        name = proc.info.get("name") or ""
        title = " ".join(proc.info.get("cmdline") or [])
        if name.startswith("postgres") and f" {database} " in f" {title} ":
            backends[proc.pid] = times.user + times.system
        elif name.startswith("redis-server"):
            redis += times.user + times.system
    machine = psutil.cpu_times()
    busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq
    busy += getattr(machine, "steal", 0.0)
    return backends, redis, busy


@dataclass
class Sample:
    t: float
    rss: dict[str, int]
    rss_max_process: dict[str, int]
    cpu: dict[str, float]


@dataclass
class Sampler:
    """Samples RSS and CPU of the managed groups (and PostgreSQL/Redis CPU) every interval."""

    groups: dict[str, Managed]
    database: str
    interval: float = 10.0
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._pg_seen: dict[int, float] = {}
        self._pg_total = 0.0
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def sample(self) -> None:
        rss, biggest, cpu = {}, {}, {}
        for name, managed in self.groups.items():
            total, seconds, each = _group_usage(managed.proc.pid)
            rss[name], cpu[name] = total, seconds
            biggest[name] = max(each, default=0)
        backends, cpu["redis"], cpu["machine"] = _services_cpu(self.database)
        # Backends come and go (CONN_MAX_AGE): accumulate each one's growth since last seen.
        for pid, seconds in backends.items():
            self._pg_total += seconds - self._pg_seen.get(pid, 0.0)
        self._pg_seen = backends
        cpu["postgres"] = self._pg_total
        self.samples.append(Sample(time.time(), rss, biggest, cpu))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        self.sample()
