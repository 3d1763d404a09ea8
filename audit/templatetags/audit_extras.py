"""Formatting filters for the audit pages: numbers that may be null, intervals, lookups."""

from __future__ import annotations

from typing import Any

from django import template

from coding.templatetags.coding_extras import lookup

register = template.Library()


@register.filter
def num(value: Any, digits: int = 2) -> str:
    """A number to ``digits`` places, or "n/a" for None (undefined statistics)."""
    if value is None or value == "":
        return "n/a"
    try:
        return f"{round(float(value), int(digits)) + 0.0:.{int(digits)}f}"  # no "-0.00"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def pval(value: Any) -> str:
    """A p-value: three decimals, "< 0.001" below that, "n/a" for None."""
    if value is None:
        return "n/a"
    value = float(value)
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


@register.filter
def interval(bounds: Any, digits: int = 2) -> str:
    """``[low, high]`` or an empty string when there is no interval."""
    if not bounds or bounds[0] is None or bounds[1] is None:
        return ""
    # A no-break space keeps the interval on one line in narrow table columns.
    return f"[{float(bounds[0]):.{int(digits)}f},\u00a0{float(bounds[1]):.{int(digits)}f}]"


@register.filter
def level_class(value: Any) -> str:
    """Heat-map class for a 0/1/2 cell."""
    return f"v{value}" if value in (0, 1, 2) else "missing"


register.filter("lookup", lookup)  # the one definition, in coding_extras
