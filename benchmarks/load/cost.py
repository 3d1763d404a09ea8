"""CPU cost of one coded item, request by request: a load-independent capacity ceiling.

Runs the coder's loop (next -> item page -> autosave -> submit) in-process through
Django's test client on a throwaway PostgreSQL database, with production settings
(DEBUG=0), and measures the CPU time of this Python process and of its PostgreSQL
backend for each request. On a shared machine wall-clock latency is noise; CPU seconds
per item are not, and ``cores / cost`` bounds what gunicorn can reach on this box.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/load/cost.py --items 200
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import secrets
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import report  # noqa: E402

DB_NAME = "alignweb_load_cost"
REDIS_URL = "redis://127.0.0.1:6379/13"
VERSION_RE = re.compile(r'name="version" id="version" value="(\d+)"')


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=200, help="coded items to measure")
    ap.add_argument("--coders", type=int, default=20)
    ap.add_argument("--profile", default="", help="cProfile one request kind (e.g. submit)")
    ap.add_argument("--queries", default="", help="print the SQL of one request of this kind")
    ap.add_argument(
        "--api",
        action="store_true",
        help="the REST API loop of Label Studio's scenario (token auth: next, item, submit)",
    )
    ap.add_argument("--db-name", default=DB_NAME, help=f"throwaway database (default {DB_NAME})")
    ap.add_argument("--redis-url", default=REDIS_URL, help="dedicated Redis db (flushed)")
    args = ap.parse_args(argv)
    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith(("postgres://", "postgresql://")):
        print("cost: DATABASE_URL must point at the local PostgreSQL server", file=sys.stderr)
        return 2
    os.environ.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        # Snapshot tasks are published for real (to a dedicated Redis db, flushed after)
        # but not run here: in production the Celery worker pays for them.
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_BROKER_URL=args.redis_url,
        REDIS_URL=args.redis_url,
    )
    import _django

    try:
        _django.setup(args.db_name)
        return measure(args)
    finally:
        import psycopg
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()


def measure(args: argparse.Namespace) -> int:
    import psutil
    from coder_values import values_for
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from seed import seed

    seeded = seed(
        coders=args.coders,
        leads=1,
        items=max(args.items, args.coders * 4),
        k=2,
        password=secrets.token_urlsafe(12),
        coder_prefix="costcoder",
        lead_prefix="costlead",
    )
    users = list(get_user_model().objects.filter(username__startswith="costcoder"))
    rows: dict[str, list[tuple[float, float, float, int]]] = {}
    last_sql: dict[str, list[str]] = {}
    profiler = cProfile.Profile(time.process_time)  # CPU, not time spent waiting

    def timed(name: str, call):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = psutil.Process(cursor.fetchone()[0])
        sql: list[str] = []

        def record(execute, query, params, many, context):
            sql.append(query)  # a plain wrapper: no debug cursor, no SQL formatting cost
            return execute(query, params, many, context)

        capture = CaptureQueriesContext(connection) if name == args.queries else nullcontext()
        py0, pg0, w0 = time.process_time(), backend.cpu_times(), time.perf_counter()
        with connection.execute_wrapper(record), capture as captured:
            if name == args.profile and measuring[0]:
                profiler.enable()
            response = call()
            profiler.disable()
        py1, pg1, w1 = time.process_time(), backend.cpu_times(), time.perf_counter()
        if captured is not None:
            last_sql[name] = [q["sql"] for q in captured.captured_queries]
        rows.setdefault(name, []).append(
            (
                (py1 - py0) * 1000,
                (pg1.user + pg1.system - pg0.user - pg0.system) * 1000,
                (w1 - w0) * 1000,
                len(sql),
            )
        )
        return response

    measuring = [False]

    def reset() -> None:
        """The warm-up is over: forget it (rows and profile)."""
        rows.clear()
        measuring[0] = True

    timed.reset = reset  # type: ignore[attr-defined]
    sid = seeded.study_id
    if args.api:
        api_loop(args, users, sid, timed, values_for)
    else:
        html_loop(args, users, sid, timed, values_for)
    from audit.services import snapshot_refresh  # the worker's share, measured once
    from coding.models import Study

    study = Study.objects.get(pk=sid)
    t0, w0 = time.process_time(), time.perf_counter()
    snapshot = snapshot_refresh(study=study)
    snap_cpu, snap_wall = time.process_time() - t0, time.perf_counter() - w0
    connection.close()

    table = []
    total_py = total_pg = 0.0
    for name, values in rows.items():
        if name == "next" and not args.api:
            continue  # once per coder (the first item), not per coded item
        # Means: PostgreSQL's CPU clock ticks at 10 ms, a median would round it away.
        py = statistics.fmean(v[0] for v in values)
        pg = statistics.fmean(v[1] for v in values)
        total_py, total_pg = total_py + py, total_pg + pg
        table.append(
            (
                name,
                f"{py:.1f} ({statistics.median(v[0] for v in values):.1f})",
                f"{pg:.1f}",
                f"{statistics.median(v[2] for v in values):.1f}",
                str(round(statistics.median(v[3] for v in values))),
            )
        )
    table.append(("per coded item", f"{total_py:.1f}", f"{total_pg:.1f}", "", ""))
    print(f"{args.items} items coded in-process (mean CPU, median wall, DEBUG=0):")
    header = ("request", "Django CPU ms (median)", "PostgreSQL CPU ms", "wall ms", "queries")
    print(report.table(table, header))
    n = snapshot.n_submitted if snapshot else 0
    print(
        f"one agreement snapshot (Celery worker) at {n} submitted assignments: "
        f"{snap_cpu * 1000:.0f} ms CPU, {snap_wall * 1000:.0f} ms wall"
    )
    if args.queries:
        print(f"SQL of the last {args.queries!r} request:")
        for sql in last_sql.get(args.queries, []):
            print("  ", sql[:300])
    if args.profile:
        out = io.StringIO()
        order = os.environ.get("COST_SORT", "cumulative")  # or tottime
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(45)
        print(out.getvalue())
    cores = os.cpu_count() or 1
    per_item = (total_py + total_pg) / 1000
    print(
        f"ceiling on {cores} cores with nothing else running: "
        f"{cores / per_item:.0f} coded items/s (target 100)"
    )
    return 0


def html_loop(args, users, sid, timed, values_for) -> None:
    """The browser's loop: /next/ once, then item page -> autosave -> submit (302)."""
    from django.test import Client

    # One client per coder, as gunicorn keeps one handler per process: a new Client loads
    # the middleware again (WhiteNoise rescans the static files), which no server does.
    clients = []
    for user in users:
        client = Client()
        client.force_login(user)
        clients.append((user, client))
    warmup = len(users)  # first requests import modules and fill caches: not measured
    # Each coder's loop, as in the load test: /next/ once, then item page -> autosave ->
    # submit, whose redirect is the next item's page.
    locations: dict[int, str] = {}
    done = 0
    while done < args.items + warmup:
        if done == warmup:
            timed.reset()
        user, client = clients[done % len(clients)]
        loc = locations.get(user.pk)
        if loc is None:
            loc = timed("next", lambda c=client: c.get(f"/studies/{sid}/next/"))["Location"]
        page = timed("item", lambda c=client, u=loc: c.get(u)).content.decode()
        code = loc.rstrip("/").rsplit("/", 1)[-1]
        values = values_for(user.username, code)
        form = {"version": VERSION_RE.search(page)[1]}
        for dim, entry in values.items():
            form[f"value_{dim}"], form[f"rationale_{dim}"] = entry["value"], entry["rationale"]
        draft = {k: v for k, v in form.items() if k[-1] in "1234" or k == "version"}
        saved = timed("save", lambda c=client, u=loc, d=draft: c.post(u + "save/", d))
        form["version"] = VERSION_RE.search(saved.content.decode())[1]
        response = timed("submit", lambda c=client, u=loc, f=form: c.post(u + "submit/", f))
        assert response.status_code == 302, response.status_code
        locations[user.pk] = response["Location"]
        done += 1


def api_loop(args, users, sid, timed, values_for) -> None:
    """Label Studio's scenario through the REST API, closed loop: next, item, submit."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    clients = []
    for user in users:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        clients.append((user, client))
    base = f"/api/v1/studies/{sid}/my-assignments/"
    warmup = len(users)
    done = 0
    while done < args.items + warmup:
        if done == warmup:
            timed.reset()
        user, client = clients[done % len(clients)]
        code = timed("next", lambda c=client: c.get(base + "next/")).json()["item"]
        item = timed("item", lambda c=client, u=f"{base}{code}/": c.get(u)).json()
        body = {"version": item["version"], "scores": values_for(user.username, code)}
        response = timed(
            "submit",
            lambda c=client, u=f"{base}{code}/submit/", b=body: c.post(u, b, format="json"),
        )
        assert response.status_code == 200, response.content[:300]
        done += 1


if __name__ == "__main__":
    raise SystemExit(main())
