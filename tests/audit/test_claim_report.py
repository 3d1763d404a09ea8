"""Claim reports: template sections, sealing, scaffold hashes, context C, scope, run cards."""

import json

import pytest
from django.urls import reverse

from audit.claims import claim_report_build, claim_report_markdown
from audit.models import Benchmark
from audit.services import benchmark_audit_study_create
from coding.models import Event, Reconciliation
from tests.audit.conftest import build_study
from tests.coding.conftest import make_records

pytestmark = pytest.mark.django_db

SECTIONS = [
    "## 1. Claim and claim level",
    "## 2. Model-level evidence",
    "## 3. Interactional evidence per dimension",
    "## 4. Scaffolding S",
    "## 5. Deployment context C",
    "## 6. Scope (M, S, C)",
]


def _json(client, study):
    response = client.get(reverse("audit:claim-report-json", args=[study.pk]))
    assert response["Content-Disposition"].endswith('claim-report.json"')
    return json.loads(response.content)


def test_sealed_study_report(coded, client):
    p = coded
    client.force_login(p.lead)
    report = _json(client, p.study)
    assert report["template"].startswith("AlignWeb claim-indexing")
    assert report["deployment_context"] == {"C": "unspecified", "specified": False}
    assert report["scaffolding"] == {"status": "sealed until unblinding", "scaffolds": None}
    assert report["scope"]["configurations"] is None
    assert report["claim"]["level_supported"] == "response"  # single-turn, still sealed
    assert "Not the interaction level" in report["claim"]["supported_because"]
    evidence = {e["dimension"]: e for e in report["interactional_evidence"]}
    assert list(evidence) == [f"D{i}" for i in range(1, 9)]
    values = list(
        Reconciliation.objects.filter(item__study=p.study, dimension__code="D2").values_list(
            "value", flat=True
        )
    )
    d2 = evidence["D2"]
    assert d2["measured"] and d2["n_items"] == len(values) == 12
    assert d2["mean"] == pytest.approx(sum(values) / len(values))
    assert d2["agreement"]["cohen_kappa"] is not None
    assert "by_configuration" not in d2
    assert not Event.objects.filter(verb="key_view").exists()
    markdown = client.get(reverse("audit:claim-report-md", args=[p.study.pk])).content.decode()
    positions = [markdown.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert "| D2 Process | measured | 12 |" in markdown
    assert "Conditions are sealed until unblinding." in markdown
    assert Event.objects.filter(verb="export", target__startswith="claim_report.").count() == 2


def test_unblinded_report_scope_hashes_and_context(personas, client):
    records = make_records(24)
    for r in records:
        r["scaffold_sha256"] = f"sha-{r['scaffold']}"
    p = personas
    build_study(p, records=records, unblind=True)
    client.force_login(p.lead)
    page = client.get(reverse("audit:claim-report", args=[p.study.pk]))
    assert page.status_code == 200 and b'id="evidence-table"' in page.content
    level = Benchmark.ClaimLevel.DEPLOYMENT
    response = client.post(
        reverse("audit:claim-report", args=[p.study.pk]),
        {
            "claim": "Scaffold C3 improves process transparency for these three models.",
            "claim_level": level,
            "deployment_context": "Internal planning assistant for operations staff",
            "model_evidence": "Leaderboard results for the three models",
            "benchmarks": [Benchmark.objects.get(name="IFEval").pk],
        },
    )
    assert response.status_code == 302
    p.study.refresh_from_db()
    assert p.study.deployment_context.startswith("Internal planning")
    report = _json(client, p.study)
    assert report["deployment_context"]["specified"] is True
    assert report["scaffolding"]["status"] == "varied"
    assert report["scaffolding"]["scaffolds"][0] == {
        "code": "C1",
        "n_items": 6,
        "sha256": ["sha-C1"],
    }
    configs = report["scope"]["configurations"]
    assert len(configs) == 12 and sum(c["n_items"] for c in configs) == 24
    assert {c["context"] for c in configs} == {"Internal planning assistant for operations staff"}
    assert report["claim"]["level_claimed"] == "deployment"
    # Single-turn transcripts, two per configuration: the rules stop at the response level.
    assert report["claim"]["level_supported"] == "response"
    assert report["claim"]["warnings"][0].startswith(
        "The claim is stated at the deployment level, but this evidence does not support it; "
        "it supports at most the response level."
    )
    levels = {lv["level"]: lv for lv in report["claim"]["levels"]["levels"]}
    assert levels["model"]["supported"]  # benchmark and notes cited
    assert report["model_level_evidence"]["benchmarks"][0]["name"] == "IFEval"
    d1 = report["interactional_evidence"][0]
    assert len(d1["by_configuration"]) == 12
    reads = Event.objects.filter(verb="key_view", payload__purpose="claim report")
    assert reads.exists() and reads.first().actor == p.lead
    markdown = claim_report_markdown(report)
    assert "- S is varied." in markdown and "`sha-C2`" in markdown
    assert "| GPT-4o | C1 | Internal planning assistant for operations staff | 2 |" in markdown


def test_overclaiming_is_flagged(coded, client):
    p = coded
    client.force_login(p.lead)
    client.post(
        reverse("audit:claim-report", args=[p.study.pk]),
        {"claim": "Safe to deploy.", "claim_level": "deployment", "deployment_context": ""},
    )
    report = _json(client, p.study)
    assert report["claim"]["warnings"][0].startswith(
        "The claim is stated at the deployment level, but this evidence does not support it; "
        "it supports at most the response level. Interaction level: The transcripts are "
        "conversations: needs at least 50% of coded transcripts with 2 or more user turns; "
        "here 0 of 12 (0%)."
    )
    html = client.get(reverse("audit:claim-report", args=[p.study.pk])).content.decode()
    assert "supports at most the response level" in html


def test_run_card_is_included_when_keys_reference_a_run(personas):
    from transcripts.models import GenerationRun, PromptSet

    run = GenerationRun.objects.create(
        name="stress run", created_by=personas.lead, prompt_set=PromptSet.objects.create(name="ps")
    )
    records = make_records(24)
    for r in records:
        r["run_id"] = run.pk
    build_study(personas, records=records, unblind=True)
    report = claim_report_build(study=personas.study, by=personas.lead)
    assert [card["run"]["id"] for card in report["run_cards"]] == [run.pk]
    assert "stress run" in claim_report_markdown(report)


def test_benchmark_audit_report(personas):
    study = benchmark_audit_study_create(
        name="Audit",
        benchmarks=list(Benchmark.objects.filter(name__in=["IFEval", "Rifts"])),
        by=personas.lead,
    )
    report = claim_report_build(study=study, by=personas.lead)
    assert report["claim"]["level_supported"] is None
    assert "benchmark documents only" in report["claim"]["supported_because"]
    audited = report["model_level_evidence"]["audited_benchmarks"]
    assert [b["name"] for b in audited] == ["IFEval", "Rifts"]
    assert not any(e["measured"] for e in report["interactional_evidence"])
    assert report["scaffolding"]["status"] == "not applicable"
