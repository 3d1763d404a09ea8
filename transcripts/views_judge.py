"""Model co-coder pages (leads only): start a judge run, follow it, read its calibration.

Every view fetches the study through ``access_study(..., roles=LEADS)``: coders,
adjudicators, operators and outsiders get a 404 and learn nothing of the judge.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.judge_calibration import CSV_HEADER, LABELS, calibration_csv_rows
from coding.csvsafe import csv_lines
from coding.models import Event
from coding.permissions import LEADS, access_study
from coding.services import ServiceError, event_record

from . import judge_selectors as sel
from . import judge_services as svc
from .forms_judge import JudgeRunForm
from .models_judge import JudgeRun


@login_required
@require_http_methods(["GET", "POST"])
def judge_index(request: HttpRequest, study_id: int) -> HttpResponse:
    """The study's judge runs and the form to start one."""
    study = access_study(request.user, study_id, roles=LEADS)
    form = JudgeRunForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = svc.judge_run_create(
                study=study,
                endpoint=data["endpoint"],
                by=request.user,
                temperature=data["temperature"],
                max_tokens=data["max_tokens"],
                format_attempts=data["format_attempts"],
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Model co-coder started on {run.cells.count()} items.")
            return redirect("transcripts:judge-detail", study_id=study.pk, judge_id=run.pk)
    return render(
        request,
        "transcripts/judge_index.html",
        {
            "study": study,
            "tab": "judge",
            "runs": sel.judge_run_list(study=study),
            "form": form,
        },
    )


def _detail_context(study, run: JudgeRun) -> dict:
    return {
        "study": study,
        "run": run,
        "progress": sel.judge_progress(run=run),
        "running": run.status == JudgeRun.Status.RUNNING,
    }


@login_required
@require_GET
def judge_detail(request: HttpRequest, study_id: int, judge_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    run = sel.judge_run_get(study=study, run_id=judge_id)
    ctx = _detail_context(study, run)
    results = sel.judge_calibration(run=run) if ctx["progress"].succeeded else None
    warnings = [
        {"dimension": d["code"], "reference": r["reference"], "text": w}
        for d in (results or {}).get("dimensions", [])
        for r in d["rows"]
        for w in r["warnings"]
    ]
    ctx.update(
        tab="judge",
        results=results,
        paradox=[w for w in warnings if w["text"].startswith("kappa paradox")],
        warnings=warnings,
        labels=LABELS,
        problems=sel.judge_problem_list(run=run),
        counted=sel.judge_run_list(study=study).filter(counts_as_coder=True).first(),
    )
    return render(request, "transcripts/judge_detail.html", ctx)


@login_required
@require_GET
def judge_progress(request: HttpRequest, study_id: int, judge_id: int) -> HttpResponse:
    """The progress card (htmx polls it while the run is going)."""
    study = access_study(request.user, study_id, roles=LEADS)
    run = sel.judge_run_get(study=study, run_id=judge_id)
    response = render(
        request, "transcripts/_partials/judge_progress.html", _detail_context(study, run)
    )
    if run.status != JudgeRun.Status.RUNNING:
        response["HX-Refresh"] = "true"  # done: reload once for the calibration table
    return response


def _action(request, study_id, judge_id, do) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    run = sel.judge_run_get(study=study, run_id=judge_id)
    try:
        note = do(run)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, note)
    return redirect("transcripts:judge-detail", study_id=study.pk, judge_id=run.pk)


@login_required
@require_POST
def judge_cancel(request: HttpRequest, study_id: int, judge_id: int) -> HttpResponse:
    def do(run):
        svc.judge_run_cancel(run=run, by=request.user)
        return "Model co-coder cancelled."

    return _action(request, study_id, judge_id, do)


@login_required
@require_POST
def judge_retry_failed(request: HttpRequest, study_id: int, judge_id: int) -> HttpResponse:
    def do(run):
        n = svc.judge_run_retry_failed(run=run, by=request.user)
        return f"Retrying {n} failed item{'s' if n != 1 else ''}."

    return _action(request, study_id, judge_id, do)


@login_required
@require_POST
def judge_counts_as_coder(request: HttpRequest, study_id: int, judge_id: int) -> HttpResponse:
    include = request.POST.get("include") == "1"

    def do(run):
        svc.judge_counts_as_coder_set(run=run, include=include, by=request.user)
        if include:
            return (
                "The model's scores now count as a coder in agreement, reconciliation and exports."
            )
        return "The model's scores no longer count as a coder."

    return _action(request, study_id, judge_id, do)


def _export(request, study_id, judge_id, kind):
    study = access_study(request.user, study_id, roles=LEADS)
    run = sel.judge_run_get(study=study, run_id=judge_id)
    event_record(
        verb=Event.Verb.EXPORT,
        actor=request.user,
        study=study,
        target=f"judge-calibration.{kind}",
        payload={"judge_run": run.pk},
    )
    return study, run


def _provenance(run: JudgeRun) -> dict:
    return {
        "judge_run": run.pk,
        "endpoint": run.endpoint.name,
        "provider": run.endpoint.provider,
        "model": run.endpoint.model,
        "instructions_sha256": run.instructions_sha256,
        "rubric_version": run.rubric_version,
        "config": run.config,
        "counts_as_coder": run.counts_as_coder,
        "code_commit": run.code_commit,
    }


@login_required
@require_GET
def judge_calibration_json(request: HttpRequest, study_id: int, judge_id: int) -> HttpResponse:
    study, run = _export(request, study_id, judge_id, "json")
    body = {
        "study": {"id": study.pk, "name": study.name, "status": study.status},
        "judge": _provenance(run),
        "results": sel.judge_calibration(run=run),
    }
    response = HttpResponse(
        json.dumps(body, indent=2, ensure_ascii=False, allow_nan=False),
        content_type="application/json",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="study-{study.pk}-judge-{run.pk}-calibration.json"'
    )
    return response


@login_required
@require_GET
def judge_calibration_csv(request: HttpRequest, study_id: int, judge_id: int):
    study, run = _export(request, study_id, judge_id, "csv")
    rows = calibration_csv_rows(sel.judge_calibration(run=run))
    response = StreamingHttpResponse(
        csv_lines(CSV_HEADER, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="study-{study.pk}-judge-{run.pk}-calibration.csv"'
    )
    return response
