"""Lead pages for coder quality (vs gold and reconciled values, heatmap) and drift (rolling
agreement and the CUSUM flag per coder). Coders never reach these (LEADS only; others 404)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from coding.permissions import LEADS, access_study
from coding.selectors import study_summary

from .agreement_tables import band, legend
from .charts import line_chart
from .quality import DRIFT_PARAMS, DRIFT_WINDOW, coder_quality, study_drift

STATS = ("exact", "within_one", "qwk", "bias")


def quality_rows(result: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """Per coder: n and per dimension the statistics against ``ref``."""
    rows = []
    for coder, entry in result["coders"].items():
        cells = [dict(entry[ref][code], code=code) for code in result["dimensions"]]
        rows.append({"coder": coder, "n": entry[f"n_{ref}"], "cells": cells})
    return rows


def heatmap(result: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """Coder x dimension quadratic-weighted kappa, coloured by Landis & Koch band."""
    return [
        {
            "coder": row["coder"],
            "n": row["n"],
            "cells": [
                {"value": c["qwk"], "ci": c["qwk_ci"], "band": band(c["qwk"]), "n": c["n"]}
                for c in row["cells"]
            ],
        }
        for row in quality_rows(result, ref)
    ]


@login_required
def quality_page(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    result = coder_quality(study=study)
    ctx = {
        "study": study,
        "tab": "quality",
        "summary": study_summary(study=study),
        "codes": result["dimensions"],
        "gold_rows": quality_rows(result, "gold"),
        "rec_rows": quality_rows(result, "reconciled"),
        "heat_gold": heatmap(result, "gold"),
        "heat_rec": heatmap(result, "reconciled"),
        "legend": legend(),
    }
    return render(request, "audit/quality.html", ctx)


def drift_chart(d) -> Any:
    series = [
        ("gold: rolling agreement", d.rolling_gold),
        ("reconciled: rolling agreement", d.rolling_reconciled),
    ]
    return line_chart(
        [(name, pts) for name, pts in series if pts],
        x_label="submission number (this coder)",
        y_label=f"agreement, last {DRIFT_WINDOW}",
        title=f"Drift: {d.coder}",
        height=240,
    )


def cusum_chart(d) -> Any:
    top = max([DRIFT_PARAMS["h"] * 1.5, *(c for _, c in d.cusum)])
    threshold = [(x, DRIFT_PARAMS["h"]) for x, _ in d.cusum]
    return line_chart(
        [("CUSUM of disagreement", d.cusum), ("decision interval H", threshold)],
        x_label="submission number (this coder)",
        y_label="C_t",
        y_domain=(0.0, round(top + 0.05, 2)),
        title=f"CUSUM: {d.coder}",
        height=200,
    )


@login_required
def drift_page(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    coders = [
        {"d": d, "chart": drift_chart(d), "cusum_chart": cusum_chart(d) if d.cusum else None}
        for d in study_drift(study=study)
    ]
    ctx = {
        "study": study,
        "tab": "quality",
        "summary": study_summary(study=study),
        "coders": coders,
        "params": DRIFT_PARAMS,
        "window": DRIFT_WINDOW,
    }
    return render(request, "audit/drift.html", ctx)
