"""The study's Event log for leads: filtered and keyset-paged by event id, newest first.

A page is one query on the (study, id) index from the cursor, whatever the log's length;
filters narrow the rows the index walk keeps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from coding.models import Event, MemberRemoval, Membership, Study
from coding.selectors.items import without_jit

PAGE_SIZE = 50
SYSTEM = "system"


@dataclass(frozen=True)
class EventFilters:
    actor: str = ""  # a user id as text, SYSTEM, or "" for anyone
    verb: str = ""
    item: str = ""  # a public code
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass
class EventPage:
    events: list[Event]
    older: int | None  # cursor: show events with a smaller id
    newer: int | None  # cursor: show events with a larger id


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _filtered(study: Study, f: EventFilters) -> QuerySet[Event]:
    events = Event.objects.filter(study=study).select_related("actor")
    if f.actor == SYSTEM:
        events = events.filter(actor__isnull=True)
    elif f.actor.isdigit():
        events = events.filter(actor_id=int(f.actor))
    if f.verb:
        events = events.filter(verb=f.verb)
    if f.item:
        # Submissions name the item; reconciliations name "item/dimension".
        events = events.filter(Q(target=f.item) | Q(target__startswith=f.item + "/"))
    if f.date_from:
        events = events.filter(at__gte=_day_start(f.date_from))
    if f.date_to:
        events = events.filter(at__lt=_day_start(f.date_to + dt.timedelta(days=1)))
    return events


def event_page(
    *,
    study: Study,
    filters: EventFilters,
    older_than: int | None = None,
    newer_than: int | None = None,
    size: int = PAGE_SIZE,
) -> EventPage:
    """Newest first. ``older_than``/``newer_than`` are event ids from a previous page."""
    with without_jit():
        return _page(_filtered(study, filters), older_than, newer_than, size)


def _page(events: QuerySet[Event], older_than: int | None, newer_than: int | None, size: int):
    if newer_than is not None:
        window = list(events.filter(id__gt=newer_than).order_by("id")[: size + 1])
        rows = list(reversed(window[:size]))
        return EventPage(
            rows,
            older=rows[-1].pk if rows else None,
            newer=rows[0].pk if rows and len(window) > size else None,
        )
    if older_than is not None:
        events = events.filter(id__lt=older_than)
    window = list(events.order_by("-id")[: size + 1])
    rows = window[:size]
    return EventPage(
        rows,
        older=rows[-1].pk if len(window) > size else None,
        newer=rows[0].pk if rows and older_than is not None else None,
    )


def event_actor_choices(*, study: Study) -> list[tuple[str, str]]:
    """Who can appear in the log: members, former members, and the system (no actor)."""
    ids = set(Membership.objects.filter(study=study).values_list("user_id", flat=True))
    ids |= set(MemberRemoval.objects.filter(study=study).values_list("user_id", flat=True))
    users = get_user_model().objects.filter(pk__in=ids).order_by("username")
    return [(str(u.pk), u.get_username()) for u in users] + [(SYSTEM, "System (automatic)")]
