"""The lead's blinding page: redactions, the blinding check, and study scrubbing rules.

Lead only (404 to everyone else). Before unblinding nothing here names a condition: the
check reports accuracies, p-values and n-grams, and redaction rates by condition appear
only as a p-value and a warning. After unblinding the lead can show the rates with their
labels, and that read is logged as a key view (``services_blinding``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from coding.models import Item, ScrubRule, Study
from coding.permissions import LEADS, access_study
from coding.selectors import redaction_summary, study_summary
from coding.services import ServiceError, scrub_rule_add, scrub_rule_delete

from .forms_blinding import ScrubRuleForm
from .models import BlindingCheck
from .selectors_blinding import items_digest
from .services_blinding import blinding_check_request, redaction_rates_read

POLL_SECONDS = 1
TESTS = {
    "fisher_exact": "Fisher exact",
    "freeman_halton_exact": "Freeman–Halton exact",
    "freeman_halton_monte_carlo": "Freeman–Halton, Monte Carlo (9,999 tables)",
}


def _check_context(study: Study, check: BlindingCheck | None) -> dict:
    results = (check.results or {}) if check else {}
    fields = results.get("fields", [])
    for f in fields:  # character n-grams keep their edge spaces: make them visible
        f["char_display"] = [g.replace(" ", "\u2423") for g in f.get("char_ngrams", [])]
    for r in results.get("rates", []):
        r["test"] = TESTS.get(r.get("method", ""), r.get("note", ""))
    return {
        "study": study,
        "check": check,
        "results": results,
        "tested": [f for f in fields if f.get("accuracy") is not None],
        "untested": [f for f in fields if f.get("accuracy") is None],
        "rates": results.get("rates", []),
        "stale": bool(
            check
            and check.status == BlindingCheck.Status.DONE
            and check.items_digest != items_digest(study=study)
        ),
        "running": bool(
            check and check.status in (BlindingCheck.Status.QUEUED, BlindingCheck.Status.RUNNING)
        ),
        "can_add_rules": study.status == Study.Status.DRAFT,
        "poll_seconds": POLL_SECONDS,
    }


def _latest(study: Study) -> BlindingCheck | None:
    return BlindingCheck.objects.filter(study=study).order_by("-requested_at", "-id").first()


@login_required
@require_GET
def blinding_page(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    ctx = _check_context(study, _latest(study))
    ctx.update(
        tab="blinding",
        summary=study_summary(study=study),
        redactions=redaction_summary(study=study),
        redacted_items=Item.objects.filter(study=study, redaction_count__gt=0).count(),
        rules=ScrubRule.objects.filter(study=study).select_related("added_by"),
        rule_form=ScrubRuleForm(),
        by_condition=None,
    )
    if request.GET.get("rates") == "1" and study.status == Study.Status.UNBLINDED:
        try:
            ctx["by_condition"] = redaction_rates_read(study=study, by=request.user)
        except ServiceError as exc:  # the door refused: say so, show the rest
            messages.error(request, str(exc))
    return render(request, "audit/blinding.html", ctx)


@login_required
@require_GET
def blinding_check_status(request: HttpRequest, study_id: int, check_id: int) -> HttpResponse:
    """The htmx partial polled while a check runs; it stops polling once it is done."""
    study = access_study(request.user, study_id, roles=LEADS)
    check = get_object_or_404(BlindingCheck, pk=check_id, study=study)
    return render(request, "audit/_partials/blinding_check.html", _check_context(study, check))


@login_required
@require_POST
def blinding_check_start(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    check = blinding_check_request(study=study, by=request.user)
    if request.headers.get("HX-Request"):
        check.refresh_from_db()
        return render(request, "audit/_partials/blinding_check.html", _check_context(study, check))
    return redirect(reverse("audit:blinding", args=[study.pk]) + "#blinding-check")


@login_required
@require_POST
def scrub_rule_create(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    form = ScrubRuleForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        messages.error(request, f"Rule not added: {errors}")
    else:
        try:
            rule = scrub_rule_add(study=study, by=request.user, **form.cleaned_data)
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Rule added; {rule.redactions} redaction{'s' if rule.redactions != 1 else ''} "
                "made in this study's items. Run the blinding check again to see the effect.",
            )
    return redirect(reverse("audit:blinding", args=[study.pk]) + "#rules")


@login_required
@require_POST
def scrub_rule_remove(request: HttpRequest, study_id: int, rule_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=LEADS)
    rule = ScrubRule.objects.filter(pk=rule_id, study=study).first()
    if rule is None:
        raise Http404("No such rule.")
    scrub_rule_delete(rule=rule, by=request.user)
    messages.success(request, "Rule removed: later imports no longer apply it.")
    return redirect(reverse("audit:blinding", args=[study.pk]) + "#rules")
