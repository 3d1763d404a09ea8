"""Run cards: commit, packages, endpoints without keys, grid, config, counts, failures."""

from __future__ import annotations

import subprocess

import pytest

from alignweb.version import code_version
from tests.transcripts.conftest import FAST_POLICY, builtin_scaffolds, demo_prompt_set
from transcripts import services
from transcripts.runcard import build_run_card, run_card_markdown

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


def test_card_contents(
    personas, fake_server, make_endpoint, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("CARD_KEY", "sk-card-secret-9876")
    good = make_endpoint(owner=personas.lead, server=fake_server, api_key_env="CARD_KEY")
    bad = make_endpoint(
        owner=personas.lead,
        server=fake_server,
        model="nope",
        name="unknown model",
        default_params={"extra": {"top_k": 4}},
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_create(
            by=personas.lead,
            name="Card run",
            endpoints=[good, bad],
            scaffolds=builtin_scaffolds()[:2],
            prompt_set=demo_prompt_set(),
            max_prompts=2,
            config={"temperature": 0.3, "seed": 5},
            policy=FAST_POLICY,
            seed=42,
        )
    run.refresh_from_db()
    card = build_run_card(run)
    assert card["code"]["commit"] and len(card["code"]["commit"]) >= 7
    assert card["packages"]["openai"] and card["packages"]["anthropic"]
    assert {e["name"] for e in card["endpoints"]} == {good.name, "unknown model"}
    assert next(e for e in card["endpoints"] if e["name"] == good.name)["api_key_env"] == (
        "CARD_KEY"
    )
    assert [s["code"] for s in card["grid"]["scaffolds"]] == ["C1", "C2"]
    assert [p["code"] for p in card["grid"]["prompts"]] == ["P01", "P02"]
    assert card["grid"]["cells"] == 8
    assert card["config"]["temperature"] == 0.3
    assert card["seeds"]["run_seed"] == 42 and card["seeds"]["sampling_seed"] == 5
    assert card["counts"]["succeeded"] == 4 and card["counts"]["failed"] == 4
    assert len(card["failures"]) == 4 and "Not found (404)" in card["failures"][0]["error"]
    assert card["served_models"] == ["atlas-7b-2025-06-01"]
    md = run_card_markdown(card)
    for text in [
        "# Run card: Card run",
        "## Endpoints",
        "## Grid",
        "2 endpoints x 2 scaffolds",
        "## Failures",
        "Not found (404)",
        "CARD_KEY",
    ]:
        assert text in md
    assert "sk-card-secret-9876" not in md and "sk-card-secret-9876" not in str(card)


def test_code_version_prefers_setting_and_fails_gracefully(settings, monkeypatch):
    settings.GIT_COMMIT = "abc1234"
    assert code_version() == ("abc1234", None)
    settings.GIT_COMMIT = ""

    def broken(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", broken)
    assert code_version() == ("unknown", None)
