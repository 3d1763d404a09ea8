"""`make run`: the whole stack on one machine, under one supervisor, needing no server.

Runs, in this order: migrations, the demo data (first run only) and recovery of runs a
previous stack left running (``manage.py local_setup``), then three processes side by side:

- ``model``: the built-in offline model server (OpenAI and Anthropic APIs) that the demo
  endpoints point at (port 8765, or FAKE_MODEL_PORT; another free port if that is taken);
- ``worker``: a real Celery worker on the embedded file broker (alignweb/local_broker.py);
- ``web``: gunicorn with DEBUG off (``DEBUG=1 make run``: Django's runserver with
  autoreload and debug pages, for developers).

Ctrl-C (or SIGTERM) stops all three; if any of them exits, the others are stopped too,
so a half-running stack never lingers. The secret key is generated on the first run and
kept in ``.local/secret_key`` (git-ignored), so sessions survive restarts.

Run ``python -m alignweb.local --help`` for the options; the Makefile passes PORT and
FAKE_MODEL_PORT through.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10.0
COLOURS = {"setup": "37", "model": "35", "worker": "36", "web": "32"}


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 8000
    fake_port: int = 8765
    concurrency: int = 8
    demo: str = "full"  # full | users | none
    password: str | None = None
    database_url: str = ""
    local_dir: Path = ROOT / ".local"
    fake_latency: float = 0.0


def secret_key(local_dir: Path) -> str:
    """The local stack's SECRET_KEY: generated once, then read from a file only we can read."""
    path = local_dir / "secret_key"
    if path.exists():
        value = path.read_text().strip()
        if len(value) >= 50:
            return value
    local_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(64)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def local_env(base: Mapping[str, str], options: Options) -> dict[str, str]:
    """The environment of every process of the stack.

    DEBUG stays off unless the developer set it; the broker is always the embedded one and
    Redis is not used (the stack must run where no server does).
    """
    env = dict(base)
    env["LOCAL_MODE"] = "1"
    env["LOCAL_DIR"] = str(options.local_dir)
    if not env.get("DEBUG"):
        env["DEBUG"] = "0"
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = secret_key(options.local_dir)
    env["DATABASE_URL"] = options.database_url or f"sqlite:///{ROOT / 'db.sqlite3'}"
    env["CELERY_BROKER_URL"] = "localfs://localhost/"
    env["CELERY_TASK_ALWAYS_EAGER"] = "0"
    for name in ("REDIS_URL", "CELERY_RESULT_BACKEND"):
        env.pop(name, None)
    env["FAKE_MODEL_PORT"] = str(options.fake_port)
    env["PYTHONUNBUFFERED"] = "1"
    # Static files are served from the source folders (WHITENOISE_USE_FINDERS); an empty
    # STATIC_ROOT keeps whitenoise from warning on every start.
    env.setdefault("STATIC_ROOT", str(options.local_dir / "staticfiles"))
    (options.local_dir / "staticfiles").mkdir(parents=True, exist_ok=True)
    env.setdefault("DJANGO_SETTINGS_MODULE", "alignweb.settings")
    return env


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def commands(options: Options, env: Mapping[str, str]) -> dict[str, list[str]]:
    """The three long-running processes, by name."""
    py = sys.executable
    fake = [py, "manage.py", "fake_model_server", "--host", options.host]
    fake += ["--port", str(options.fake_port), "--latency", str(options.fake_latency)]
    worker = [py, "-m", "celery", "-A", "alignweb", "worker", "--pool=threads"]
    # No -Q: the worker consumes settings.CELERY_TASK_QUEUES (default and generation).
    worker += [f"--concurrency={options.concurrency}"]
    worker += ["--without-gossip", "--without-mingle", "--loglevel=INFO", "-n", "local@%h"]
    if env.get("DEBUG") in ("1", "true", "yes", "on"):
        web = [py, "manage.py", "runserver", f"{options.host}:{options.port}"]
    else:
        web = [py, "-m", "gunicorn", "alignweb.wsgi:application"]
        web += ["--bind", f"{options.host}:{options.port}", "--workers", "2", "--threads", "4"]
        web += ["--preload"]  # import the app once, before the workers fork
        web += ["--graceful-timeout", "3", "--no-control-socket", "--error-logfile", "-"]
    return {"model": fake, "worker": worker, "web": web}


def setup_steps(options: Options) -> list[list[str]]:
    """One-shot steps before the servers start; each must succeed."""
    step = [sys.executable, "manage.py", "local_setup", "--demo", options.demo]
    if options.password:
        step += ["--password", options.password]
    return [step]


def _die_with_parent() -> None:
    """Linux: a child gets SIGTERM if the supervisor itself is killed (no orphans)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Supervisor:
    def __init__(self, env: Mapping[str, str], *, colour: bool) -> None:
        self.env = dict(env)
        self.colour = colour
        self.procs: dict[str, subprocess.Popen] = {}
        self.step: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self._print_lock = threading.Lock()

    def say(self, name: str, line: str) -> None:
        label = f"{name:>6} | "
        if self.colour:
            label = f"\033[{COLOURS.get(name, '0')}m{label}\033[0m"
        with self._print_lock:
            sys.stdout.write(label + line.rstrip("\n") + "\n")
            sys.stdout.flush()

    def _spawn(self, args: Sequence[str]) -> subprocess.Popen:
        # A process group of its own: the terminal's Ctrl-C reaches only the supervisor,
        # which then stops the children in order.
        return subprocess.Popen(
            list(args),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads exist yet at spawn
        )

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            self.say(name, raw.decode("utf-8", "replace"))

    def run_step(self, args: Sequence[str]) -> int:
        self.step = proc = self._spawn(args)
        self._pump("setup", proc)
        return proc.wait()

    def interrupt(self) -> None:
        """Ctrl-C: stop waiting, and end a setup step (the demo build) right away."""
        self.stopping.set()
        if self.step is not None and self.step.poll() is None:
            self.step.terminate()

    def start_model(self, args: Sequence[str]) -> None:
        """The model server needs no database: it starts while the setup step runs."""
        self.procs["model"] = self._spawn(args)

    def start(self, commands: Mapping[str, Sequence[str]], *, model_port: int, host: str) -> bool:
        """Once the model server listens, the worker and the web server: a worker resuming
        a run must not call a model server that is still starting."""
        deadline = time.monotonic() + 120
        while not _listening(host, model_port):
            if self.stopping.is_set() or self.procs["model"].poll() is not None:
                break
            if time.monotonic() > deadline:
                self.say("setup", f"the model server is not listening on port {model_port}")
                self.stopping.set()
                break
            time.sleep(0.1)
        if not self.stopping.is_set() and self.procs["model"].poll() is None:
            for name in ("worker", "web"):
                self.procs[name] = self._spawn(commands[name])
        # Output pumps start after every spawn: no thread exists while a child forks.
        for name, proc in self.procs.items():
            threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()
        return len(self.procs) == len(commands)

    def wait(self) -> int:
        """Until Ctrl-C/SIGTERM or a child exits; then stop everything. The exit code."""
        code = 0
        while not self.stopping.is_set():
            for name, proc in self.procs.items():
                status = proc.poll()
                if status is not None:
                    self.say("setup", f"{name} exited with status {status}; stopping the rest.")
                    code = status if status and status > 0 else 1
                    self.stopping.set()
                    break
            self.stopping.wait(0.2)
        self.stop()
        return code

    def stop(self) -> None:
        """SIGTERM each child (web first, model server last), then SIGKILL stragglers."""
        for name in ("web", "worker", "model"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_until_up(url: str, supervisor: Supervisor, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not supervisor.stopping.is_set():
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return True
        except OSError:
            time.sleep(0.3)
    return False


def parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument(
        "--fake-port", type=int, default=int(os.environ.get("FAKE_MODEL_PORT") or 8765)
    )
    parser.add_argument("--concurrency", type=int, default=8, help="Worker threads.")
    parser.add_argument("--demo", choices=["full", "users", "none"], default="full")
    parser.add_argument("--password", help="Password of the demo users (first run).")
    parser.add_argument("--database-url", default=os.environ.get("LOCAL_DATABASE_URL", ""))
    parser.add_argument("--local-dir", type=Path, default=ROOT / ".local")
    parser.add_argument("--fake-latency", type=float, default=0.0, help="Seconds per reply.")
    ns = parser.parse_args(argv)
    return Options(**vars(ns))


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    if not port_free(options.host, options.port):
        print(
            f"Port {options.port} is in use. Start on another one: make run PORT=8001",
            file=sys.stderr,
        )
        return 2
    if not port_free(options.host, options.fake_port):
        taken, options.fake_port = options.fake_port, free_port(options.host)
        print(f"Port {taken} is in use; the offline model server takes {options.fake_port}.")
    env = local_env(os.environ, options)
    supervisor = Supervisor(env, colour=sys.stdout.isatty())

    def on_signal(signum: int, _frame: object) -> None:
        supervisor.interrupt()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    processes = commands(options, env)
    supervisor.start_model(processes["model"])
    for step in setup_steps(options):
        status = supervisor.run_step(step)
        if supervisor.stopping.is_set() or status != 0:
            if not supervisor.stopping.is_set():
                supervisor.say("setup", f"`{' '.join(step[1:])}` failed (status {status}).")
            interrupted = supervisor.stopping.is_set()
            supervisor.stop()
            return 130 if interrupted else status
    started = supervisor.start(processes, model_port=options.fake_port, host=options.host)
    url = f"http://{options.host}:{options.port}"
    if started and wait_until_up(url + "/healthz", supervisor):
        debug = "on" if env["DEBUG"] not in ("0", "false", "no", "off") else "off"
        supervisor.say(
            "setup",
            f"AlignWeb is up on {url}  (DEBUG {debug}; worker with {options.concurrency} "
            f"threads on the embedded broker; offline model server on port "
            f"{options.fake_port}). Ctrl-C stops everything.",
        )
    return supervisor.wait()


if __name__ == "__main__":
    sys.exit(main())
