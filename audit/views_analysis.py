"""Study analyses (lead only): hub, audit matrix, scaffold efficacy, profiles, claim report.

Condition-based pages (efficacy, profiles) read the sealed key through
``services.analysis_rows_read``, which refuses before unblinding and logs every read.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render

from audit.stats.profiles import efficacy_compute, efficacy_input, matrix_build, profiles_build
from coding.csvsafe import csv_lines
from coding.models import Event, Study
from coding.permissions import LEADS, access_study
from coding.selectors import study_summary
from coding.services import ServiceError, event_record

from . import selectors, services
from .analysis_requirements import analyses_available
from .charts import Bar, Group, Panel, bar_chart
from .claims import claim_report_build, claim_report_markdown
from .forms import ClaimForm
from .registry import registry_revision

SCALE = (0.0, 2.0)


def _ctx(study: Study, tab: str = "analysis", **extra: Any) -> dict[str, Any]:
    return {"study": study, "tab": tab, "summary": study_summary(study=study), **extra}


@login_required
def study_analysis(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    kinds = selectors.item_kind_counts(study=study)
    return render(
        request,
        "audit/study_analysis.html",
        _ctx(
            study,
            kinds=kinds,
            unblinded=study.status == Study.Status.UNBLINDED,
            can=analyses_available(study=study),
        ),
    )


def _matrix(study: Study) -> dict[str, Any]:
    dims = selectors.dimension_list(study=study)
    items = selectors.document_items(study=study)
    matrix = matrix_build(items, selectors.reconciled_values(study=study), [d.code for d in dims])
    registry = selectors.benchmarks_for_items(external_ids=[i["external_id"] for i in items])
    for row in matrix["rows"]:
        row["benchmark"] = registry.get(row["external_id"])
    return {
        "dims": dims,
        "matrix": matrix,
        "registry_revision": registry_revision(),
        # Built-in entries this audit does not cover: listed with the reason, never dropped.
        "not_audited": selectors.builtin_benchmarks_not_in(ids={b.pk for b in registry.values()})
        if registry
        else [],
    }


@login_required
def audit_matrix(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    data = _matrix(study)
    snapshot = services.snapshot_current(study=study, by=request.user).snapshot
    agreement = {d["code"]: d for d in (snapshot.results["dimensions"] if snapshot else [])}
    coverage = [
        {**c, "name": d.name, "agreement": agreement.get(d.code)}
        for c, d in zip(data["matrix"]["coverage"], data["dims"], strict=True)
    ]
    return render(
        request,
        "audit/audit_matrix.html",
        _ctx(study, **data, coverage=coverage, snapshot=snapshot),
    )


@login_required
def audit_matrix_csv(request: HttpRequest, study_id: int) -> StreamingHttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    data = _matrix(study)
    event_record(verb=Event.Verb.EXPORT, actor=request.user, study=study, target="audit_matrix.csv")
    header = [
        "title",
        "item",
        "external_id",
        "year",
        "claim_level",
        *[d.code for d in data["dims"]],
        "citation_verified",
        "registry_entry_version",
        "registry_revision",
    ]
    rows = (
        [
            r["title"],
            r["code"],
            r["external_id"],
            r["benchmark"].year if r["benchmark"] else "",
            r["benchmark"].claim_level if r["benchmark"] else "",
            *["" if v is None else v for v in r["values"]],
            ("yes" if r["benchmark"].citation_verified else "no") if r["benchmark"] else "",
            r["benchmark"].version if r["benchmark"] else "",
            data["registry_revision"],
        ]
        for r in data["matrix"]["rows"]
    )
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-audit-matrix.csv"'
    return response


def _condition_rows(request: HttpRequest, study: Study, purpose: str) -> list[dict] | None:
    """Reconciled rows with conditions, or None (before unblinding: nothing is read)."""
    if study.status != Study.Status.UNBLINDED:
        return None
    try:
        return services.analysis_rows_read(study=study, by=request.user, purpose=purpose)
    except ServiceError:
        return None


def _efficacy_chart(eff: dict[str, Any]) -> Any:
    panels = []
    for dim in eff["dimensions"]:
        tests = {t["model"]: t for t in eff["result"]["one_way"] if t["dimension"] == dim}
        groups = [
            Group(
                scaffold,
                [
                    Bar(model, (tests.get(model) or {}).get("means", {}).get(scaffold))
                    for model in eff["models"]
                ],
            )
            for scaffold in eff["scaffolds"]
        ]
        panels.append(Panel(dim, groups))
    return bar_chart(
        panels,
        series=eff["models"],
        y_domain=SCALE,
        y_label="mean reconciled score",
        title="Mean reconciled score by scaffold, per model and dimension",
        columns=4,
        panel_width=320,
        panel_height=220,
    )


@login_required
def scaffold_efficacy(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    can = analyses_available(study=study)["scaffold_efficacy"]
    rows = _condition_rows(request, study, "scaffold efficacy") if can.offered else None
    ctx = _ctx(study, sealed=rows is None and can.offered, can=can)
    if rows is not None:
        inp = efficacy_input(rows)
        ctx["excluded"] = inp.excluded
        if inp.rows:
            eff = efficacy_compute(inp.rows)
            ctx.update(eff=eff, chart=_efficacy_chart(eff), n_rows=len(inp.rows))
    return render(request, "audit/scaffold_efficacy.html", ctx)


@login_required
def scaffold_efficacy_json(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    rows = _condition_rows(request, study, "scaffold efficacy export")
    if rows is None:
        messages.error(request, "Scaffold efficacy is available after unblinding.")
        return redirect("audit:scaffold-efficacy", study.pk)
    inp = efficacy_input(rows)
    result = efficacy_compute(inp.rows)["result"] if inp.rows else None
    event_record(
        verb=Event.Verb.EXPORT, actor=request.user, study=study, target="scaffold_efficacy.json"
    )
    response = HttpResponse(
        json.dumps(result, indent=2, allow_nan=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-efficacy.json"'
    return response


@login_required
def alignment_profiles(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    can = analyses_available(study=study)["alignment_profiles"]
    rows = _condition_rows(request, study, "alignment profiles") if can.offered else None
    ctx = _ctx(study, sealed=rows is None and can.offered, can=can)
    if rows is not None:
        codes = [d.code for d in selectors.dimension_list(study=study)]
        profiles = profiles_build(rows, codes)
        scaffolds = sorted({p["scaffold"] for p in profiles})
        panels = [
            Panel(
                f"{p['model']} · {p['scaffold']} (n = {p['n_items']})",
                [
                    Group(d["code"], [Bar("mean", d["mean"], d["lo"], d["hi"], f"n = {d['n']}")])
                    for d in p["dimensions"]
                ],
            )
            for p in profiles
        ]
        chart = (
            bar_chart(
                panels,
                series=["mean"],
                y_domain=SCALE,
                y_label="mean (95% t-CI)",
                title="Alignment profiles: D1-D8 per model and scaffold",
                columns=min(4, max(1, len(scaffolds))),
                panel_width=320,
                panel_height=200,
            )
            if profiles
            else None
        )
        ctx.update(profiles=profiles, codes=codes, chart=chart)
    return render(request, "audit/alignment_profiles.html", ctx)


@login_required
def claim_report(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    statement = selectors.claim_statement_get(study=study)
    initial = {"deployment_context": study.deployment_context}
    if statement is not None:
        initial.update(
            claim=statement.claim,
            claim_level=statement.claim_level,
            model_evidence=statement.model_evidence,
            benchmarks=list(statement.benchmarks.all()),
        )
    form = ClaimForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.claim_statement_update(
                study=study,
                by=request.user,
                deployment_context=data["deployment_context"],
                claim=data["claim"],
                claim_level=data["claim_level"],
                model_evidence=data["model_evidence"],
                benchmarks=list(data["benchmarks"]),
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Claim and deployment context saved.")
            return redirect("audit:claim-report", study.pk)
    report = claim_report_build(study=study, by=request.user)
    return render(request, "audit/claim_report.html", _ctx(study, report=report, form=form))


def _report_download(request: HttpRequest, study_id: int, kind: str) -> tuple[Study, dict]:
    study = access_study(request.user, study_id, roles=LEADS)
    report = claim_report_build(study=study, by=request.user)
    event_record(
        verb=Event.Verb.EXPORT, actor=request.user, study=study, target=f"claim_report.{kind}"
    )
    return study, report


@login_required
def claim_report_json(request: HttpRequest, study_id: int) -> HttpResponse:
    study, report = _report_download(request, study_id, "json")
    response = HttpResponse(
        json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-claim-report.json"'
    return response


@login_required
def claim_report_md(request: HttpRequest, study_id: int) -> HttpResponse:
    study, report = _report_download(request, study_id, "md")
    response = HttpResponse(
        claim_report_markdown(report), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-claim-report.md"'
    return response
