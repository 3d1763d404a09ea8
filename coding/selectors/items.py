"""The lead's item browser: items of a study with their state, filtered and keyset-paged.

One query per page, no OFFSET and no count of the whole study: the page walks the
(study, public_code) index from the cursor and stops after ``size`` + 1 matches. Each
item's state comes from correlated subqueries (index lookups: assignments by item, scores
by assignment, reconciliations by item) evaluated only for the rows walked. So a page
costs the same in a study of 500 or 20,000 items (benchmarks/item_browser_bench.py); a
filter matching few items walks more rows per page (about size / share of matches), and
one matching none walks the whole study once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from coding.models import CODE_ALPHABET, Assignment, Dimension, Item, Reconciliation, Score, Study

PAGE_SIZE = 50
STATES: dict[str, str] = {
    "unassigned": "Not assigned",
    "assigned": "Assigned",
    "in_progress": "In progress",
    "coded": "Coded by all",
    "disagreement": "Disagreement",
    "reconciled": "Reconciled",
}
STATE_HELP = {
    "unassigned": "No coder yet (the study is a draft).",
    "assigned": "Assigned; no coder has saved anything.",
    "in_progress": "At least one coder started; not every coder has submitted.",
    "coded": "Every coder submitted (k of k); no disagreement is waiting.",
    "disagreement": "Every coder submitted; some dimension differs and is not reconciled.",
    "reconciled": "Every dimension has a final value.",
}
_PREFIX = re.compile(rf"^[{CODE_ALPHABET}-]{{1,7}}$")


def _count(queryset: QuerySet) -> Coalesce:
    """A correlated COUNT(*) of ``queryset`` (already filtered on the outer item)."""
    counted = queryset.order_by().values("item_id").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def annotated_items(*, study: Study) -> QuerySet[Item]:
    """The study's items, each with assignment counts, reconciled dimensions and state."""
    n_dims = Dimension.objects.filter(rubric_id=study.rubric_id).count()
    own = Assignment.objects.filter(item=OuterRef("pk"))
    disagreeing = (
        Score.objects.filter(
            assignment__item=OuterRef("pk"),
            assignment__status=Assignment.Status.SUBMITTED,
            value__isnull=False,
        )
        .filter(
            ~Exists(
                Reconciliation.objects.filter(
                    item_id=OuterRef("assignment__item_id"), dimension_id=OuterRef("dimension_id")
                )
            )
        )
        .order_by()
        .values("dimension_id")
        .annotate(lo=Min("value"), hi=Max("value"))
        .filter(lo__lt=F("hi"))
    )
    return (
        Item.objects.filter(study=study)
        .only("pk", "public_code", "kind", "study_id")
        .annotate(
            n_assigned=_count(own),
            n_submitted=_count(own.filter(status=Assignment.Status.SUBMITTED)),
            n_reconciled=_count(Reconciliation.objects.filter(item=OuterRef("pk"))),
            # A count, not EXISTS: PostgreSQL may turn a NOT EXISTS into a hashed subplan
            # that reads every draft of every study; a correlated count stays per item.
            n_started=_count(own.filter(status=Assignment.Status.OPEN, version__gt=0)),
            disagrees=Exists(disagreeing),
            n_dims=Value(n_dims, output_field=IntegerField()),
        )
        .annotate(
            state=Case(
                When(n_assigned=0, then=Value("unassigned")),
                When(n_submitted=0, n_started=0, then=Value("assigned")),
                When(n_submitted__lt=F("n_assigned"), then=Value("in_progress")),
                When(n_reconciled__gte=n_dims, then=Value("reconciled")),
                When(disagrees=True, then=Value("disagreement")),
                default=Value("coded"),
                output_field=CharField(),
            )
        )
    )


def normalise_code_query(text: str) -> str | None:
    """A code or code prefix as typed ("k7q2", "K7Q-2MX ") in canonical form, or None if it
    cannot be one (characters outside the code alphabet)."""
    raw = re.sub(r"\s+", "", text or "").upper()
    if "-" not in raw and len(raw) > 3:
        raw = f"{raw[:3]}-{raw[3:]}"
    raw = raw.rstrip("-")
    return raw if raw and _PREFIX.match(raw) else None


def _upper_bound(prefix: str) -> str | None:
    """The smallest code prefix sorting after every code that starts with ``prefix``
    (None: no bound), so a prefix search walks only its stretch of the index."""
    while prefix:
        last = prefix[-1]
        position = CODE_ALPHABET.find(last)
        if 0 <= position < len(CODE_ALPHABET) - 1:
            return prefix[:-1] + CODE_ALPHABET[position + 1]
        prefix = prefix[:-1].rstrip("-")
    return None


# Fully coded (``coding.selectors.fully_coded``), on this page's per-item counts.
_COMPLETE = Q(n_assigned__gt=0, n_submitted=F("n_assigned"))
_PREFILTERS = {
    "unassigned": Q(n_assigned=0),
    "assigned": Q(n_submitted=0),
    "in_progress": Q(n_submitted__lt=F("n_assigned")),
    "coded": _COMPLETE & Q(n_reconciled__lt=F("n_dims")),
    "disagreement": _COMPLETE & Q(n_reconciled__lt=F("n_dims")),
    "reconciled": _COMPLETE & Q(n_reconciled__gte=F("n_dims")),
}


@dataclass(frozen=True)
class ItemFilters:
    code: str = ""  # canonical code prefix
    state: str = ""
    coder_id: int | None = None


@dataclass
class ItemPage:
    items: list[Item]
    after: str | None  # cursor of the next page
    before: str | None  # cursor of the previous page


def _filtered(study: Study, filters: ItemFilters) -> QuerySet[Item]:
    items = annotated_items(study=study)
    if filters.code:
        items = items.filter(public_code__startswith=filters.code, public_code__gte=filters.code)
        bound = _upper_bound(filters.code)
        if bound:
            items = items.filter(public_code__lt=bound)
    if filters.state in STATES:
        # The cheap conditions first (PostgreSQL orders filters by cost), so a rare state
        # skips the costly disagreement test on most of the items it walks past.
        items = items.filter(_PREFILTERS[filters.state], state=filters.state)
    if filters.coder_id is not None:
        mine = Assignment.objects.filter(item=OuterRef("pk"), coder_id=filters.coder_id)
        items = items.annotate(n_mine=_count(mine)).filter(n_mine__gt=0)
    return items


def item_page(
    *,
    study: Study,
    filters: ItemFilters,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
) -> ItemPage:
    """One page of items in code order, starting after ``after`` (or ending before
    ``before``). Cursors are public codes, so a page link is stable while items change."""
    with without_jit():
        return _page(_filtered(study, filters), after, before, size)


@contextmanager
def without_jit() -> Iterator[None]:
    """PostgreSQL JIT-compiles plans it estimates as expensive. A filtered page's estimate
    is pessimistic (the planner cannot know how many items are in a state), crosses that
    line, and compiling then costs seconds for a query that runs in milliseconds."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


def _page(items: QuerySet[Item], after: str, before: str, size: int) -> ItemPage:
    if before:
        window = list(items.filter(public_code__lt=before).order_by("-public_code")[: size + 1])
        more_before = len(window) > size
        rows = list(reversed(window[:size]))
        return ItemPage(
            items=rows,
            after=rows[-1].public_code if rows else None,
            before=rows[0].public_code if rows and more_before else None,
        )
    if after:
        items = items.filter(public_code__gt=after)
    window = list(items.order_by("public_code")[: size + 1])
    rows = window[:size]
    return ItemPage(
        items=rows,
        after=rows[-1].public_code if len(window) > size else None,
        before=rows[0].public_code if rows and after else None,
    )


def lead_header(*, study: Study) -> dict[str, bool]:
    """What the lead tabs need (is there a design matrix?) in one indexed EXISTS, instead
    of the dashboard's counts over the whole study."""
    return {"assignments": Assignment.objects.filter(item__study=study).exists()}


def item_state(*, item: Item) -> Item:
    """The item with the same annotations as a browser row (one query)."""
    return annotated_items(study=item.study).get(pk=item.pk)


def item_assignments(*, item: Item) -> list[Assignment]:
    """Who codes this item, in which state (the lead's view; coders never see this)."""
    return list(
        Assignment.objects.filter(item=item)
        .select_related("coder")
        .only("pk", "status", "version", "submitted_at", "coder__username", "coder_id")
        .order_by("coder__username")
    )
