"""The two heavy parts of the coding page, rendered once and reused.

- The transcript: markdown rendering and sanitising cost a few milliseconds per
  message, and each item is shown to k coders (and adjudicators), so its HTML is kept
  in the shared cache under the item id and content hash. A cache outage only costs the
  rendering again; it never fails the page.
- The rubric form: with nothing entered yet (the usual first view of an item) it is the
  same for every coder of a study, so it is memoised per frozen rubric
  (``coding.rubric_cache``). Drafts, posted values and locked forms are rendered fresh.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from .models import Item, Rubric, Score
from .rubric_cache import frozen_fragment, rubric_dimensions

log = logging.getLogger(__name__)
TRANSCRIPT_TTL = 24 * 3600
RENDER_VERSION = 1  # bump when the transcript partial or the markdown rules change


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 - the cache is an optimisation, never a dependency
        log.debug("cache unavailable for get", exc_info=True)
        return None


def _cache_set(key: str, value: Any, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:  # noqa: BLE001
        log.debug("cache unavailable for set", exc_info=True)


def item_html(item: Item) -> SafeString:
    """The item's content as sanitised HTML (blinded content: the stored item is scrubbed)."""
    key = f"item-html:{RENDER_VERSION}:{item.pk}:{item.content_sha256}"
    html = _cache_get(key)
    if html is None:
        html = render_to_string("coding/_partials/transcript.html", {"item": item})
        _cache_set(key, str(html), TRANSCRIPT_TTL)
    return mark_safe(html)  # noqa: S308 - rendered by our template, sanitised by nh3


def rubric_form_html(
    rubric: Rubric, *, scores: dict[str, Score], posted: dict, locked: bool
) -> SafeString:
    """The rubric's fieldsets with the coder's saved or posted values filled in."""

    def build() -> str:
        return render_to_string(
            "coding/_partials/rubric_fields.html",
            {
                "dimensions": rubric_dimensions(rubric),
                "scores": scores,
                "posted": posted,
                "locked": locked,
            },
        )

    if scores or posted or locked:
        return mark_safe(build())  # noqa: S308 - autoescaped template output
    return mark_safe(frozen_fragment(rubric, "blank-form", build))  # noqa: S308
