from django import template
from django.utils.safestring import mark_safe

from coding.rendering import render_markdown

register = template.Library()


@register.filter
def markdown_safe(text: str) -> str:
    """Sanitised markdown (see coding.rendering)."""
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitised by nh3 allow-list


@register.filter
def get_item(mapping, key):
    if not hasattr(mapping, "get"):
        return None
    return mapping.get(key)
