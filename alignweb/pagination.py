"""API pagination: limit/offset with a ceiling, so ``?limit=`` cannot reach the database
as a number PostgreSQL's LIMIT cannot hold (or ask for a million rows at once)."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset: a larger ``limit`` is served as ``max_limit``. ``offset`` past the
    end returns an empty page before any query uses it (DRF compares it with the count)."""

    max_limit = 1000
