"""Reliability and rankings pages (issue 19): a study's G study and Bradley-Terry rankings.

The G study reads first-pass scores only (no condition data), so it needs no unblinding.
Rankings are computed from an uploaded CSV that is analysed and discarded, like rank
instability; JSON and CSV come from the same form, so there is one code path per result.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from alignweb.permissions import LEADS, access_study, require_lead_anywhere
from coding.csvsafe import csv_lines
from coding.selectors import study_summary

from .charts import Bar, Group, Panel, bar_chart, interval_chart, line_chart, rank_chart
from .forms_reliability import RankingCsvForm
from .selectors_reliability import first_pass_scores
from .stats.bradley_terry import bradley_terry, comparisons_from_scores, read_bt_csv
from .stats.gtheory import DEFAULT_D_STUDY, GScore, g_study
from .stats.instability import read_rank_csv

COMPONENTS = ("item", "coder", "residual")
BT_CSV_HEADER = ["scope", "rank", "player", "log_strength", "se", "ci_low", "ci_high", "converged"]
BT_EXAMPLE_CSV = Path(__file__).resolve().parent / "data" / "bradley_terry_example.csv"
SafeChart = Any


def study_g_study(study) -> dict[str, Any]:  # noqa: ANN001 - a Study
    rows = [GScore(str(i), str(c), d, float(v)) for i, c, d, v in first_pass_scores(study=study)]
    return g_study(rows, DEFAULT_D_STUDY) if rows else {"dimensions": {}}


def _share_panel(result: dict[str, Any]) -> SafeChart:
    groups = []
    for name, dim in result["dimensions"].items():
        comp = dim.get("variance_components")
        total = sum(comp.values()) if comp else 0.0
        bars = [Bar(c, (comp[c] / total) if total else None) for c in COMPONENTS]
        groups.append(Group(name, bars))
    return bar_chart(
        [Panel("Share of score variance per dimension", groups)],
        series=list(COMPONENTS),
        y_domain=(0.0, 1.0),
        y_label="share of variance",
        title="Variance components per dimension",
    )


def _d_study_chart(result: dict[str, Any], key: str, label: str) -> SafeChart:
    series = [
        (name, [(row["coders"], row[key]) for row in dim["d_study"]])
        for name, dim in result["dimensions"].items()
    ]
    return line_chart(
        series,
        x_label="coders per item (n')",
        y_label=label,
        y_domain=(0.0, 1.0),
        title=f"D study: {label} by number of coders per item",
        width=620,
        height=320,
    )


def coders_needed(dim: dict[str, Any], target: float = 0.8) -> int | None:
    """Smallest n' of the D study whose G reaches the target, or None."""
    for row in dim["d_study"]:
        if row["g"] is not None and row["g"] >= target:
            return row["coders"]
    return None


@login_required
def g_study_view(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    result = study_g_study(study)
    fmt = request.GET.get("format")
    if fmt == "json":
        response = HttpResponse(json.dumps(result, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="g-study-{study.pk}.json"'
        return response
    if fmt == "csv":
        return _g_csv(study.pk, result)
    dims = [
        {"name": name, **dim, "needed": coders_needed(dim)}
        for name, dim in result["dimensions"].items()
    ]
    ctx = {
        "study": study,
        "tab": "analysis",
        "summary": study_summary(study=study),
        "dims": dims,
        "across": result.get("across_dimensions"),
        "charts": (
            [
                _share_panel(result),
                _d_study_chart(result, "g", "G (relative)"),
                _d_study_chart(result, "phi", "Phi (absolute)"),
            ]
            if dims
            else []
        ),
    }
    return render(request, "audit/g_study.html", ctx)


def _g_csv(study_id: int, result: dict[str, Any]) -> StreamingHttpResponse:
    header = ["scope", "coders", "dimensions", "g", "phi"] + [
        f"var_{c}" for c in ("item", "coder", "dimension", "item:coder", "item:dimension",
                             "coder:dimension", "residual")
    ]  # fmt: skip
    scopes = list(result["dimensions"].items())
    if "across_dimensions" in result:
        scopes.append(("across dimensions", result["across_dimensions"]))

    def rows():
        for scope, block in scopes:
            comp = block.get("variance_components") or {}
            for row in block["d_study"]:
                yield [scope, row["coders"], row.get("dimensions", ""), row["g"], row["phi"]] + [
                    comp.get(name, "") for name in [h[4:] for h in header[5:]]
                ]

    response = StreamingHttpResponse(csv_lines(header, rows()), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="g-study-{study_id}.csv"'
    return response


def _read_upload(form: RankingCsvForm) -> list:
    upload = form.cleaned_data["file"]
    text = io.StringIO(upload.read().decode("utf-8-sig"))
    if form.cleaned_data["kind"] == "scores":
        rows = read_rank_csv(text)
        return comparisons_from_scores((r.config, r.model, r.benchmark, r.score) for r in rows)
    return read_bt_csv(text)


@login_required
def rankings_view(request: HttpRequest) -> HttpResponse:
    require_lead_anywhere(request.user)
    form = RankingCsvForm(request.POST or None, request.FILES or None)
    result, source, status = None, None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                comparisons = _read_upload(form)
                if not comparisons:
                    raise ValueError("no comparison could be derived (every score was tied)")
                result = bradley_terry(
                    comparisons, form.cleaned_data["bootstrap"], form.cleaned_data["seed"]
                )
                source = form.cleaned_data["file"].name
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text.")
            except ValueError as exc:
                form.add_error("file", " ".join(str(exc).split()))
        if result is None:
            status = 400
        elif request.POST.get("format") == "json":
            response = HttpResponse(json.dumps(result, indent=2), content_type="application/json")
            response["Content-Disposition"] = 'attachment; filename="bradley-terry.json"'
            return response
        elif request.POST.get("format") == "csv":
            return _bt_csv(result)
    elif request.GET.get("example"):
        with BT_EXAMPLE_CSV.open(encoding="utf-8", newline="") as stream:
            result = bradley_terry(read_bt_csv(stream), 200, 1)
        source = "bundled example (audit/data/bradley_terry_example.csv, pairwise outcomes)"
    ctx = {"form": form, "source": source, "result": bt_view(result) if result else None}
    return render(request, "audit/rankings.html", ctx, status=status)


def bt_csv_rows(result: dict[str, Any]) -> Iterator[list[Any]]:
    """CSV rows of a ``bradley_terry`` result: overall, then each configuration."""
    for scope, fit in [("overall", result["overall"]), *result["by_configuration"].items()]:
        if not fit["converged"]:
            yield [scope, "", "", "", "", "", "", f"false: {fit['note']}"]
            continue
        ci = fit["ci"] or {}
        for rank, player in enumerate(fit["rank"], start=1):
            lo, hi = ci.get(player, ["", ""])
            yield [scope, rank, player, fit["log_strength"][player], fit["se"][player],
                   lo, hi, "true"]  # fmt: skip


def _bt_csv(result: dict[str, Any]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_lines(BT_CSV_HEADER, bt_csv_rows(result)), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="bradley-terry.csv"'
    return response


def bt_view(result: dict[str, Any]) -> dict[str, Any]:
    overall = result["overall"]
    view: dict[str, Any] = {"overall": overall, "flips": result["rank_flips"]}
    if overall["converged"]:
        ci = overall["ci"] or {}
        view["chart"] = interval_chart(
            [
                (p, overall["log_strength"][p], *(ci.get(p) or (None, None)))
                for p in overall["rank"]
            ],
            x_label="log-ability (sum to zero; 95% bootstrap interval)",
            title="Bradley-Terry strengths, all configurations pooled",
        )
        view["rows"] = [
            {"rank": i, "player": p, "theta": overall["log_strength"][p], "se": overall["se"][p],
             "ci": ci.get(p)}
            for i, p in enumerate(overall["rank"], start=1)
        ]  # fmt: skip
    configs = result["by_configuration"]
    converged = {k: v for k, v in configs.items() if v["converged"]}
    numbers = {label: i for i, label in enumerate(converged, start=1)}  # as in the rank chart
    view["configs"] = [
        {"label": label, "number": numbers.get(label), **fit} for label, fit in configs.items()
    ]
    view["n_converged"] = len(converged)
    if len(converged) > 1:
        players = sorted({p for v in converged.values() for p in v["rank"]})
        ranks = {k: {p: i for i, p in enumerate(v["rank"], start=1)} for k, v in converged.items()}
        view["rank_chart"] = rank_chart(
            list(converged), players, ranks, title="Bradley-Terry rank per configuration"
        )
    return view
