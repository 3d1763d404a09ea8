"""Cost of the range-checked integer dumpers (alignweb/db/postgresql/base.py), PostgreSQL only.

Three variants run in the same invocation, each in its own process and database:
- ``stock``: Django's backend with server-side binding (psycopg's C binary dumpers, which
  wrap out-of-range integers): the baseline;
- ``checked``: AlignWeb's backend, server-side binding, Python range-checked dumpers;
- ``client``: client-side binding (``DB_SERVER_SIDE_BINDING=0``), the alternative fix.

Each times the coder's one-query access check (the hottest query, integer parameters)
and single-row score upserts (integer writes), and prints microseconds per call and the
ratio against ``stock``. Skipped without a PostgreSQL DATABASE_URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

N_READ = 2_000
N_WRITE = 1_000
REPEATS = 3


def _variant(name: str) -> dict[str, float]:
    import _django

    if name == "stock":
        from django.conf import settings

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignweb.settings")
        sys.path.insert(0, str(_django.ROOT))
        settings.DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
    _django.setup(f"alignweb_bench_binding_{name}")

    from django.db import connection

    from coding.models import Score
    from coding.permissions import access_assignment
    from tests.factories import AssignmentFactory, ItemFactory, make_personas

    p = make_personas()
    assignment = AssignmentFactory(item=ItemFactory(study=p.study), coder=p.coder_a)
    code, study_id = assignment.item.public_code, assignment.item.study_id
    dimension = assignment.item.study.rubric.dimensions.first()
    assert connection.vendor == "postgresql"

    def reads() -> float:
        start = time.perf_counter()
        for _ in range(N_READ):
            access_assignment(p.coder_a, code, study_id)
        return (time.perf_counter() - start) / N_READ * 1e6

    def writes() -> float:
        start = time.perf_counter()
        for i in range(N_WRITE):
            Score.objects.update_or_create(
                assignment=assignment,
                dimension=dimension,
                defaults={"value": i % 3, "rubric_version": 1, "rationale": ""},
            )
        return (time.perf_counter() - start) / N_WRITE * 1e6

    reads(), writes()  # warm up: prepared statements, caches
    return {
        "read_us": min(reads() for _ in range(REPEATS)),
        "write_us": min(writes() for _ in range(REPEATS)),
    }


def _dump_cost() -> dict[str, float]:
    """Nanoseconds per Int4 parameter: psycopg's C binary dumper vs the checked one. Free of
    database and machine-load noise, so it isolates the price of the range check."""
    import timeit

    from psycopg import adapters
    from psycopg.adapt import PyFormat
    from psycopg.types.numeric import Int4

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from alignweb.db.postgresql.base import Int4CheckedDumper

    c_dumper = adapters.get_dumper(Int4, PyFormat.BINARY)(Int4)
    checked = Int4CheckedDumper(Int4)
    value, n = Int4(123456), 200_000
    return {
        # CPU time, not wall time: the figure is about this process's work, and the shared
        # machine's load would otherwise dominate it.
        name: min(
            timeit.repeat(lambda d=d: d.dump(value), timer=time.process_time, number=n, repeat=5)
        )
        / n
        * 1e9
        for name, d in (("c", c_dumper), ("checked", checked))
    }


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--variant":
        print(json.dumps(_variant(sys.argv[2])))
        return 0
    cost = _dump_cost()
    print(
        f"Int4 parameter dump: psycopg C {cost['c']:.0f} ns, checked {cost['checked']:.0f} ns "
        f"(+{cost['checked'] - cost['c']:.0f} ns per integer parameter)"
    )
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("db_binding_bench: skipped (needs a PostgreSQL DATABASE_URL).")
        return 0
    results = {}
    for name in ("stock", "checked", "client"):
        env = dict(os.environ, DB_SERVER_SIDE_BINDING="0" if name == "client" else "1")
        out = subprocess.run(
            [sys.executable, __file__, "--variant", name],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["stock"]
    print(f"{'variant':<10}{'access check us':>18}{'ratio':>8}{'score upsert us':>18}{'ratio':>8}")
    for name, r in results.items():
        print(
            f"{name:<10}{r['read_us']:>18.0f}{r['read_us'] / base['read_us']:>8.2f}"
            f"{r['write_us']:>18.0f}{r['write_us'] / base['write_us']:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
