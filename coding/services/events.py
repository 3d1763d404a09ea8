from __future__ import annotations

from typing import Any

from coding.models import Event, Study


def event_record(
    *, verb: str, actor=None, study: Study | None = None, target: str = "", payload: Any = None
) -> Event:
    """Append one entry to the audit log (never updated afterwards)."""
    return Event.objects.create(
        verb=verb, actor=actor, study=study, target=target, payload=payload or {}
    )
