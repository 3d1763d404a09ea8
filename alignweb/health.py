"""/healthz: database, broker and worker reachability as JSON (200 or 503)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return {"ok": False, "error": exc.__class__.__name__}


def _check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL:
        return {"ok": True, "mode": "eager"}
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
        return {"ok": True, "mode": "broker"}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "mode": "broker", "error": exc.__class__.__name__}


def _check_workers(broker_ok: bool) -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL:
        return {"ok": True, "mode": "eager", "count": 0}
    if not broker_ok:
        return {"ok": False, "count": 0}
    from alignweb.celery import app

    try:
        replies = app.control.ping(timeout=0.5) or []
    except Exception:  # noqa: BLE001
        replies = []
    return {"ok": bool(replies), "count": len(replies)}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    database = _check_database()
    broker = _check_broker()
    workers = _check_workers(broker["ok"])
    if not database["ok"]:
        status = "down"
    elif not broker["ok"] or not workers["ok"]:
        status = "degraded"
    else:
        status = "ok"
    # Web nodes stay in rotation without a worker (coding still works); not without DB/broker.
    http_status = 200 if database["ok"] and broker["ok"] else 503
    return JsonResponse(
        {"status": status, "database": database, "broker": broker, "workers": workers},
        status=http_status,
    )
