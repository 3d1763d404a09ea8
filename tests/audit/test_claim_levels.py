"""Claim levels come from stated rules (audit/claim_levels.py), not from a fixed label.

Issue 15: a study with kappa between -0.12 and 0.24 was reported as supporting the
deployment level. The rules here are checked at their thresholds, then end to end.
"""

from __future__ import annotations

import dataclasses

import pytest
from django.urls import reverse

from audit.claim_levels import (
    MIN_ITEMS,
    MIN_KAPPA,
    MIN_PER_CONFIGURATION,
    DimensionFacts,
    LevelFacts,
    evaluate_levels,
)
from audit.claims import claim_report_build, claim_report_markdown
from audit.selectors_claims import coded_transcript_turns
from coding.models import Item
from tests.audit.conftest import claim_study, trip_conversation


def strong(**changes) -> LevelFacts:
    """Facts that meet every rule, with ``changes`` applied."""
    facts = LevelFacts(
        documents_only=False,
        model_sources=1,
        dimensions=[DimensionFacts(f"D{i}", 24, 0.8) for i in range(1, 9)],
        agreement_computed=True,
        coded_transcripts=24,
        multi_turn=24,
        conditions_readable=True,
        keyed_transcripts=24,
        context_stated=True,
        scaffolds=[("C1", True), ("C2", True)],
        configurations=[("m", "C1", 12), ("m", "C2", 12)],
    )
    return dataclasses.replace(facts, **changes)


def by_level(result) -> dict:
    return {lv["level"]: lv for lv in result["levels"]}


def test_every_rule_met_supports_deployment():
    result = evaluate_levels(strong())
    assert result["supported"] == "deployment"
    assert all(lv["supported"] for lv in result["levels"])
    assert result["dimensions_supported"] == [f"D{i}" for i in range(1, 9)]


def test_the_issue_study_with_kappa_near_zero_supports_no_behavioural_claim():
    kappas = [-0.12, 0.05, 0.24, 0.1, 0.0, 0.2, -0.05, 0.15]
    dims = [DimensionFacts(f"D{i}", 180, k) for i, k in enumerate(kappas, start=1)]
    result = evaluate_levels(strong(dimensions=dims, model_sources=0))
    assert result["supported"] is None
    levels = by_level(result)
    assert not levels["response"]["supported"]
    assert "lowest κ -0.12 (D1)" in levels["response"]["explanation"]
    assert "needs κ ≥ 0.60" in levels["response"]["explanation"]
    assert levels["deployment"]["explanation"].startswith(
        "Not supported. The interaction level is not supported."
    )
    assert "no claim" in result["because"] and "Response level" in result["because"]
    assert [d["code"] for d in result["dimensions_excluded"]] == [f"D{i}" for i in range(1, 9)]
    # With model-level evidence cited, only the model level remains.
    assert evaluate_levels(strong(dimensions=dims))["supported"] == "model"


def test_the_level_holds_only_for_dimensions_that_pass():
    dims = [DimensionFacts(f"D{i}", 24, 0.8) for i in range(1, 9)]
    dims[3] = DimensionFacts("D4", 24, 0.41)
    dims[5] = DimensionFacts("D6", 24, None)
    dims[6] = DimensionFacts("D7", MIN_ITEMS - 1, 0.9)
    result = evaluate_levels(strong(dimensions=dims))
    assert result["supported"] == "deployment"
    assert result["dimensions_supported"] == ["D1", "D2", "D3", "D5", "D8"]
    reasons = {d["code"]: d["reason"] for d in result["dimensions_excluded"]}
    assert reasons == {
        "D4": "Cohen's κ 0.41 (needs ≥ 0.60)",
        "D6": "Cohen's κ undefined (no variation to agree on)",
        "D7": "9 reconciled items (needs 10)",
    }
    assert "for D1, D2, D3, D5, D8 only" in result["because"]


@pytest.mark.parametrize(
    ("changes", "supported"),
    [
        ({"dimensions": [DimensionFacts("D1", MIN_ITEMS, MIN_KAPPA)]}, "deployment"),
        ({"dimensions": [DimensionFacts("D1", MIN_ITEMS, 0.599)]}, "model"),
        ({"dimensions": [DimensionFacts("D1", MIN_ITEMS - 1, 0.9)]}, "model"),
        ({"agreement_computed": False}, "model"),
        ({"documents_only": True}, "model"),
        ({"multi_turn": 12}, "deployment"),  # exactly half
        ({"multi_turn": 11}, "response"),
        ({"conditions_readable": False}, "response"),  # sealed
        ({"keyed_transcripts": 23}, "response"),
        ({"context_stated": False}, "interaction"),
        ({"scaffolds": [("C1", True), ("C2", False)]}, "interaction"),
        ({"configurations": [("m", "C1", MIN_PER_CONFIGURATION - 1)]}, "interaction"),
    ],
)
def test_each_threshold(changes, supported):
    assert evaluate_levels(strong(**changes))["supported"] == supported


def test_turns_are_counted_by_the_database(personas):
    study = claim_study(personas, agree=True)
    Item.objects.filter(pk=Item.objects.filter(study=study).first().pk).update(
        content={"messages": trip_conversation(0)[:2]}
    )
    assert coded_transcript_turns(study=study) == {"coded": 24, "multi_turn": 23}


def test_a_strong_study_reaches_deployment_and_the_page_states_the_rules(personas, client):
    study = claim_study(personas, agree=True)
    report = claim_report_build(study=study, by=personas.lead)
    levels = by_level(report["claim"]["levels"])
    assert report["claim"]["level_supported"] == "deployment", levels
    assert not levels["model"]["supported"]  # nothing cited: the separate model level
    client.force_login(personas.lead)
    page = client.get(reverse("audit:claim-report", args=[study.pk])).content.decode()
    assert 'id="claim-levels"' in page
    for text in ("κ ≥ 0.60", "at least 12 reconciled transcripts in each", "2 or more user turns"):
        assert text in page
    markdown = claim_report_markdown(report)
    assert "### Levels and the rules they need" in markdown
    assert "- **deployment**: supported." in markdown


def test_a_study_whose_coders_disagree_supports_no_level(personas, client):
    study = claim_study(personas, agree=False)
    report = claim_report_build(study=study, by=personas.lead)
    assert report["claim"]["level_supported"] is None
    kappas = [e["agreement"]["cohen_kappa"] for e in report["interactional_evidence"]]
    assert all(k is None or k < MIN_KAPPA for k in kappas)
    client.force_login(personas.lead)
    page = client.get(reverse("audit:claim-report", args=[study.pk])).content.decode()
    assert 'Level supported</dt><dd><strong id="level-supported">none</strong>' in page
    assert page.count("not supported</span>") == 4
