"""Agreement dashboard (lead only) and its JSON/CSV exports.

All three show the latest AgreementSnapshot as chosen by ``services.snapshot_current``,
and no request ever computes one: a snapshot behind the data is shown as it is, with its
age, the submissions made since and a background refresh requested (the Celery task
writes it). With nothing to show yet the dashboard renders a "computing" state; either
way a small htmx partial (``agreement-status``) polls until the worker's snapshot is
there. "Recompute now" (a POST) queues an undelayed refresh. The exports name the
snapshot (id, computed_at) and the submissions it covers, so an analyst knows what they
got.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from alignweb.bounds import ID, param_int
from coding.csvsafe import csv_lines
from coding.models import Event
from coding.permissions import LEADS, access_study
from coding.selectors import study_summary
from coding.services import event_record

from . import selectors
from .agreement_results import (
    COEFFICIENTS,
    CSV_HEADER,
    LABELS,
    MAIN_COEFFICIENTS,
    SERIES_COEFFICIENTS,
    results_csv_rows,
)
from .agreement_tables import coefficient_table, heatmaps
from .charts import Bar, Group, Panel, bar_chart, domain_for, line_chart
from .models import AgreementSnapshot
from .services import SnapshotState, snapshot_current

POLL_SECONDS = 2

SHORT = {
    "cohen_kappa": "κ",
    "cohen_kappa_linear": "κ lin",
    "cohen_kappa_quadratic": "κ quad",
    "krippendorff_alpha_ordinal": "α ord",
    "gwet_ac1": "AC1",
    "percent_agreement": "% agr",
    "pabak": "PABAK",
}


def _coefficient_rows(values: dict, ci: dict, names=MAIN_COEFFICIENTS) -> list[dict[str, Any]]:
    return [{"name": n, "label": LABELS[n], "value": values.get(n), "ci": ci.get(n)} for n in names]


def _main_chart(dimensions: list[dict]) -> Any:
    panels, bounds = [], []
    for dim in dimensions:
        groups = []
        for name in MAIN_COEFFICIENTS:
            ci = dim["ci"].get(name) or [None, None]
            bounds += [dim[name], *ci]
            groups.append(Group(SHORT[name], [Bar(LABELS[name], dim[name], *ci)]))
        panels.append(Panel(f"{dim['code']} {dim['name']}", groups))
    return bar_chart(
        panels,
        series=[LABELS[n] for n in MAIN_COEFFICIENTS],
        y_domain=domain_for(bounds),
        y_label="coefficient (95% CI)",
        title="Agreement per dimension with 95% bootstrap intervals",
        columns=4,
        panel_width=320,
        panel_height=230,
    )


def _history_chart(series: list[dict], dimension_codes: list[str]) -> Any:
    """Cohen's kappa per dimension over snapshots (Krippendorff's alpha when kappa is null)."""
    if not series:
        return None
    name = SERIES_COEFFICIENTS[0]
    if all(s["series"].get(c, {}).get(name) is None for s in series for c in dimension_codes):
        name = "krippendorff_alpha_ordinal"
    lines = [
        (code, [(s["n_submitted"], s["series"].get(code, {}).get(name)) for s in series])
        for code in dimension_codes
    ]
    values = [y for _, pts in lines for _, y in pts]
    return line_chart(
        lines,
        x_label="submitted assignments at each snapshot",
        y_label=LABELS[name],
        y_domain=domain_for(values),
        title=f"{LABELS[name]} over time",
    ), LABELS[name]


@login_required
@require_http_methods(["GET", "POST"])
def agreement_dashboard(request: HttpRequest, study_id: int) -> HttpResponse:
    """GET: the latest snapshot (see the module docstring). POST: recompute it now."""
    study = access_study(request.user, study_id, roles=LEADS)
    if request.method == "POST":
        state = snapshot_current(study=study, by=request.user, recompute=True)
        if state.fresh and state.snapshot is not None:
            messages.success(
                request,
                f"Agreement is up to date: {state.snapshot.n_submitted} submitted assignments.",
            )
        elif state.refresh_queued:
            messages.success(
                request,
                "Recomputing in the background: this page shows the new numbers when ready.",
            )
        return redirect("audit:agreement", study_id=study.pk)
    state = snapshot_current(study=study, by=request.user)
    snapshot = state.snapshot
    ctx: dict[str, Any] = {
        "study": study,
        "tab": "agreement",
        "summary": study_summary(study=study),
        "snapshot": snapshot,
        "state": state,
        "poll_seconds": POLL_SECONDS,
    }
    if snapshot is not None:
        results = snapshot.results
        dims = results["dimensions"]
        codes = [d["code"] for d in dims]
        conditions = results.get("conditions") or []
        condition_view = "heatmap" if request.GET.get("conditions") == "heatmap" else "table"
        series = selectors.snapshot_series(study=study)
        history = _history_chart(series, codes)
        ctx.update(
            results=results,
            codes=codes,
            chart=_main_chart(dims),
            dimensions=[
                {
                    **d,
                    "rows": _coefficient_rows(d, d["ci"]),
                    "all_rows": _coefficient_rows(d, d["ci"], COEFFICIENTS),
                    "paradox": [w for w in d["warnings"] if w.startswith("kappa paradox")],
                }
                for d in dims
            ],
            pairs=coefficient_table(results.get("pairs", []), codes),
            conditions=(
                heatmaps(conditions, codes)
                if condition_view == "heatmap"
                else coefficient_table(conditions, codes)
            )
            if conditions
            else None,
            condition_view=condition_view,
            history_chart=history[0] if history else None,
            history_label=history[1] if history else "",
            n_snapshots=len(series),
        )
    return render(request, "audit/agreement.html", ctx)


@login_required
@require_GET
def agreement_status(request: HttpRequest, study_id: int) -> HttpResponse:
    """The htmx partial polled while a refresh is pending (``shown``: the snapshot on the
    page, absent when none). Once a newer snapshot is there it stops polling: a page that
    had nothing to show reloads itself (``HX-Refresh``); one that shows numbers offers a
    link, so a lead reading them is not interrupted."""
    study = access_study(request.user, study_id, roles=LEADS)
    shown = param_int(request.GET, "shown", low=ID[0], high=ID[1])
    state = snapshot_current(study=study, by=request.user)
    snapshot = state.snapshot
    ready = snapshot is not None and (snapshot.pk != shown or state.fresh)
    if ready and shown is None:
        response = HttpResponse("")
        response["HX-Refresh"] = "true"
        return response
    ctx = {"study": study, "snapshot": snapshot, "state": state, "poll_seconds": POLL_SECONDS}
    return render(
        request, "audit/_partials/agreement_status.html", {**ctx, "ready": ready, "shown": shown}
    )


def _export_snapshot(request: HttpRequest, study_id: int, kind: str):
    study = access_study(request.user, study_id, roles=LEADS)
    state = snapshot_current(study=study, by=request.user)
    snapshot = state.snapshot
    event_record(
        verb=Event.Verb.EXPORT,
        actor=request.user,
        study=study,
        target=f"agreement.{kind}",
        payload={"snapshot": snapshot.pk if snapshot else None},
    )
    return study, state


def snapshot_info(state: SnapshotState) -> dict[str, Any] | None:
    """Which snapshot an export holds and what it covers (None before any submission)."""
    snapshot = state.snapshot
    if snapshot is None:
        return None
    return {
        "id": snapshot.pk,
        "computed_at": snapshot.at.isoformat(),
        "at": snapshot.at.isoformat(),  # the same time, under its earlier name
        "n_submitted": snapshot.n_submitted,
        "n_submitted_now": state.n_submitted,
        "n_behind": state.n_behind,
        "refresh_queued": state.refresh_queued,
        "note": (
            f"First-pass scores of the {snapshot.n_submitted} assignments submitted when "
            f"the snapshot was computed; {state.n_behind} submitted since."
        ),
    }


@login_required
def agreement_json(request: HttpRequest, study_id: int) -> HttpResponse:
    study, state = _export_snapshot(request, study_id, "json")
    snapshot = state.snapshot
    body = {
        "study": {"id": study.pk, "name": study.name, "status": study.status},
        "snapshot": snapshot_info(state),
        "results": snapshot.results if snapshot else None,
    }
    response = HttpResponse(
        json.dumps(body, indent=2, ensure_ascii=False, allow_nan=False),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(study.pk, snapshot)}.json"'
    return response


# Every CSV row names its snapshot, so a file passed on still says what it holds.
SNAPSHOT_COLUMNS = ["snapshot_id", "snapshot_computed_at", "snapshot_n_submitted"]


@login_required
def agreement_csv(request: HttpRequest, study_id: int) -> StreamingHttpResponse:
    study, state = _export_snapshot(request, study_id, "csv")
    snapshot = state.snapshot
    rows = []
    if snapshot is not None:
        stamp = [snapshot.pk, snapshot.at.isoformat(), snapshot.n_submitted]
        rows = (row + stamp for row in results_csv_rows(snapshot.results))
    response = StreamingHttpResponse(
        csv_lines(CSV_HEADER + SNAPSHOT_COLUMNS, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(study.pk, snapshot)}.csv"'
    return response


def _filename(study_id: int, snapshot: AgreementSnapshot | None) -> str:
    suffix = f"-snapshot-{snapshot.pk}" if snapshot is not None else ""
    return f"study-{study_id}-agreement{suffix}"
