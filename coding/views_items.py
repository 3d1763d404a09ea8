"""The lead's item browser, item preview (exactly the coder's view) and coder pace table."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from alignweb.permissions import LEADS, access_study_item

from . import selectors_items, selectors_members
from .forms_people import ItemFilterForm
from .models import Assignment, Membership, Reconciliation, Study
from .pace import BREAK_AFTER
from .page_fragments import item_html, rubric_form_html
from .permissions_people import lead_study
from .selectors_items import STATE_HELP, STATES, ItemFilters, normalise_code_query
from .services import ServiceError, condition_key_read


def _lead_context(study: Study, tab: str) -> dict:
    return {"study": study, "tab": tab, "summary": selectors_items.lead_header(study=study)}


def _coder_options(study: Study) -> list[tuple[int, str]]:
    """Coders who hold items (current or removed) and current coders, by name."""
    holders = {
        pk: name
        for pk, name in Assignment.objects.filter(item__study=study)
        .values_list("coder_id", "coder__username")
        .distinct()
    }
    holders.update(
        Membership.objects.filter(study=study, role=Membership.Role.CODER).values_list(
            "user_id", "user__username"
        )
    )
    return sorted(holders.items(), key=lambda kv: kv[1])


def _cursor(value: str | None) -> str:
    """A page cursor is a public code (or prefix of one); anything else is ignored."""
    return normalise_code_query(value or "") or ""


@login_required
def item_list(request: HttpRequest, study_id: int) -> HttpResponse:
    """Every item with its state, filtered by code, state and coder; 50 per page."""
    study = lead_study(request.user, study_id)
    coders = _coder_options(study)
    form = ItemFilterForm(request.GET or None, coders=coders)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    raw_q = (request.GET.get("q") or "").strip()
    code = normalise_code_query(raw_q) if raw_q else ""
    filters = ItemFilters(
        code=code or "", state=data.get("state") or "", coder_id=data.get("coder")
    )
    page = None
    if code is not None:
        page = selectors_items.item_page(
            study=study,
            filters=filters,
            after=_cursor(request.GET.get("after")),
            before=_cursor(request.GET.get("before")),
        )
        if [i.public_code for i in page.items] == [code]:
            return redirect("coding:item-preview", study.pk, code)  # a whole code: open it
    params = {
        "q": code or "",
        "state": filters.state,
        "coder": filters.coder_id if filters.coder_id is not None else "",
    }
    query = urlencode({k: v for k, v in params.items() if v != ""})
    ctx = _lead_context(study, "items")
    ctx.update(
        form=form,
        page=page,
        bad_query=raw_q and code is None,
        q=code or "",
        state=filters.state,
        coder_id=filters.coder_id,
        states=STATES,
        state_help=STATE_HELP,
        query=query,
        filtered=bool(code or filters.state or filters.coder_id is not None),
    )
    return render(request, "coding/item_list.html", ctx)


@login_required
def item_preview(request: HttpRequest, study_id: int, code: str) -> HttpResponse:
    """The item as its coders see it (same partials, same scrubbed content), who codes it,
    its reconciliation, and its condition only once the study is unblinded (logged)."""
    item = access_study_item(request.user, study_id, code, roles=LEADS)
    study = item.study
    annotated = selectors_items.item_state(item=item)
    assignments = selectors_items.item_assignments(item=item)
    removed = selectors_members.removed_coder_ids(study=study)
    key, key_error = None, ""
    if study.status == Study.Status.UNBLINDED:
        try:
            key = condition_key_read(item=item, by=request.user, reason="item browser")
        except ServiceError as exc:
            key_error = str(exc)
    ctx = _lead_context(study, "items")
    ctx.update(
        item=item,
        annotated=annotated,
        state_label=STATES[annotated.state],
        state_help=STATE_HELP[annotated.state],
        assignments=[(a, a.coder_id in removed) for a in assignments],
        decisions=Reconciliation.objects.filter(item=item).count(),
        transcript_html=item_html(item),
        rubric_html=rubric_form_html(study.rubric, scores={}, posted={}, locked=True),
        key=key,
        key_error=key_error,
    )
    return render(request, "coding/item_preview.html", ctx)


@login_required
def coder_pace(request: HttpRequest, study_id: int) -> HttpResponse:
    """Per coder: assigned, submitted, open, items per hour and median time per item."""
    study = lead_study(request.user, study_id)
    ctx = _lead_context(study, "items")
    ctx.update(
        rows=selectors_members.coder_pace_rows(study=study),
        break_minutes=int(BREAK_AFTER.total_seconds() // 60),
    )
    return render(request, "coding/coder_pace.html", ctx)
