"""Lead views for the two-step import: upload -> preview -> confirm, for items and for the
condition key (draft studies). Thin: the checks live in coding/services/uploads.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coding.forms import ImportForm
from coding.import_preview import CONDITION_COLUMNS
from coding.models import PendingUpload, Study
from coding.permissions import LEADS, access_pending_upload, access_study
from coding.selectors.keys import condition_coverage
from coding.services import (
    ImportRejected,
    ServiceError,
    condition_keys_confirm,
    items_import_confirm,
    upload_discard,
    upload_stage,
)
from coding.views.lead import _lead_context

MAX_SHOWN_ERRORS = 500


def _page(request: HttpRequest, study: Study, *, form=None, key_form=None, errors=None, status=200):
    errors = errors or []
    ctx = _lead_context(request, study, "import")
    ctx.update(
        form=form or ImportForm(),
        key_form=key_form or ImportForm(prefix="key"),
        errors=errors[:MAX_SHOWN_ERRORS],
        more_errors=max(0, len(errors) - MAX_SHOWN_ERRORS),
        condition_columns=CONDITION_COLUMNS,
        coverage=condition_coverage(study=study),
        key_editable=study.status == Study.Status.DRAFT,
    )
    return render(request, "coding/study_import.html", ctx, status=status)


def _stage(request: HttpRequest, study: Study, kind: str, form: ImportForm) -> HttpResponse:
    upload = form.cleaned_data["file"]
    try:
        staged = upload_stage(
            study=study, kind=kind, raw=upload.read(), filename=upload.name, by=request.user
        )
    except ImportRejected as exc:
        messages.error(request, str(exc))
        what = {"form": form} if kind == PendingUpload.Kind.ITEMS else {"key_form": form}
        return _page(request, study, errors=exc.errors, status=400, **what)
    except ServiceError as exc:
        form.add_error(None, str(exc))
        what = {"form": form} if kind == PendingUpload.Kind.ITEMS else {"key_form": form}
        return _page(request, study, status=400, **what)
    return redirect("coding:study-import-preview", study.pk, staged.token)


@login_required
def study_import(request: HttpRequest, study_id: int) -> HttpResponse:
    """GET: the upload forms and the documented format. POST: check and stage an items file."""
    study = access_study(request.user, study_id, roles=LEADS)
    if request.method != "POST":
        return _page(request, study)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, study, form=form, status=400)
    return _stage(request, study, PendingUpload.Kind.ITEMS, form)


@login_required
@require_POST
def study_import_key(request: HttpRequest, study_id: int) -> HttpResponse:
    """Check and stage a condition key file (draft studies)."""
    study = access_study(request.user, study_id, roles=LEADS)
    form = ImportForm(request.POST, request.FILES, prefix="key")
    if not form.is_valid():
        return _page(request, study, key_form=form, status=400)
    return _stage(request, study, PendingUpload.Kind.KEY, form)


def _upload(request: HttpRequest, study_id: int, upload_token: str) -> tuple[Study, PendingUpload]:
    study = access_study(request.user, study_id, roles=LEADS)
    return study, access_pending_upload(request.user, study, upload_token)


@login_required
def study_import_preview(request: HttpRequest, study_id: int, upload_token: str) -> HttpResponse:
    """What the staged file will become; nothing has been written yet."""
    study, upload = _upload(request, study_id, upload_token)
    ctx = _lead_context(request, study, "import")
    coverage = upload.summary.get("coverage", {})
    ctx.update(
        upload=upload,
        summary=upload.summary,
        coverage_rows=[{"name": n, "n": coverage.get(n, 0)} for n, _text in CONDITION_COLUMNS],
    )
    template = (
        "coding/import_preview.html"
        if upload.kind == PendingUpload.Kind.ITEMS
        else "coding/condition_key_preview.html"
    )
    return render(request, template, ctx)


@login_required
@require_POST
def study_import_confirm(request: HttpRequest, study_id: int, upload_token: str) -> HttpResponse:
    study, upload = _upload(request, study_id, upload_token)
    try:
        if upload.kind == PendingUpload.Kind.ITEMS:
            result = items_import_confirm(upload=upload, by=request.user)
            messages.success(
                request,
                f"Imported {result.created} items from {upload.filename}; "
                f"{result.redactions} redactions made.",
            )
        else:
            logged = condition_keys_confirm(upload=upload, by=request.user)
            messages.success(
                request,
                f"Condition key updated from {upload.filename}: {logged['keys_changed']} "
                f"key(s) changed, {logged['keys_created']} created. The change is in the "
                "Event log.",
            )
    except ImportRejected as exc:
        messages.error(request, str(exc))
        return _page(request, study, errors=exc.errors, status=400)
    except ServiceError as exc:
        messages.error(request, str(exc))
        return redirect("coding:study-import", study.pk)
    done = (
        "coding:study-detail" if upload.kind == PendingUpload.Kind.ITEMS else "coding:study-import"
    )
    return redirect(done, study.pk)


@login_required
@require_POST
def study_import_discard(request: HttpRequest, study_id: int, upload_token: str) -> HttpResponse:
    study, upload = _upload(request, study_id, upload_token)
    upload_discard(upload=upload)
    messages.info(request, f"Discarded {upload.filename}; nothing was written.")
    return redirect("coding:study-import", study.pk)
