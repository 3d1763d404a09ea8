"""Gold items and qualification for the lead (settings, CSV import, edit, retry), and the
coder's training feedback after submitting a gold item."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coding import selectors
from coding.models import Item
from coding.permissions import LEADS, access_assignment, access_study, valid_code
from coding.rubric_cache import rubric_dimensions
from coding.selectors.gold import gold_feedback, gold_list, qualification_status, study_coder_get
from coding.services import Conflict, ServiceError
from coding.services.gold import (
    gold_import_csv,
    gold_set,
    qualification_retry,
    quality_settings_get,
    quality_settings_update,
)

MAX_UPLOAD = 2_000_000


@login_required
def gold_page(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    dims = rubric_dimensions(study.rubric)
    golds = gold_list(study=study)
    edit_code = request.GET.get("item", "")[:16]
    editing = next((g for g in golds if g["code"] == edit_code), None)
    ctx = {
        "study": study,
        "tab": "gold",
        "summary": selectors.study_summary(study=study),
        "settings": quality_settings_get(study=study),
        "golds": golds,
        "edit_rows": [
            {
                "code": d.code,
                "name": d.name,
                "levels": list(d.levels.all()),
                "selected": (editing or {}).get("expected", {}).get(d.code),
                "explanation": (editing or {}).get("explanations", {}).get(d.code, ""),
            }
            for d in dims
        ],
        "edit_code": edit_code,
        "qualification": qualification_status(study=study),
    }
    return render(request, "coding/gold.html", ctx)


@login_required
@require_POST
def gold_settings_view(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    try:
        quality_settings_update(
            study=study,
            by=request.user,
            gold_rate=request.POST.get("gold_rate", "0"),
            training=request.POST.get("training") == "on",
            qualification_items=request.POST.get("qualification_items", "0"),
            pass_kappa=request.POST.get("pass_kappa", "0.6"),
        )
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Quality settings saved.")
    return redirect("coding:gold", study.pk)


@login_required
@require_POST
def gold_import_view(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    upload = request.FILES.get("file")
    if upload is None or upload.size > MAX_UPLOAD:
        messages.error(request, "Choose a CSV file under 2 MB.")
        return redirect("coding:gold", study.pk)
    try:
        n = gold_import_csv(study=study, raw=upload.read(), by=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{n} gold item(s) imported.")
    return redirect("coding:gold", study.pk)


@login_required
@require_POST
def gold_set_view(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    code = request.POST.get("item_code", "").strip()[:16]
    item = Item.objects.filter(study=study, public_code=code).first() if valid_code(code) else None
    if item is None:
        messages.error(request, f"No item {code!r} in this study.")
        return redirect("coding:gold", study.pk)
    dims = rubric_dimensions(study.rubric)
    expected = {d.code: request.POST.get(f"expected_{d.code}", "") for d in dims}
    notes = {d.code: request.POST.get(f"explanation_{d.code}", "") for d in dims}
    try:
        version = gold_set(item=item, expected=expected, explanations=notes, by=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{code} is gold (version {version.number}).")
    return redirect("coding:gold", study.pk)


@login_required
@require_POST
def qualification_retry_view(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    coder = study_coder_get(study=study, username=request.POST.get("coder", ""))
    if coder is None:
        raise Http404("No such coder.")
    try:
        attempt = qualification_retry(study=study, coder=coder, by=request.user)
    except (ServiceError, Conflict) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{coder.username} may retry (attempt {attempt.number}).")
    return redirect("coding:gold", study.pk)


@login_required
def gold_feedback_view(request: HttpRequest, study_id: int, code: str) -> HttpResponse:
    """The coder's own gold item after submission, in training mode; otherwise 404."""
    assignment = access_assignment(request.user, code, study_id=study_id)
    feedback = gold_feedback(assignment=assignment)
    if feedback is None:
        raise Http404("No such page.")
    study = assignment.item.study
    nxt = selectors.next_assignment(study=study, coder=request.user)
    done, total = selectors.coder_progress(study=study, coder=request.user)
    ctx = {"study": study, "feedback": feedback, "next": nxt, "done": done, "total": total}
    return render(request, "coding/gold_feedback.html", ctx)
