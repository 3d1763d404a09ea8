import datetime as dt

from django import template
from django.template.defaultfilters import timesince
from django.utils import timezone

register = template.Library()


@register.filter
def ago(value: dt.datetime | None) -> str:
    """``just now``, ``5 minutes ago``, ``2 days, 3 hours ago``; empty for None."""
    if value is None:
        return ""
    if timezone.now() - value < dt.timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"
