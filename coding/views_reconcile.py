"""Reconciliation (adjudicators and leads), locking, unblinding, condition key and exports
(leads). Thin: parse, call a selector or service, render. Everyone else gets a 404."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from alignweb.bounds import ID, INT32_MAX, OutOfBounds, param_int, parse_int
from alignweb.permissions import (
    KEY_READERS,
    LEADS,
    RECONCILERS,
    access_study,
    access_study_item,
    study_role,
)
from coding.models import Item, Membership, Reconciliation, Study

from . import exports
from .door_http import door_passed, door_refusal, page_reason
from .selectors_reconcile import (
    STATUSES,
    parse_cursor,
    reconcile_item_get,
    reconcile_next_code,
    reconcile_queue_page,
    reconcile_summary,
)
from .serializers import condition_key_row
from .services import (
    Conflict,
    ServiceError,
    condition_key_read,
    condition_keys_read,
    reconciliation_auto_agree,
    reconciliation_decide,
    study_lock,
    study_unblind,
)
from .views_lead import _lead_context

QUEUE_PAGE = 100
KEY_PAGE = 100


def _base_context(request: HttpRequest, study: Study, tab: str) -> dict:
    """Leads get the study tabs; adjudicators a plain header."""
    is_lead = study_role(request.user, study) == Membership.Role.LEAD
    ctx = _lead_context(request, study, tab) if is_lead else {"study": study, "tab": tab}
    ctx["is_lead"] = is_lead
    return ctx


def _int(raw, default: int, low: int = 0) -> int:
    """A forgiving filter value: clamped up to ``low``; malformed or huge gives ``default``."""
    try:
        return max(low, parse_int(raw, low=-INT32_MAX, high=INT32_MAX))
    except OutOfBounds:
        return default


@login_required
def queue(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=RECONCILERS)
    dimensions = list(study.rubric.dimensions.values_list("code", "name"))
    dimension = request.GET.get("dimension", "")
    if dimension not in {code for code, _name in dimensions}:
        dimension = ""
    min_spread = _int(request.GET.get("min_spread"), 1, low=1)
    status = request.GET.get("status", "open")
    if status not in STATUSES:
        status = "open"
    after = parse_cursor(request.GET.get("after", ""))
    entries, next_after = reconcile_queue_page(
        study=study,
        dimension=dimension or None,
        min_spread=min_spread,
        status=status,
        after=after,
        limit=QUEUE_PAGE,
    )
    ctx = _base_context(request, study, "reconcile")
    ctx.update(
        entries=entries,
        first_page=after is None,
        next_after=next_after,
        reconcile=reconcile_summary(study=study),
        dimensions=dimensions,
        filters={"dimension": dimension, "min_spread": min_spread, "status": status},
        spreads=range(1, 1 + _max_spread(study)),
        next_code=reconcile_next_code(study=study),
        page_size=QUEUE_PAGE,
        # Item links are this prefix + code + "/" (the reconcile-item route), built once.
        item_prefix=reverse("coding:reconcile-queue", args=[study.pk]),
    )
    return render(request, "coding/reconcile_queue.html", ctx)


def _max_spread(study: Study) -> int:
    values = [
        lv.value
        for d in study.rubric.dimensions.prefetch_related("levels")
        for lv in d.levels.all()
    ]
    return max(1, max(values) - min(values)) if values else 1


@login_required
@require_POST
def auto_agree(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=RECONCILERS)
    try:
        added = reconciliation_auto_agree(study=study)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Recorded {added} new agreed decision(s).")
    return redirect("coding:reconcile-queue", study.pk)


def _study_item(request: HttpRequest, study_id: int, code: str, roles=RECONCILERS):
    item = access_study_item(request.user, study_id, code, roles=roles)
    return item.study, item


def _posted(post, code: str) -> tuple[str, str, str, int | None]:
    return (
        post.get(f"value_{code}", ""),
        post.get(f"method_{code}", Reconciliation.Method.ADJUDICATED),
        post.get(f"note_{code}", "").replace("\r\n", "\n").strip(),
        param_int(post, f"expected_{code}", low=ID[0], high=ID[1]),
    )


def _save_decisions(request: HttpRequest, item: Item, panel) -> tuple[int, list[str], bool]:
    """Apply every changed dimension; returns (saved, errors, any conflict)."""
    saved, errors, conflict = 0, [], False
    for dim_panel in panel.dimensions:
        dim = dim_panel.dimension
        value, method, note, expected = _posted(request.POST, dim.code)
        if value == "":
            continue
        try:
            decision = reconciliation_decide(
                item=item,
                dimension=dim,
                value=value,
                method=method,
                note=note,
                by=request.user,
                expected_id=expected,
            )
            saved += decision.pk != expected  # an unchanged decision is returned as it was
        except Conflict as exc:
            conflict = True
            errors.append(str(exc))
        except ServiceError as exc:
            errors.append(str(exc))
    return saved, errors, conflict


@login_required
def reconcile_item(request: HttpRequest, study_id: int, code: str) -> HttpResponse:
    """GET: the side-by-side page. POST: record the decisions that changed."""
    study, item = _study_item(request, study_id, code)
    panel = reconcile_item_get(item=item)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        saved, errors, conflict = _save_decisions(request, item, panel)
        if not errors:
            messages.success(request, f"Saved {saved} decision(s) for {item.public_code}.")
            panel = reconcile_item_get(item=item)
            nxt = reconcile_next_code(study=study, after=item.public_code)
            if panel.open_disagreements == 0 and nxt and nxt != item.public_code:
                return redirect("coding:reconcile-item", study.pk, nxt)
            return redirect("coding:reconcile-item", study.pk, item.public_code)
        status = 409 if conflict else 400
        if saved:
            errors.insert(0, f"Saved {saved} other decision(s).")
        panel = reconcile_item_get(item=item)
    ctx = _base_context(request, study, "reconcile")
    ctx.update(
        item=item,
        panel=panel,
        errors=errors,
        methods=Reconciliation.Method.choices,
        editable=study.status == Study.Status.OPEN and panel.complete,
        next_code=reconcile_next_code(study=study, after=item.public_code),
    )
    return render(request, "coding/reconcile_item.html", ctx, status=status)


# ---- Lock, unblind, condition key, exports (leads only) -------------------------------


@login_required
def study_exports(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    ctx = _base_context(request, study, "exports")
    base = {kind: reverse("coding:export-csv", args=[study.pk, kind]) for kind in exports.KINDS}
    ctx.update(
        reconcile=reconcile_summary(study=study),
        conditions=exports.conditions_visible(study),
        columns={kind: exports.export_columns(study=study, kind=kind) for kind in exports.KINDS},
        csv_urls=base,
        provenance_urls={
            kind: reverse("coding:export-provenance", args=[study.pk, kind])
            for kind in exports.KINDS
        },
        neutralisation=exports.NEUTRALISATION,
        code_version=exports.code_version(),
    )
    return render(request, "coding/study_exports.html", ctx)


@login_required
@require_POST
def lock(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    try:
        study_lock(
            study=study,
            by=request.user,
            override=request.POST.get("override") == "1",
            reason=request.POST.get("reason", ""),
        )
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Study locked: first-pass and reconciled values are final.")
    return redirect("coding:study-exports", study.pk)


@login_required
@require_POST
def unblind(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    try:
        study_unblind(study=study, by=request.user, reason=request.POST.get("reason", ""))
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Study unblinded. The condition key is now visible to leads.")
    return redirect("coding:study-exports", study.pk)


@login_required
def condition_key(request: HttpRequest, study_id: int) -> HttpResponse:
    """The condition key, 100 items per page; each page view is one key view, through the
    door (leads after unblinding; operators with a reason)."""
    study = access_study(request.user, study_id, roles=KEY_READERS)
    codes = (
        Item.objects.filter(study=study)
        .order_by("public_code")
        .values_list("public_code", flat=True)
    )
    page = Paginator(codes, KEY_PAGE).get_page(request.GET.get("page"))
    reason = page_reason(request, study.pk)
    try:
        keys = condition_keys_read(
            study=study, by=request.user, codes=list(page.object_list), reason=reason
        )
    except ServiceError as exc:
        return door_refusal(request, study=study, what="the condition key", exc=exc)
    door_passed(request, study.pk, reason)
    ctx = _base_context(request, study, "exports")
    ctx.update(page=page, keys=keys)
    return render(request, "coding/reconcile_key.html", ctx)


@login_required
def condition_key_item(request: HttpRequest, study_id: int, code: str) -> HttpResponse:
    """One item's key as JSON (through the door, like the key page)."""
    item = access_study_item(request.user, study_id, code, roles=KEY_READERS)
    study = item.study
    reason = page_reason(request, study.pk)
    try:
        key = condition_key_read(item=item, by=request.user, reason=reason)
    except ServiceError as exc:
        return door_refusal(request, study=study, what="the condition key", exc=exc)
    door_passed(request, study.pk, reason)
    # The same row as the API's key endpoint (blank cells when the item has no key).
    data = condition_key_row(item.public_code, key)
    body = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)
    return HttpResponse(body, content_type="application/json")


def _kind(kind: str) -> str:
    if kind not in exports.KINDS:
        raise Http404("No such export.")
    return kind


@login_required
def export_csv(request: HttpRequest, study_id: int, kind: str) -> StreamingHttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    upto = param_int(request.GET, "upto", low=ID[0], high=ID[1]) if kind == "events" else None
    started = exports.export_start(study=study, kind=_kind(kind), by=request.user, upto=upto)
    response = StreamingHttpResponse(started.chunks, content_type=started.content_type)
    response["Content-Disposition"] = f'attachment; filename="{started.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def export_provenance(request: HttpRequest, study_id: int, kind: str) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    data = exports.export_provenance(
        study=study,
        kind=_kind(kind),
        by=request.user,
        csv_url=request.build_absolute_uri(reverse("coding:export-csv", args=[study.pk, kind])),
    )
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    name = data["file"].removesuffix(".csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.provenance.json"'
    response["Cache-Control"] = "no-store"
    return response
