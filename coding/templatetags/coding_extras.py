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
