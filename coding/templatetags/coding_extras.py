from typing import Any

from django import template
from django.utils.safestring import mark_safe

from coding.rendering import render_markdown

register = template.Library()


@register.filter
def markdown_safe(text: str) -> str:
    """Sanitised markdown (see coding.rendering)."""
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitised by nh3 allow-list


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` in a template: dict-likes by key (then by its text), lists by index;
    None when absent. The one lookup filter (audit's templates load it too)."""
    if isinstance(mapping, list | tuple):
        try:
            return mapping[int(key)]
        except (IndexError, TypeError, ValueError):
            return None
    if not hasattr(mapping, "get"):
        return None
    value = mapping.get(key)
    return mapping.get(str(key)) if value is None else value


# The lead's study sections, in order: (tab name, label, URL name).
STUDY_TABS = (
    ("overview", "Overview", "coding:study-detail"),
    ("members", "Members", "coding:study-members"),
    ("import", "Import", "coding:study-import"),
    ("items", "Items", "coding:item-list"),
    ("blinding", "Blinding", "audit:blinding"),
    ("agreement", "Agreement", "audit:agreement"),
    ("judge", "Model co-coder", "transcripts:judge"),
    ("reconcile", "Reconciliation", "coding:reconcile-queue"),
    ("exports", "Lock & export", "coding:study-exports"),
    ("analysis", "Analysis", "audit:study-analysis"),
    ("gold", "Gold", "coding:gold"),
    ("quality", "Quality", "audit:quality"),
    ("events", "Event log", "coding:study-events"),
)


@register.inclusion_tag("coding/_lead_tabs.html", takes_context=True)
def study_tabs(context) -> dict[str, Any]:
    """The lead's study header and section tabs (``tab`` in the page's context is the
    current one)."""
    from django.urls import reverse

    study = context["study"]
    tabs = [(name, label, reverse(url, args=[study.pk])) for name, label, url in STUDY_TABS]
    return {
        "study": study,
        "tab": context.get("tab"),
        "tabs": tabs,
        "summary": context.get("summary"),
        "csrf_token": context.get("csrf_token"),
    }
