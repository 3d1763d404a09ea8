"""Lead views: create a study, import, open, progress (members and the event
log: views_members.py, views_events.py)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from coding import hooks, selectors
from coding.forms import RubricImportForm, StudyForm
from coding.models import Membership, Rubric, Study
from coding.permissions import LEADS, access_study, require_lead_anywhere
from coding.services import (
    ServiceError,
    rubric_create_from_data,
    rubric_export,
    study_create,
    study_open,
)
from coding.views.operator import key_views_context


def _require_creator(user) -> None:
    require_lead_anywhere(user)


@login_required
def study_create_view(request: HttpRequest) -> HttpResponse:
    _require_creator(request.user)
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = study_create(
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                rubric=form.cleaned_data["rubric"],
                coders_per_item=form.cleaned_data["coders_per_item"],
                seed=form.cleaned_data["seed"],
                kind=form.cleaned_data["kind"] or Study.Kind.ITEMS,
                by=request.user,
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Study created. Add coders and import items next.")
            return redirect("coding:study-detail", study.pk)
    return render(request, "coding/study_form.html", {"form": form})


def _lead_context(request: HttpRequest, study, tab: str) -> dict:
    return {"study": study, "tab": tab, "summary": selectors.study_summary(study=study)}


@login_required
def study_detail(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    ctx = _lead_context(request, study, "overview")
    ctx.update(
        progress=selectors.study_progress(study=study),
        redactions=selectors.redaction_summary(study=study),
        coders=study.memberships.filter(role=Membership.Role.CODER).count(),
        notices=hooks.study_notices(study),
    )
    ctx.update(key_views_context(study))
    return render(request, "coding/study_detail.html", ctx)


@login_required
@require_POST
def study_open_view(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    try:
        study_open(study=study, by=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Study opened: every item is assigned to its coders.")
    return redirect("coding:study-detail", study.pk)


@login_required
def rubric_list(request: HttpRequest) -> HttpResponse:
    _require_creator(request.user)
    form = RubricImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = json.loads(form.cleaned_data["file"].read().decode("utf-8"))
            rubric = rubric_create_from_data(data=data, by=request.user)
        except (ValueError, RecursionError):  # bad UTF-8 or JSON, or a 4,300+ digit number
            form.add_error("file", "The file is not valid UTF-8 JSON.")
        except ServiceError as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(request, f"Imported rubric {rubric}.")
            return redirect("coding:rubric-list")
    rubrics = Rubric.objects.prefetch_related("dimensions__levels").order_by("name", "-version")
    return render(request, "coding/rubric_list.html", {"rubrics": rubrics, "form": form})


@login_required
def rubric_export_view(request: HttpRequest, rubric_id: int) -> HttpResponse:
    _require_creator(request.user)
    rubric = get_object_or_404(Rubric, pk=rubric_id)
    body = json.dumps(rubric_export(rubric=rubric), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="rubric-{rubric.pk}.json"'
    return response
