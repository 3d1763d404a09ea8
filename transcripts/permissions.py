"""Who may use generation: leads of any study (and staff). Runs and endpoints are private.

Every lookup returns 404 to anyone else, so outsiders learn nothing about what exists.
"""

from __future__ import annotations

from django.http import Http404

from alignweb.permissions import UserLike
from coding.models import Membership

from .models import GenerationRun, ModelEndpoint


def can_generate(user: UserLike) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return Membership.objects.filter(user=user, role=Membership.Role.LEAD).exists()


def require_generation_user(user: UserLike) -> None:
    if not can_generate(user):
        raise Http404("No such page.")


def _pk(value: int | str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("Not found.")


def access_run(user: UserLike, run_id: int | str) -> GenerationRun:
    """The user's own run, or 404."""
    require_generation_user(user)
    run = (
        GenerationRun.objects.select_related("prompt_set", "study")
        .filter(pk=_pk(run_id), created_by=user)
        .first()
    )
    if run is None:
        raise Http404("No such run.")
    return run


def access_endpoint(user: UserLike, endpoint_id: int | str) -> ModelEndpoint:
    """The user's own endpoint, or 404."""
    require_generation_user(user)
    endpoint = ModelEndpoint.objects.filter(pk=_pk(endpoint_id), created_by=user).first()
    if endpoint is None:
        raise Http404("No such endpoint.")
    return endpoint
