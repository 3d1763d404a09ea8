"""The study's Event log, rendered in words, filtered and paged (leads only)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from coding.event_display import describe
from coding.forms_people import EventFilterForm
from coding.models import Event
from coding.permissions_people import lead_study
from coding.selectors import items as selectors_items
from coding.selectors.events import EventFilters, event_actor_choices, event_page
from coding.selectors.items import normalise_code_query

MAX_ID = 2**63 - 1


def _event_id(value: str | None) -> int | None:
    """A cursor from the query string: a positive id, or None (anything else is ignored)."""
    if not value or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


@login_required
def study_events(request: HttpRequest, study_id: int) -> HttpResponse:
    study = lead_study(request.user, study_id)
    form = EventFilterForm(
        request.GET or None,
        actors=event_actor_choices(study=study),
        actions=sorted(Event.Verb.choices, key=lambda kv: kv[1]),
    )
    form.is_valid()  # invalid fields are dropped; valid ones still filter
    data = getattr(form, "cleaned_data", {})
    item = normalise_code_query(data.get("item") or "") or ""
    filters = EventFilters(
        actor=data.get("actor") or "",
        verb=data.get("action") or "",
        item=item,
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
    )
    page = event_page(
        study=study,
        filters=filters,
        older_than=_event_id(request.GET.get("older")),
        newer_than=_event_id(request.GET.get("newer")),
    )
    kept = {
        "actor": filters.actor,
        "action": filters.verb,
        "item": filters.item,
        "date_from": filters.date_from.isoformat() if filters.date_from else "",
        "date_to": filters.date_to.isoformat() if filters.date_to else "",
    }
    query = urlencode({k: v for k, v in kept.items() if v})
    ctx = {
        "study": study,
        "tab": "events",
        "summary": selectors_items.lead_header(study=study),
        "form": form,
        "rows": [describe(e) for e in page.events],
        "page": page,
        "query": query,
        "kept": kept,
        "filtered": bool(query),
        "invalid": sorted(form.errors),
    }
    return render(request, "coding/study_events.html", ctx)
