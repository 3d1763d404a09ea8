"""Generation pages (HTML + htmx). Thin: permission getter, service or selector, render."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from alignweb.celery import app as celery_app
from coding.models import Membership
from coding.services import ServiceError

from . import selectors, services
from .door import require_unsealed, run_page_door, sealed_run_ids
from .estimates import run_estimate
from .forms import EndpointForm, RunForm, StudyFromRunForm
from .models import GenerationRun
from .permissions import access_run, require_generation_user
from .runcard import build_run_card, run_card_markdown


def _progress_context(run: GenerationRun, user) -> dict:
    return {
        "run": run,
        "progress": selectors.run_progress(run=run),
        # Neutral by design: coders see the study name, and a run's name may name models.
        "study_form": StudyFromRunForm(initial={"name": services.default_study_name()}),
        "study_url": _study_url(run, user),
    }


def _estimate(form: RunForm):
    """The preview of what the form would start, from whatever of it is valid so far."""
    data = form.cleaned_data if form.is_bound else {}
    endpoints, scaffolds = data.get("endpoints"), data.get("scaffolds")
    prompt_set = data.get("prompt_set")
    if not endpoints or not scaffolds or prompt_set is None:
        return None
    prompts = selectors.prompt_list_current(prompt_set)[: data.get("max_prompts") or None]
    return run_estimate(
        endpoints=endpoints,
        scaffolds=scaffolds,
        prompts=prompts,
        replicates=data.get("replicates") or 1,
        max_tokens=data.get("max_tokens"),
    )


@login_required
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    require_generation_user(request.user)
    runs = list(selectors.run_list(user=request.user))
    sealed = sealed_run_ids(request.user, runs)
    for run in runs:
        run.sealed = run.pk in sealed  # name and grid masked: condition data of a study
        run.outcome = selectors.run_outcome(
            status=run.status, total=run.total, succeeded=run.succeeded, failed=run.failed
        )
    return render(
        request,
        "transcripts/run_list.html",
        {
            "runs": runs,
            "endpoints": selectors.endpoint_list(user=request.user),
            "fake_port": settings.FAKE_MODEL_PORT,
        },
    )


@login_required
def run_create(request: HttpRequest) -> HttpResponse:
    require_generation_user(request.user)
    form = RunForm(request.POST or None, user=request.user)
    estimate = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        estimate = _estimate(form)
        if estimate is not None and estimate.needs_confirmation and not data.get("confirm"):
            form.add_error(
                None,
                "Please confirm: " + " and ".join(estimate.confirm_reasons) + ". "
                "Tick the box under the estimate to start it.",
            )
            return render(request, "transcripts/run_form.html", _form_context(form, estimate))
        try:
            run = services.run_create(
                by=request.user,
                name=data["name"],
                endpoints=data["endpoints"],
                scaffolds=data["scaffolds"],
                prompt_set=data["prompt_set"],
                replicates=data["replicates"],
                max_prompts=data.get("max_prompts"),
                config=form.config(),
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Run started with {run.transcripts.count()} cells.")
            return redirect("transcripts:run-detail", run_id=run.pk)
    elif form.is_bound:
        form.is_valid()
        estimate = _estimate(form)
    return render(request, "transcripts/run_form.html", _form_context(form, estimate))


def _form_context(form: RunForm, estimate) -> dict:
    return {
        "form": form,
        "estimate": estimate,
        "has_endpoints": form.fields["endpoints"].queryset.exists(),
        "inline": bool(celery_app.conf.task_always_eager),
    }


@login_required
@require_POST
def run_estimate_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the cells / tokens / cost preview of the new-run form as it is filled in."""
    require_generation_user(request.user)
    form = RunForm(request.POST, user=request.user)
    form.is_valid()  # the preview uses whatever parts are valid; errors show on submit
    return render(
        request,
        "transcripts/_partials/run_estimate.html",
        {"estimate": _estimate(form), "form": form},
    )


@login_required
@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access_run(request.user, run_id)
    if refused := run_page_door(request, run, "run page"):
        return refused
    context = _progress_context(run, request.user) | {
        "endpoints": run.endpoints.order_by("name"),
        "scaffolds": run.scaffolds.order_by("code"),
    }
    return render(request, "transcripts/run_detail.html", context)


@login_required
@require_GET
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The htmx partial polled while a run is going; it stops polling once finished."""
    run = access_run(request.user, run_id)
    if refused := run_page_door(request, run, "progress"):
        return refused
    return render(
        request, "transcripts/_partials/run_progress.html", _progress_context(run, request.user)
    )


def _study_url(run: GenerationRun, user=None) -> str | None:
    """The study's page for this user: the operator page for its operators."""
    if not run.study_id:
        return None
    operator = Membership.objects.filter(
        study_id=run.study_id, user=user, role=Membership.Role.OPERATOR
    ).exists()
    try:
        name = "coding:study-operator" if operator else "coding:study-detail"
        return reverse(name, args=[run.study_id])
    except NoReverseMatch:
        return None


def _action(request: HttpRequest, run_id: int, action, done: str) -> HttpResponse:
    run = access_run(request.user, run_id)
    try:
        require_unsealed(request.user, run)
        result = action(run=run, by=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        count = result if isinstance(result, int) else None
        messages.success(request, done.format(count=count))
    return redirect("transcripts:run-detail", run_id=run.pk)


@login_required
@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    return _action(request, run_id, services.run_cancel, "Run cancelled; no new cells start.")


@login_required
@require_POST
def run_resume(request: HttpRequest, run_id: int) -> HttpResponse:
    return _action(request, run_id, services.run_resume, "Resumed: {count} unfinished cells.")


@login_required
@require_POST
def run_retry_failed(request: HttpRequest, run_id: int) -> HttpResponse:
    return _action(request, run_id, services.run_retry_failed, "Retrying {count} failed cells.")


@login_required
@require_POST
def run_to_study(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access_run(request.user, run_id)
    form = StudyFromRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the study a name and at least two coders per item.")
        return redirect("transcripts:run-detail", run_id=run.pk)
    try:
        study = services.run_to_study(
            run=run,
            by=request.user,
            name=form.cleaned_data["name"],
            coders_per_item=form.cleaned_data["coders_per_item"],
            lead=form.cleaned_data["lead"],
        )
    except ServiceError as exc:
        messages.error(request, str(exc))
        return redirect("transcripts:run-detail", run_id=run.pk)
    n_items = study.items.count()
    if form.cleaned_data["lead"]:
        messages.success(
            request,
            f"Study “{study.name}” created with {n_items} blinded items and handed to its "
            "lead. You are its generation operator: your reads of this run are recorded.",
        )
        return redirect("coding:study-operator", study.pk)
    messages.success(
        request,
        f"Study “{study.name}” created with {n_items} blinded items. Add coders, then open "
        "it. You lead it, so this run is now sealed to you until you unblind the study.",
    )
    url = _study_url(run)
    return redirect(url) if url else redirect("transcripts:run-list")


@login_required
@require_GET
def run_card(request: HttpRequest, run_id: int, fmt: str) -> HttpResponse:
    run = access_run(request.user, run_id)
    if refused := run_page_door(request, run, f"run card ({fmt})"):
        return refused
    card = build_run_card(run)
    filename = f"run-{run.pk}-card.{fmt}"
    if fmt == "json":
        response = JsonResponse(card, json_dumps_params={"indent": 2})
    else:
        response = HttpResponse(
            run_card_markdown(card), content_type="text/markdown; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def transcript_list(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access_run(request.user, run_id)
    if refused := run_page_door(request, run, "transcripts"):
        return refused
    return render(
        request,
        "transcripts/transcript_list.html",
        {"run": run, "transcripts": selectors.transcript_list(run=run)},
    )


@login_required
@require_GET
def transcript_detail(request: HttpRequest, run_id: int, transcript_id: int) -> HttpResponse:
    run = access_run(request.user, run_id)
    transcript = selectors.transcript_get(run=run, transcript_id=transcript_id)
    if transcript is None:
        raise Http404("No such transcript.")
    if refused := run_page_door(request, run, f"transcript {transcript.pk}"):
        return refused
    return render(
        request,
        "transcripts/transcript_detail.html",
        {
            "run": run,
            "t": transcript,
            "provenance_json": json.dumps(transcript.provenance, indent=2),
            "attempt_log": transcript.attempt_log,
        },
    )


@login_required
@require_GET
def endpoint_list(request: HttpRequest) -> HttpResponse:
    require_generation_user(request.user)
    return render(
        request,
        "transcripts/endpoint_list.html",
        {
            "endpoints": selectors.endpoint_list(user=request.user),
            "fake_port": settings.FAKE_MODEL_PORT,
        },
    )


@login_required
def endpoint_create(request: HttpRequest) -> HttpResponse:
    require_generation_user(request.user)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(by=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Endpoint “{endpoint.name}” saved.")
            return redirect("transcripts:endpoint-list")
    return render(
        request,
        "transcripts/endpoint_form.html",
        {"form": form, "fake_port": settings.FAKE_MODEL_PORT},
    )


@login_required
@require_GET
def library(request: HttpRequest) -> HttpResponse:
    require_generation_user(request.user)
    prompt_sets = list(selectors.prompt_set_list())
    for prompt_set in prompt_sets:
        prompt_set.current = selectors.prompt_list_current(prompt_set)
    return render(
        request,
        "transcripts/library.html",
        {"scaffolds": selectors.scaffold_list_current(), "prompt_sets": prompt_sets},
    )
