"""Reads for the coding app that need more than one `.get`."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Membership


def membership_list_for_user(*, user) -> QuerySet[Membership]:
    """The user's memberships with their studies, newest study first."""
    return (
        Membership.objects.filter(user=user)
        .select_related("study", "study__rubric")
        .order_by("-study__created_at", "study__name")
    )
