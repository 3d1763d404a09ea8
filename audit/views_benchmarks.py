"""One registry entry: its history, and what a lead may do with it (edit their own entry;
copy or propose an edit of anyone else's or a built-in one); staff decide proposals.

Open to users who lead a study (and staff), like the rest of the registry; 404 otherwise.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alignweb.permissions import require_lead_anywhere
from coding.services import ServiceError

from . import registry
from .forms import BenchmarkCopyForm, BenchmarkForm, ProposalForm
from .models import Benchmark, BenchmarkProposal


def _entry(request: HttpRequest, benchmark_id: int) -> Benchmark:
    require_lead_anywhere(request.user)
    return get_object_or_404(Benchmark.objects.select_related("created_by"), pk=benchmark_id)


@login_required
def benchmark_detail(request: HttpRequest, benchmark_id: int) -> HttpResponse:
    benchmark = _entry(request, benchmark_id)
    proposals = list(
        benchmark.proposals.select_related("proposed_by", "decided_by").order_by("-proposed_at")
    )
    for proposal in proposals:
        proposal.decidable = proposal.status == "pending" and registry.can_decide(
            proposal, request.user
        )
    ctx = {
        "benchmark": benchmark,
        "versions": benchmark.versions.select_related("edited_by").order_by("-version"),
        "proposals": proposals,
        "can_edit": registry.can_edit(benchmark, request.user),
        "copy_form": BenchmarkCopyForm(),
        "revision": registry.registry_revision(),
    }
    return render(request, "audit/benchmark_detail.html", ctx)


@login_required
def benchmark_edit(request: HttpRequest, benchmark_id: int) -> HttpResponse:
    benchmark = _entry(request, benchmark_id)
    if not registry.can_edit(benchmark, request.user):
        messages.info(request, "This entry is read-only for you: copy it or propose an edit.")
        return redirect("audit:benchmark-detail", benchmark.pk)
    form = BenchmarkForm(request.POST or None, instance=benchmark)
    if request.method == "POST" and form.is_valid():
        try:
            registry.benchmark_update(benchmark=benchmark, by=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Saved {benchmark.name} as version {benchmark.version}.")
            return redirect("audit:benchmark-detail", benchmark.pk)
    status = 400 if request.method == "POST" else 200
    ctx = {"benchmark": benchmark, "form": form, "mode": "edit"}
    return render(request, "audit/benchmark_edit.html", ctx, status=status)


@login_required
def benchmark_propose(request: HttpRequest, benchmark_id: int) -> HttpResponse:
    benchmark = _entry(request, benchmark_id)
    # A fresh instance so the form shows the current entry, and the entry stays unchanged.
    form = ProposalForm(request.POST or None, instance=Benchmark.objects.get(pk=benchmark.pk))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        note = data.pop("note")
        try:
            registry.benchmark_propose(benchmark=benchmark, by=request.user, note=note, **data)
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Proposal sent; staff review it before it changes anything.")
            return redirect("audit:benchmark-detail", benchmark.pk)
    status = 400 if request.method == "POST" else 200
    ctx = {"benchmark": benchmark, "form": form, "mode": "propose"}
    return render(request, "audit/benchmark_edit.html", ctx, status=status)


@login_required
@require_POST
def benchmark_copy(request: HttpRequest, benchmark_id: int) -> HttpResponse:
    benchmark = _entry(request, benchmark_id)
    form = BenchmarkCopyForm(request.POST)
    name = form.cleaned_data["name"] if form.is_valid() else ""
    try:
        copy = registry.benchmark_copy(benchmark=benchmark, by=request.user, name=name)
    except ServiceError as exc:
        messages.error(request, str(exc))
        return redirect("audit:benchmark-detail", benchmark.pk)
    messages.success(request, f"Copied to your own entry “{copy.name}”; edit it freely.")
    return redirect("audit:benchmark-detail", copy.pk)


@login_required
@require_POST
def proposal_decide(request: HttpRequest, proposal_id: int) -> HttpResponse:
    require_lead_anywhere(request.user)
    proposal = get_object_or_404(
        BenchmarkProposal.objects.select_related("benchmark"), pk=proposal_id
    )
    accept = request.POST.get("decision") == "accept"
    try:
        registry.proposal_decide(
            proposal=proposal, by=request.user, accept=accept, note=request.POST.get("note", "")
        )
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Proposal accepted: a new version." if accept else "Rejected.")
    return redirect("audit:benchmark-detail", proposal.benchmark_id)
