"""Generation throughput: 180 cells through a real Celery worker against the fake server.

3 endpoints x 4 scaffolds x 15 prompts, 200 ms model latency, worker concurrency 8.
Ideal wall time is 180 x 0.2 s / 8 = 4.5 s; the target is within 1.5x (6.75 s).

Needs PostgreSQL and Redis::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
    .venv/bin/python benchmarks/generation_bench.py

It creates a fresh database (``alignweb_bench_<pid>`` on the server of DATABASE_URL),
migrates it, runs the fake model server in this process, starts its own worker
subprocess (``celery -A alignweb worker --pool=threads --concurrency=8``), and drops the
database afterwards (``--keep-db`` keeps it). It purges the Redis queues it uses, so do not
point it at a broker with real work. Without PostgreSQL/Redis it prints why and exits 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CELLS, LATENCY, CONCURRENCY = 180, 0.2, 8
IDEAL = CELLS * LATENCY / CONCURRENCY
TARGET_RATIO = 1.5


def skip(reason: str) -> int:
    print(f"generation_bench: skipped ({reason}).")
    print("Set DATABASE_URL to PostgreSQL and CELERY_BROKER_URL to Redis to run it.")
    return 0


def services_ready(db_url: str, broker: str) -> str | None:
    if not db_url.startswith(("postgres://", "postgresql://")):
        return "DATABASE_URL is not PostgreSQL"
    if not broker.startswith("redis://"):
        return "CELERY_BROKER_URL is not Redis"
    try:
        import psycopg
        import redis

        redis.Redis.from_url(broker, socket_connect_timeout=1).ping()
        with psycopg.connect(admin_url(db_url), connect_timeout=2):
            pass
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"services not reachable: {exc}"
    return None


def admin_url(db_url: str) -> str:
    parts = urlsplit(db_url)
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))


def with_db(db_url: str, name: str) -> str:
    return urlunsplit(urlsplit(db_url)._replace(path=f"/{name}"))


def run_sql(db_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(db_url), autocommit=True) as conn:
        conn.execute(sql)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    db_url = os.environ.get("DATABASE_URL", "")
    broker = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL", "")
    reason = services_ready(db_url, broker)
    if reason:
        return skip(reason)
    if importlib.util.find_spec("transcripts.cells") is None:
        return skip("the generation services (transcripts.cells) are missing")

    name = f"alignweb_bench_{os.getpid()}"
    bench_url = with_db(db_url, name)
    run_sql(db_url, f'CREATE DATABASE "{name}"')
    env = dict(
        os.environ,
        DATABASE_URL=bench_url,
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="0",
        DJANGO_SETTINGS_MODULE="alignweb.settings",
        LOG_LEVEL="WARNING",
    )
    worker = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        os.environ.update(env)
        import django

        django.setup()
        worker = start_worker(env)
        wall, stats = bench()
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            run_sql(db_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ratio = wall / IDEAL
    print(f"cells                 {stats['cells']} ({stats['succeeded']} succeeded)")
    print(f"model latency         {LATENCY * 1000:.0f} ms, worker concurrency {CONCURRENCY}")
    print(f"peak in flight        {stats['peak']} at once (per model: {stats['peak_by_model']})")
    print(f"mean model call       {stats['call_ms']:.0f} ms (SDK + fake server)")
    print(f"mean cell             {stats['cell_ms']:.0f} ms (claim to stored result)")
    per_slot = wall * CONCURRENCY / max(stats["cells"], 1) * 1000
    print(f"per worker slot       {per_slot:.0f} ms per cell (queueing included)")
    print(
        f"to first claim        {stats['to_first_claim']:.2f} s (create run, dispatch, start slots)"
    )
    print(f"first claim to last   {stats['claims_to_last']:.2f} s")
    print(f"wall time             {wall:.2f} s")
    print(f"ideal                 {IDEAL:.2f} s  (180 x 0.2 s / 8)")
    print(f"ratio                 {ratio:.2f}x  (target <= {TARGET_RATIO}x)")
    print(f"throughput            {stats['cells'] / wall:.1f} cells/s")
    verdict = "PASS" if ratio <= TARGET_RATIO and stats["succeeded"] == CELLS else "FAIL"
    print(f"result                {verdict}")
    return 0 if verdict == "PASS" else 1


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    from alignweb.celery import app
    from alignweb.queues import queue_name

    app.conf.task_always_eager = False
    app.control.purge()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "alignweb",
            "worker",
            "--loglevel=WARNING",
            "--pool=threads",
            f"--concurrency={CONCURRENCY}",
            "-Q",
            f"{queue_name('generation')},{queue_name('default')}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"bench-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the worker exited during startup")
        try:
            app.send_task("alignweb.health", queue=queue_name("default")).get(timeout=2)
            return proc
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the worker did not answer within 60 s")


def bench() -> tuple[float, dict]:
    from django.contrib.auth import get_user_model
    from django.db.models import Max, Min
    from django.utils import timezone

    from transcripts.models import GenerationRun, ModelEndpoint, PromptSet, Scaffold
    from transcripts.providers.fake_server import FakeModelServer, FakeServerConfig
    from transcripts.services import run_create

    lead = get_user_model().objects.create_user("bench_lead")
    with FakeModelServer(FakeServerConfig(latency=LATENCY)) as server:
        endpoints = [
            ModelEndpoint.objects.create(
                created_by=lead,
                name=model,
                provider=provider,
                base_url=server.anthropic_base_url
                if provider == "anthropic"
                else server.openai_base_url,
                model=model,
                max_concurrency=CONCURRENCY,
                timeout_seconds=10,
            )
            for model, provider in [
                ("atlas-7b", "openai_compatible"),
                ("borealis-70b", "anthropic"),
                ("cirrus-mini", "openai_compatible"),
            ]
        ]
        start = time.perf_counter()
        started_at = timezone.now()
        run = run_create(
            by=lead,
            name="bench",
            endpoints=endpoints,
            scaffolds=Scaffold.objects.filter(version=1).order_by("code"),
            prompt_set=PromptSet.objects.get(builtin=True),
        )
        while True:
            run.refresh_from_db(fields=["status"])
            if run.status != GenerationRun.Status.RUNNING:
                break
            if time.perf_counter() - start > 120:
                raise RuntimeError("run did not finish in 120 s")
            time.sleep(0.02)
        wall = time.perf_counter() - start
        peak_by_model = server.peak_in_flight()
        peak_total = server.peak_in_flight_total
    span = run.transcripts.aggregate(first=Min("first_attempt_at"), last=Max("finished_at"))
    from django.db.models import Avg, DurationField, ExpressionWrapper, F

    timing = run.transcripts.aggregate(
        call=Avg("latency_ms"),
        cell=Avg(
            ExpressionWrapper(
                F("finished_at") - F("first_attempt_at"), output_field=DurationField()
            )
        ),
    )
    stats = {
        "to_first_claim": (span["first"] - started_at).total_seconds(),
        "claims_to_last": (span["last"] - span["first"]).total_seconds(),
        "call_ms": timing["call"] or 0,
        "cell_ms": timing["cell"].total_seconds() * 1000 if timing["cell"] else 0,
        "cells": run.transcripts.count(),
        "succeeded": run.transcripts.filter(state="succeeded").count(),
        "peak": peak_total,
        "peak_by_model": peak_by_model,
    }
    return wall, stats


if __name__ == "__main__":
    sys.exit(main())
