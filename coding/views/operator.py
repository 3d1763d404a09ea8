"""The generation operator's page for a study: what they may open, and the key views.

A study's operator runs generation so that its lead and adjudicator can stay blind. The
operator never codes or reconciles; they reach the condition key and the generation run
behind the study only through the logged door (``coding.services.door``).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from coding.models import Membership, Study
from coding.permissions import access_study
from coding.selectors.door import key_view_summary

OPERATORS = (Membership.Role.OPERATOR,)


def key_views_context(study: Study, *, log_link: bool = True) -> dict:
    """Context for ``coding/_partials/key_views.html``."""
    total, latest = key_view_summary(study=study)
    return {"key_views_total": total, "key_views": latest, "key_views_log": log_link}


@login_required
def study_operator(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=OPERATORS)
    leads = (
        study.memberships.filter(role=Membership.Role.LEAD)
        .select_related("user")
        .order_by("user__username")
    )
    ctx = {"study": study, "leads": [m.user.get_username() for m in leads]}
    ctx.update(key_views_context(study, log_link=False))
    return render(request, "coding/study_operator.html", ctx)
