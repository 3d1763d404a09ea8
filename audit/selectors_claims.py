"""Reads for the claim-level rules (audit/claim_levels.py) that the other selectors lack."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL

from coding.models import Item, Reconciliation, Study

# Number of user messages in an item's content, counted by the database so a large study's
# transcripts never travel to Python (JSON functions differ by vendor).
_USER_TURNS = {
    "postgresql": (
        "SELECT count(*) FROM jsonb_array_elements(coding_item.content -> 'messages') AS m "
        "WHERE m ->> 'role' = 'user'"
    ),
    "sqlite": (
        "SELECT count(*) FROM json_each(coding_item.content, '$.messages') "
        "WHERE json_extract(value, '$.role') = 'user'"
    ),
}


def coded_transcript_turns(*, study: Study, multi_turn: int = 2) -> dict[str, int]:
    """Reconciled transcripts (with at least one decision) and how many of them have at
    least ``multi_turn`` user messages: ``{"coded": n, "multi_turn": m}``."""
    coded = Item.objects.filter(
        Exists(Reconciliation.objects.filter(item=OuterRef("pk"))),
        study=study,
        kind=Item.Kind.TRANSCRIPT,
    )
    sql = _USER_TURNS.get(connection.vendor)
    if sql is None:  # another database: count in Python, a chunk at a time
        total = multi = 0
        for content in coded.values_list("content", flat=True).iterator(chunk_size=500):
            users = sum(1 for m in (content or {}).get("messages", []) if m.get("role") == "user")
            total += 1
            multi += users >= multi_turn
        return {"coded": total, "multi_turn": multi}
    users = RawSQL(f"({sql})", [])  # noqa: S611 - constant SQL above, no user input
    counts = coded.annotate(users=users).aggregate(
        coded=Count("pk"), multi_turn=Count("pk", filter=Q(users__gte=multi_turn))
    )
    return {"coded": counts["coded"], "multi_turn": counts["multi_turn"]}
