"""Scrubbing rules: what is redacted, what is left alone, and the counts."""

import pytest

from coding.blinding import REDACTED, Scrubber, default_rules, literal_rule


@pytest.fixture
def scrubber():
    return Scrubber(default_rules())


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("As an AI developed by OpenAI, I can't browse.", "self_identification"),
        ("As a large language model trained by Google, I think", "self_identification"),
        ("I'm Claude.", "self_identification"),
        ("This is ChatGPT speaking.", "self_identification"),
        ("Compare ChatGPT with others.", "model_family"),
        ("Try gpt-4o-mini or Llama-3-70B.", "model_family"),
        ("Anthropic's policy says", "vendor"),
        ("request chatcmpl-9xYzAbCdEf12 failed", "provider_id"),
        ("see msg_01ABCDEFGHJK", "provider_id"),
    ],
)
def test_redacts_self_identification(scrubber, text, rule):
    out, found = scrubber.scrub(text)
    assert REDACTED in out
    assert found[rule] >= 1


@pytest.mark.parametrize(
    "text",
    [
        "Write a haiku about the value of pi.",
        "A sonnet in the style of Shakespeare.",
        "Run a meta-analysis of the trials.",
        "Message id 42 is missing.",
    ],
)
def test_leaves_ordinary_words_alone(scrubber, text):
    assert scrubber.scrub(text) == (text, {})


def test_counts_accumulate_and_study_names_are_scrubbed():
    rule = literal_rule("study_model_name", ["atlas-7b", "x"])
    scrubber = Scrubber([rule, *default_rules()])
    out, found = scrubber.scrub("The answer came from ATLAS-7B, an assistant. Not atlast.")
    assert out == f"The answer came from {REDACTED}, an assistant. Not atlast."
    assert found == {"study_model_name": 1}
    scrubber.scrub("atlas_7b again")
    assert scrubber.counts["study_model_name"] == 2


def test_custom_patterns_from_settings():
    scrubber = Scrubber(default_rules(extra_patterns=[r"internal-bot-\d+"]))
    out, found = scrubber.scrub("This is internal-bot-7 answering")
    assert REDACTED in out and found == {"custom_1": 1}
