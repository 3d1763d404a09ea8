"""Analysis pages that are not tied to one study: index, benchmark registry, rank instability.

Open to users who lead at least one study (staff included); everyone else gets a 404.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from alignweb.permissions import require_lead_anywhere
from coding.selectors_keys import condition_coverage_for
from coding.services import ServiceError

from . import registry, selectors, services
from .analysis_requirements import analyses_available
from .charts import rank_chart
from .forms import BenchmarkAuditForm, BenchmarkForm, RankCsvForm
from .models import BenchmarkProposal
from .stats.instability import rank_instability, read_rank_csv

EXAMPLE_CSV = Path(__file__).resolve().parent / "data" / "rank_instability_example.csv"


@login_required
def index(request: HttpRequest) -> HttpResponse:
    require_lead_anywhere(request.user)
    studies = list(selectors.lead_study_list(user=request.user))
    coverage = condition_coverage_for(studies=studies)
    for study in studies:  # offer only the analyses each study can run
        study.can = analyses_available(study=study, coverage=coverage[study.pk])
    return render(
        request,
        "audit/index.html",
        {"studies": studies, "n_benchmarks": selectors.benchmark_list().count()},
    )


@login_required
def benchmark_list(request: HttpRequest) -> HttpResponse:
    require_lead_anywhere(request.user)
    form = BenchmarkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            benchmark = services.benchmark_create(by=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Added {benchmark.name} to the registry.")
            return redirect("audit:benchmark-list")
    status = 400 if request.method == "POST" else 200
    benchmarks = list(selectors.benchmark_list())
    for b in benchmarks:
        b.editable = registry.can_edit(b, request.user)
    ctx = {
        "benchmarks": benchmarks,
        "form": form,
        "revision": registry.registry_revision(),
        "n_builtin": sum(1 for b in benchmarks if b.builtin),
        "n_unverified": sum(1 for b in benchmarks if not b.citation_verified),
        "pending": BenchmarkProposal.objects.filter(status="pending")
        .select_related("benchmark", "proposed_by")
        .order_by("-proposed_at")[:50],
    }
    return render(request, "audit/benchmark_list.html", ctx, status=status)


@login_required
def benchmark_audit_create(request: HttpRequest) -> HttpResponse:
    require_lead_anywhere(request.user)
    initial = {}
    if request.GET.getlist("benchmark"):
        initial["benchmarks"] = request.GET.getlist("benchmark")
    form = BenchmarkAuditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            study = services.benchmark_audit_study_create(
                name=data["name"],
                benchmarks=list(data["benchmarks"]),
                rubric=data["rubric"],
                coders_per_item=data["coders_per_item"],
                by=request.user,
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Created {study.name} with {len(data['benchmarks'])} benchmark documents. "
                "Add coders, then open the study.",
            )
            return redirect("coding:study-detail", study.pk)
    return render(request, "audit/benchmark_audit_form.html", {"form": form})


def _instability_view(result: dict[str, Any]) -> list[dict[str, Any]]:
    benchmarks = []
    for name, bench in result["benchmarks"].items():
        number = {config: i + 1 for i, config in enumerate(bench["configs"])}
        pairs = [
            {
                **pair,
                "witness_numbers": [number[c] for c in pair["witness"]]
                if pair["witness"]
                else None,
            }
            for pair in bench["pairs"]
        ]
        benchmarks.append(
            {
                "name": name,
                **bench,
                "pair_rows": pairs,
                "chart": rank_chart(
                    bench["configs"],
                    bench["models"],
                    bench["ranks"],
                    title=f"Rank of each model per configuration: {name}",
                ),
                "config_rows": [
                    {
                        "index": i + 1,
                        "config": config,
                        "ranks": [bench["ranks"][config].get(m) for m in bench["models"]],
                    }
                    for i, config in enumerate(bench["configs"])
                ],
            }
        )
    return benchmarks


@login_required
def rank_instability_view(request: HttpRequest) -> HttpResponse:
    require_lead_anywhere(request.user)
    form = RankCsvForm(request.POST or None, request.FILES or None)
    source, result, status = None, None, 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                text = io.StringIO(upload.read().decode("utf-8-sig"))
                result = rank_instability(read_rank_csv(text))
                source = upload.name
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text.")
            except ValueError as exc:
                form.add_error("file", " ".join(str(exc).split()))
        if result is None:
            status = 400
    elif request.GET.get("example"):
        with EXAMPLE_CSV.open(encoding="utf-8", newline="") as stream:
            result = rank_instability(read_rank_csv(stream))
        source = "bundled example (audit/data/rank_instability_example.csv)"
    ctx = {
        "form": form,
        "source": source,
        "benchmarks": _instability_view(result) if result else None,
    }
    return render(request, "audit/rank_instability.html", ctx, status=status)
