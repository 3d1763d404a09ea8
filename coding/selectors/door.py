"""Reads about the condition-data door: the key views of a study, for its overview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coding.models import Event, Study

KEY_VIEW = "key_view"


@dataclass(frozen=True)
class KeyView:
    at: datetime
    who: str  # username, or "system" (agreement snapshots after unblinding)
    role: str
    what: str
    reason: str
    blinded: bool  # read while the study was not yet unblinded


def key_view_summary(*, study: Study, limit: int = 20) -> tuple[int, list[KeyView]]:
    """(number of key views, the latest ``limit`` of them, newest first)."""
    views = Event.objects.filter(study=study, verb=KEY_VIEW)
    total = views.count()
    rows = views.select_related("actor").order_by("-at", "-id")[:limit]
    latest = []
    for event in rows:
        payload = event.payload if isinstance(event.payload, dict) else {}
        latest.append(
            KeyView(
                at=event.at,
                who=event.actor.get_username() if event.actor else "system",
                role=str(payload.get("role") or ""),
                what=str(payload.get("what") or event.target),
                reason=str(payload.get("reason") or ""),
                blinded=bool(payload.get("blinded", False)),
            )
        )
    return total, latest
