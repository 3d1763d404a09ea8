"""Shared set-up for benchmarks that need Django: a throwaway database, migrated.

SQLite: a fresh file under /tmp. PostgreSQL (when DATABASE_URL is set): a dedicated
database ``alignweb_bench`` created and dropped on the same server, never the app's own.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(name: str = "alignweb_bench") -> str:
    """Point Django at a throwaway database, migrate it, and return a label for printing."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignweb.settings")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        base, _, _db = url.rpartition("/")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = f"{base}/{name}"
        label = "PostgreSQL"
    else:
        path = Path(tempfile.mkdtemp()) / f"{name}.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        label = "SQLite"
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return label
