"""A study's rankings page (lead only): position bias of a pairwise study, and
Bradley-Terry rankings per dimension, overall and per scaffold, with JSON and CSV.

Position bias reads only sides, never conditions, so it is shown at any time. Rankings
name the models, so they open after unblinding and every read is a logged key view
(``audit.pairwise.study_rankings_read``); before that the page says so and reads nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from alignweb.bounds import param_int
from alignweb.permissions import LEADS, access_study
from coding.csvsafe import csv_lines
from coding.models import Study
from coding.selectors import study_summary

from .pairwise import position_bias_report, study_rankings_read
from .selectors import dimension_list
from .views_reliability import BT_CSV_HEADER, bt_csv_rows, bt_view

DEFAULT_BOOTSTRAP = 200
MAX_PAGE_BOOTSTRAP = 2000


def _dimension(request: HttpRequest, codes: list[str]) -> str:
    """The chosen dimension; anything not in the rubric is dropped (the first one)."""
    code = request.GET.get("dimension", "")
    return code if code in codes else (codes[0] if codes else "")


def _csv(study: Study, result: dict[str, Any]) -> StreamingHttpResponse:
    def rows():
        for dim, block in result["dimensions"].items():
            for row in bt_csv_rows(block):
                yield [dim, *row]

    header = ["dimension", *BT_CSV_HEADER]
    response = StreamingHttpResponse(csv_lines(header, rows()), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-rankings.csv"'
    return response


@login_required
def study_rankings(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    bootstrap = param_int(request.GET, "draws", low=0, high=MAX_PAGE_BOOTSTRAP,
                          default=DEFAULT_BOOTSTRAP)  # fmt: skip
    fmt = request.GET.get("format", "")
    dims = dimension_list(study=study)
    codes = [d.code for d in dims]
    pairwise = study.kind == Study.Kind.PAIRWISE
    unblinded = study.status == Study.Status.UNBLINDED
    if fmt in ("json", "csv"):
        if not unblinded:
            return HttpResponse(
                "Rankings are available after unblinding.", status=409, content_type="text/plain"
            )
        result = study_rankings_read(study=study, by=request.user, bootstrap=bootstrap,
                                     seed=study.seed)  # fmt: skip
        if fmt == "csv":
            return _csv(study, result)
        response = HttpResponse(json.dumps(result, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-rankings.json"'
        return response
    dimension = _dimension(request, codes)
    ctx: dict[str, Any] = {
        "study": study,
        "tab": "analysis",
        "summary": study_summary(study=study),
        "pairwise": pairwise,
        "bias": position_bias_report(study=study) if pairwise else None,
        "sealed": not unblinded,
        "dims": dims,
        "dimension": dimension,
        "bootstrap": bootstrap,
    }
    if unblinded:
        data = study_rankings_read(study=study, by=request.user, bootstrap=bootstrap,
                                   seed=study.seed, dimensions=[dimension])  # fmt: skip
        ctx["source"] = data["source"]
        fit = data["dimensions"].get(dimension)
        if fit:  # not "block": that name is the template's {% block %} inside one
            ctx.update(bt=fit, result=bt_view(fit))
    return render(request, "audit/study_rankings.html", ctx)
