"""Who may use generation: leads and generation operators of any study (and staff).

Runs and endpoints are private: a run is visible to its creator, to the generation
operators of the study it feeds and, once that study is unblinded, to its leads. Every
lookup returns 404 to anyone else, so outsiders learn nothing about what exists. A run
that feeds a study is condition data of that study: pages and API pass
``transcripts.door`` before showing it.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from alignweb.permissions import UserLike, generates_anywhere
from coding.models import Membership, Study

from .models import GenerationRun, ModelEndpoint


def require_generation_user(user: UserLike) -> None:
    if not generates_anywhere(user):
        raise Http404("No such page.")


def _pk(value: int | str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("Not found.")


def visible_runs(user: UserLike):
    """Runs the user may reach: their own, those feeding a study they operate, and those
    feeding an unblinded study they lead (the door still records each read)."""
    member = Membership.objects.filter(study=OuterRef("study"), user=user)
    operates = Exists(member.filter(role=Membership.Role.OPERATOR))
    leads_unblinded = Exists(member.filter(role=Membership.Role.LEAD)) & Q(
        study__status=Study.Status.UNBLINDED
    )
    return GenerationRun.objects.filter(Q(created_by=user) | operates | leads_unblinded)


def access_run(user: UserLike, run_id: int | str) -> GenerationRun:
    """A run the user may reach (see ``visible_runs``), or 404."""
    require_generation_user(user)
    run = visible_runs(user).select_related("prompt_set", "study").filter(pk=_pk(run_id)).first()
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
