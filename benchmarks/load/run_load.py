"""``make load``: 200 simulated coders against gunicorn + PostgreSQL + Redis + Celery.

Loopback only. Creates a dedicated PostgreSQL database on the server DATABASE_URL points
at (refuses anything else), seeds it through the services, starts gunicorn and a Celery
worker with production-like settings, runs headless locust for a bounded time, prints the
results table against the targets, verifies integrity in the database, and always stops
every process it started and drops the database.

    .venv/bin/python benchmarks/load/run_load.py                   # 3-minute run
    .venv/bin/python benchmarks/load/run_load.py --duration 30m    # soak
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import report  # noqa: E402
import stack  # noqa: E402

LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}
DB_NAME = "alignweb_load"
CODER_PREFIX = "loadcoder"
LEAD_PREFIX = "loadlead"


def parse_duration(text: str) -> float:
    """'180', '90s', '3m', '1h' -> seconds."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--mode",
        choices=("html", "api"),
        default="html",
        help="html: the browser's pages (session login, forms); api: Label Studio's "
        "scenario through the REST API (token auth, closed loop, next -> item -> submit)",
    )
    ap.add_argument("--duration", default="3m", help="measurement window (default 3m)")
    ap.add_argument("--db-name", default=DB_NAME, help=f"throwaway database (default {DB_NAME})")
    ap.add_argument("--users", type=int, default=200, help="simulated coders (default 200)")
    ap.add_argument(
        "--leads", type=int, default=None, help="leads polling the dashboard (3; api mode 0)"
    )
    ap.add_argument(
        "--lead-interval", type=float, default=10.0, help="seconds between a lead's polls"
    )
    ap.add_argument(
        "--no-agreement",
        action="store_true",
        help="leads poll only the study page, not the agreement dashboard",
    )
    ap.add_argument(
        "--rate",
        type=float,
        default=None,
        help="offered load in coded items/s over all coders (default 100; 0 = closed loop, "
        "the api mode's default)",
    )
    ap.add_argument("--k", type=int, default=2, help="coders per item (default 2)")
    ap.add_argument("--items", type=int, default=0, help="items to seed (default: enough)")
    ap.add_argument("--web-workers", type=int, default=4, help="gunicorn worker processes")
    ap.add_argument("--web-threads", type=int, default=2, help="threads per gunicorn worker")
    ap.add_argument("--locust-processes", type=int, default=1, help="locust processes")
    ap.add_argument(
        "--spawn-rate",
        type=float,
        default=None,
        help="users started per second (logins hash for ~0.4 s CPU each: default 4; "
        "api mode 25, tokens need no hashing)",
    )
    ap.add_argument("--login-timeout", type=float, default=240.0, help="seconds for all logins")
    ap.add_argument(
        "--drain",
        type=float,
        default=30.0,
        help="seconds for in-flight requests to finish after the window (default 30)",
    )
    ap.add_argument("--sample-interval", type=float, default=10.0, help="RSS sampling seconds")
    ap.add_argument("--window", type=float, default=0.0, help="latency window seconds")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="dedicated db")
    ap.add_argument("--profile", type=float, default=0.0, help="py-spy seconds (0 = off)")
    ap.add_argument("--keep", action="store_true", help="keep the database and log directory")
    ap.add_argument("--json", default="", help="also write the results as JSON here")
    args = ap.parse_args(argv)
    api = args.mode == "api"
    for name, html_default, api_default in (
        ("leads", 3, 0),
        ("rate", 100.0, 0.0),
        ("spawn_rate", 4.0, 25.0),
    ):
        if getattr(args, name) is None:
            setattr(args, name, api_default if api else html_default)
    return args


def refuse(message: str) -> None:
    print(f"run_load: {message}", file=sys.stderr)
    raise SystemExit(2)


def check_targets(args: argparse.Namespace) -> str:
    """The admin DATABASE_URL (PostgreSQL on loopback) or a clear refusal."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        refuse(
            "DATABASE_URL must point at the local PostgreSQL server, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make load "
            f"(a dedicated database {args.db_name!r} is created there and dropped afterwards)."
        )
    for name, value in (("DATABASE_URL", url), ("--redis-url", args.redis_url)):
        host = urlparse(value).hostname or ""
        if host not in LOOPBACK:
            refuse(f"{name} must be on loopback (127.0.0.1/localhost), not {host!r}.")
    import redis

    try:
        redis.Redis.from_url(args.redis_url, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        refuse(f"Redis at {args.redis_url} does not answer ({exc.__class__.__name__}).")
    return url


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # noqa: BLE001 - Django may not be set up yet
        pass
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()


def child_env(args: argparse.Namespace, db_url: str, load_dir: Path) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        DJANGO_SETTINGS_MODULE="alignweb.settings",
        DATABASE_URL=db_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        REDIS_URL=args.redis_url,
        CELERY_BROKER_URL=args.redis_url,
        CELERY_TASK_ALWAYS_EAGER="0",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        LOAD_DIR=str(load_dir),
    )
    return env


def write_tokens(load_dir: Path, prefix: str) -> None:
    """An API token per coder, for the api mode's clients (LOAD_DIR/tokens.json)."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    coders = get_user_model().objects.filter(username__startswith=prefix)
    tokens = Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in coders])
    users = {u.pk: u.username for u in coders}
    (load_dir / "tokens.json").write_text(json.dumps({users[t.user_id]: t.key for t in tokens}))


def lead_paths(study_id: int) -> list[str]:
    """Agreement dashboard pages for the study, if the audit app has them yet."""
    from django.urls import NoReverseMatch, reverse

    paths = []
    for name in ("audit:agreement", "audit:agreement-dashboard", "audit:study-agreement"):
        try:
            paths.append(reverse(name, args=[study_id]))
        except NoReverseMatch:
            continue
    return paths


def items_needed(args: argparse.Namespace, seconds: float) -> int:
    """Enough items that no coder runs dry: offered submits x 1.3 over k, plus slack."""
    if args.items:
        return args.items
    rate = args.rate if args.rate > 0 else 200.0
    per_coder = math.ceil(rate * (seconds + 120) / args.users * 1.3)
    return math.ceil(per_coder * args.users / args.k)


def run(args: argparse.Namespace) -> int:  # noqa: PLR0915 - a linear script
    seconds = parse_duration(args.duration)
    window = args.window or max(10.0, min(180.0, seconds / 6))
    admin_url = check_targets(args)
    load_dir = Path(tempfile.mkdtemp(prefix="alignweb-load-"))
    managed: list[stack.Managed] = []
    created_db = False
    try:
        flush_redis(args.redis_url)
        import _django

        t = time.monotonic()
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"  # seeding runs no tasks through Redis
        _django.setup(args.db_name)
        created_db = True
        db_url = os.environ["DATABASE_URL"]
        from seed import seed

        password = secrets.token_urlsafe(18)
        n_items = items_needed(args, seconds)
        seeded = seed(
            coders=args.users,
            leads=args.leads,
            items=n_items,
            k=args.k,
            password=password,
            coder_prefix=CODER_PREFIX,
            lead_prefix=LEAD_PREFIX,
        )
        if args.mode == "api":
            write_tokens(load_dir, CODER_PREFIX)
        from django.db import connections

        connections.close_all()
        print(
            f"seeded {seeded.items} items, {seeded.assignments} assignments, "
            f"{seeded.coders} coders, {seeded.leads} leads in {time.monotonic() - t:.0f} s"
        )
        env = child_env(args, db_url, load_dir)
        py = sys.executable
        static = stack.start(
            "collectstatic",
            [py, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            env=env,
            cwd=ROOT,
            logdir=load_dir,
        )
        if static.proc.wait(timeout=300) != 0:
            raise RuntimeError(f"collectstatic failed:\n{static.tail()}")
        port = stack.free_port()
        base = f"http://127.0.0.1:{port}"
        web = stack.start(
            "gunicorn",
            [
                py,
                "-m",
                "gunicorn",
                "alignweb.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                f"--workers={args.web_workers}",
                f"--threads={args.web_threads}",
                "--worker-class=gthread",
                "--keep-alive=30",
                "--backlog=2048",
                "--timeout=60",
                "--log-level=warning",
            ],
            env=env,
            cwd=ROOT,
            logdir=load_dir,
        )
        managed.append(web)
        worker = stack.start(
            "celery",
            [
                py,
                "-m",
                "celery",
                "-A",
                "alignweb",
                "worker",
                "--loglevel=WARNING",
                "--concurrency=1",
                "-Q",
                "default",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"load-{os.getpid()}@%h",
            ],
            env=env,
            cwd=ROOT,
            logdir=load_dir,
        )
        managed.append(worker)
        stack.wait_http(f"{base}/healthz", timeout=90, managed=web, want='"status": "ok"')
        paths = [] if args.no_agreement else lead_paths(seeded.study_id)
        users_total = args.users + args.leads
        pace = args.users / args.rate if args.rate > 0 else 0.0
        env_locust = dict(env)
        env_locust.update(
            LOAD_STUDY_ID=str(seeded.study_id),
            LOAD_PASSWORD=password,
            LOAD_CODERS=str(args.users),
            LOAD_LEADS=str(args.leads),
            LOAD_CODER_PREFIX=CODER_PREFIX,
            LOAD_LEAD_PREFIX=LEAD_PREFIX,
            LOAD_DIMENSIONS=",".join(seeded.dimensions),
            LOAD_LEVELS=",".join(str(v) for v in seeded.levels),
            LOAD_PACE=f"{pace:.4f}",
            LOAD_LEAD_PATHS=",".join(paths),
            LOAD_LEAD_INTERVAL=str(args.lead_interval),
            LOAD_RAMP_TIMEOUT=str(args.login_timeout),
        )
        hard_limit = int(args.login_timeout + seconds + 120)
        locust_argv = [
            py,
            "-m",
            "locust",
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "-u",
            str(users_total),
            "-r",
            str(args.spawn_rate),
            "-H",
            base,
            f"--run-time={hard_limit}s",
            "--stop-timeout=15",
            "--only-summary",
            "--loglevel=WARNING",
        ]
        if args.locust_processes > 1:
            locust_argv.append(f"--processes={args.locust_processes}")
        coder_class = "ApiCoderUser" if args.mode == "api" else "CoderUser"
        locust_argv += [coder_class, "LeadUser"] if args.leads else [coder_class]
        sampler = stack.Sampler(
            groups={"web": web, "worker": worker},
            database=args.db_name,
            interval=args.sample_interval,
        )
        started = time.time()
        loc = stack.start("locust", locust_argv, env=env_locust, cwd=HERE, logdir=load_dir)
        managed.append(loc)
        sampler.groups["locust"] = loc
        sampler.start()
        # Ramp-up: spawn users, let every coder log in (PBKDF2 is deliberately slow).
        deadline = time.monotonic() + args.login_timeout
        logins: list[float] = []
        while time.monotonic() < deadline and loc.alive():
            logins = report.read_logins(load_dir)
            if len(logins) >= args.users:
                break
            time.sleep(1)
        if not loc.alive():
            raise RuntimeError(f"locust exited during ramp-up:\n{loc.tail()}")
        t0 = time.time()
        sampler.sample()  # the measurement window starts here
        print(
            f"{len(logins)}/{args.users} coders logged in after {t0 - started:.0f} s; "
            f"measuring for {seconds:.0f} s (offered {args.rate or 'max'} items/s)"
        )
        profile = None
        if args.profile:
            from profiling import start_profile

            time.sleep(min(30.0, seconds / 4))
            profile = start_profile(web, args.profile, load_dir)
        while time.time() < t0 + seconds and loc.alive():
            time.sleep(0.5)
        t1 = min(time.time(), t0 + seconds)
        # Drain: no new items, let in-flight requests finish, then stop locust.
        sampler.stop()
        (load_dir / "stop").touch()
        drain_until = time.monotonic() + args.drain
        while time.monotonic() < drain_until and loc.alive():
            time.sleep(0.5)
        loc.stop(timeout=30)
        if profile is not None:
            from profiling import finish_profile

            print(finish_profile(profile))
        for proc in (worker, web):
            proc.stop()
        reqs = report.read_requests(load_dir)
        submits = report.read_submits(load_dir)
        results = report.summarise(reqs, submits, t0, t1, window)
        from integrity import verify

        integrity = verify(study_id=seeded.study_id, k=args.k, submits=submits)
        print_results(args, seeded, results, integrity, sampler, t0, started, len(logins))
        if args.json:
            dump_json(Path(args.json), args, results, integrity, sampler)
        met = all(row[3] for row in results.targets())
        if args.mode == "api":
            met = print_label_studio(args, results, reqs, integrity.ok)
        return 0 if (met and integrity.ok) else 1
    finally:
        for proc in reversed(managed):
            proc.stop(timeout=10)
        if created_db and not args.keep:
            drop_database(admin_url, args.db_name)
        with contextlib.suppress(Exception):  # best effort
            flush_redis(args.redis_url)
        if args.keep:
            print(f"kept database {args.db_name!r} and logs in {load_dir}")
        else:
            import shutil

            shutil.rmtree(load_dir, ignore_errors=True)


# Label Studio CE through its REST API, same scenario, measured here (issue 16).
LS_ITEMS_PER_S = (9.0, 11.0)
LS_P95_S = {20: 1.26, 100: 7.2}
API_GOAL_FACTOR = 10
API_GOAL_P95_SUBMIT_MS = 300.0


def print_label_studio(args, results: report.Results, reqs, integrity_ok: bool) -> bool:
    """The api mode's figures beside Label Studio's; True when every goal is met."""
    connection_errors = int(((reqs.status == 0) & ~reqs.ok).sum())
    near = min(LS_P95_S, key=lambda n: abs(n - args.users))
    goal = API_GOAL_FACTOR * sum(LS_ITEMS_PER_S) / 2
    rows = [
        (
            "annotations/s",
            f"{results.items_per_s:.1f}",
            f"{LS_ITEMS_PER_S[0]:.0f}-{LS_ITEMS_PER_S[1]:.0f}",
            f">= {goal:.0f} ({API_GOAL_FACTOR}x)",
            "yes" if results.items_per_s >= goal else "NO",
        ),
        ("p95 read (next, item)", f"{report.fmt_ms(results.p95_read)} ms", "", "", ""),
        (
            "p95 submit",
            f"{report.fmt_ms(results.p95_submit)} ms",
            f"{LS_P95_S[near]:.2f} s at {near} coders",
            f"< {API_GOAL_P95_SUBMIT_MS:.0f} ms at 100",
            "yes"
            if results.p95_submit is not None and results.p95_submit < API_GOAL_P95_SUBMIT_MS
            else "NO",
        ),
        (
            "connection errors",
            str(connection_errors),
            "",
            "0",
            "yes" if connection_errors == 0 else "NO",
        ),
        (
            "integrity",
            "OK" if integrity_ok else "FAILED",
            "",
            "OK",
            "yes" if integrity_ok else "NO",
        ),
    ]
    print()
    print(
        f"Label Studio's scenario through the REST API: {args.users} coders, closed loop, "
        f"{results.seconds:.0f} s (machine shared: figures are under whatever else runs)"
    )
    print(report.table(rows, ("metric", "AlignWeb", "Label Studio CE", "goal", "met")))
    return all(row[4] == "yes" for row in rows if row[4])


def _mb(value: int) -> str:
    return f"{value / 1e6:.0f} MB"


def print_results(
    args: argparse.Namespace,
    seeded,
    results: report.Results,
    integrity,
    sampler: stack.Sampler,
    t0: float,
    started: float,
    logins: int,
) -> None:
    print()
    print(
        f"AlignWeb load: {args.users} coders + {args.leads} leads, {results.seconds:.0f} s "
        f"measured after {t0 - started:.0f} s ramp-up; gunicorn {args.web_workers}x"
        f"{args.web_threads} gthread, 1 Celery worker, locust x{args.locust_processes}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        report.table(
            [(m, v, t, "yes" if ok else "NO") for m, v, t, ok in results.targets()],
            ("metric", "measured", "target", "met"),
        )
    )
    print(
        f"requests in window: {results.requests} ({results.requests_per_s:.0f}/s); "
        f"items coded: {results.items}; p50/p99 read {report.fmt_ms(results.p50_read)}/"
        f"{report.fmt_ms(results.p99_read)} ms; p50/p99 submit "
        f"{report.fmt_ms(results.p50_submit)}/{report.fmt_ms(results.p99_submit)} ms; "
        f"p95 autosave {report.fmt_ms(results.p95_save)} ms"
    )
    print(
        "p95 by request (whole run): "
        + ", ".join(f"{n} {report.fmt_ms(v)} ms" for n, v in results.p95_by_name.items())
    )
    if results.error_kinds:
        print(
            f"errors: {results.errors_total} of {results.requests_total}: "
            + ", ".join(f"{k} x{v}" for k, v in sorted(results.error_kinds.items()))
        )
    print()
    print("Latency and throughput per window:")
    print(report.windows_table(results, t0))
    print()
    print(resources_table(sampler, t0))
    print()
    print("Integrity (database vs. what coders were told):")
    print(report.table(integrity.rows(), ("check", "value", "expected")))
    for problem in integrity.problems:
        print("  " + problem)
    print(f"integrity: {'OK' if integrity.ok else 'FAILED'}")


def resources_table(sampler: stack.Sampler, t0: float) -> str:
    """RSS and CPU over the measurement window (samples from ``t0`` on)."""
    samples = [s for s in sampler.samples if s.t >= t0 - 0.5]
    if len(samples) < 2:
        return "(no resource samples)"
    first, last = samples[0], samples[-1]
    elapsed = max(last.t - first.t, 1e-9)
    rows = []
    for name in first.rss:
        series = [s.rss.get(name, 0) for s in samples]
        rows.append(
            (
                name,
                _mb(series[0]),
                _mb(series[-1]),
                _mb(max(series)),
                _mb(max(s.rss_max_process.get(name, 0) for s in samples)),
                f"{(last.cpu[name] - first.cpu[name]) / elapsed:.2f}",
            )
        )
    ours = 0.0
    for name in ("postgres", "redis"):
        used = (last.cpu[name] - first.cpu[name]) / elapsed
        rows.append(
            (name + " (this run)" * (name == "postgres"), "-", "-", "-", "-", f"{used:.2f}")
        )
    for name in [*first.rss, "postgres", "redis"]:
        ours += (last.cpu[name] - first.cpu[name]) / elapsed
    machine = (last.cpu["machine"] - first.cpu["machine"]) / elapsed
    rows.append(("other processes", "-", "-", "-", "-", f"{max(machine - ours, 0.0):.2f}"))
    rows.append(("machine total", "-", "-", "-", "-", f"{machine:.2f} of {os.cpu_count()}"))
    header = ("process group", "RSS first", "RSS last", "RSS max", "max 1 proc", "cores used")
    return (
        f"Resources ({len(samples)} samples every ~{sampler.interval:.0f} s "
        f"over {elapsed:.0f} s):\n" + report.table(rows, header)
    )


def dump_json(path: Path, args, results: report.Results, integrity, sampler) -> None:
    from dataclasses import asdict

    data = {
        "args": vars(args),
        "results": asdict(results),
        "integrity": asdict(integrity),
        "samples": [asdict(s) for s in sampler.samples],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))


def main(argv: list[str] | None = None) -> int:
    def _terminate(signum, _frame):  # a SIGTERM runs the same clean-up as Ctrl-C
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _terminate)
    return run(parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
