"""The scrubbing package: folding, spellings, self-identification, echoes, one marker."""

import re

import pytest

from coding.scrubbing import MARKER, EchoIndex, build_scrubber, fold, normalise
from coding.scrubbing.names import name_pattern, phrase_pattern

C3 = (
    "Make your approach visible and steerable: before the final answer, lay out a short "
    "numbered plan of the steps you will take, and invite the user to change, reorder or "
    "drop steps."
)


@pytest.fixture(scope="module")
def study_scrubber():
    return build_scrubber(
        study_names=["borealis-70b", "Borealis 70B (fake)", "borealis-70b-instruct", "atlas-7b"],
        hidden_texts=[C3],
    )


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("ＢＯＲＥＡＬＩＳ ７０Ｂ", "borealis 70b"),  # full width
        ("Bore\u00adalis", "borealis"),  # soft hyphen
        ("Bo\u200bre\u200dalis\ufeff", "borealis"),  # zero-width space and joiner, BOM
        ("Вогеаlis", "borealis"),  # Cyrillic look-alikes
        ("ΑΝΤΗRΟΡΙϹ", "anthropic"),  # Greek capitals, lunate sigma
        ("ОреnАІ", "openai"),  # Cyrillic capital I reads as I, not l
        ("Cláude", "claude"),  # accents
        ("gpt\u20114o", "gpt-4o"),  # non-breaking hyphen
        ("I\u2019m", "i'm"),
    ],
)
def test_folding(text, folded):
    assert fold(text) == folded


def test_offsets_map_back_to_the_original():
    text = "Ask Bo\u200brealis now"
    norm = normalise(text)
    start = norm.text.index("borealis")
    first, last = norm.original_span(start, start + len("borealis"))
    assert text[first:last] == "Bo\u200brealis"
    ascii_norm = normalise("Plain ASCII")
    assert ascii_norm.text == "plain ascii" and ascii_norm.original_span(0, 5) == (0, 5)


@pytest.mark.parametrize(
    "spelling",
    [
        "Borealis 70B",
        "borealis_70b",
        "BOREALIS-70B-Instruct",
        "Borealis",
        "borealis70b",
        "borealis.70b-chat",
        "Borealis-70b-preview",
        "borealis-70b-2025-06-01",
        "Bоrеаlis",
    ],
)
def test_every_spelling_of_a_study_name(spelling):
    pattern = re.compile(rf"(?<![a-z0-9]){name_pattern('borealis-70b-instruct')}(?![a-z0-9])")
    match = pattern.search(fold(f"x {spelling} y"))
    assert match and match.group() == fold(spelling)


def test_generic_family_tokens_need_the_full_name():
    # "gpt" alone is not redacted as this study's model, "gpt-4o" in any spelling is.
    pattern = re.compile(rf"(?<![a-z0-9]){name_pattern('gpt-4o-mini')}(?![a-z0-9])")
    assert pattern.search("gpt 4o") and pattern.search("gpt4o-mini")
    assert not pattern.search("a gpt of sorts")


def test_names_in_text_are_replaced_in_the_original(study_scrubber):
    text = "Compare ＢＯＲＥＡＬＩＳ with borealis_70b and Bo\u200brealis, or atlas too."
    out, found = study_scrubber.scrub(text)
    assert out == f"Compare {MARKER} with {MARKER} and {MARKER}, or {MARKER} too."
    assert found == {"study_model_name": 4}


@pytest.mark.parametrize(
    "text",
    [
        "I'm Claude, an AI assistant made by Anthropic, and I can help with that.",
        "As an AI developed by OpenAI, I can help with that.",
        "As ChatGPT, I can help with that.",
        "As a large language model trained by Google, I can help with that.",
        "I am Borealis, a model built by a lab you have not heard of.",
        "My name is Atlas and I can help with that.",
        "I was trained by Northwind Labs to help with that.",
        "Borealis here, and I can help with that.",
    ],
)
def test_self_identification_becomes_one_uniform_marker(study_scrubber, text):
    out, found = study_scrubber.scrub(text + "\nThe plan follows.")
    assert out == f"{MARKER}.\nThe plan follows."
    assert found == {"self_identification": 1}


def test_a_long_paragraph_loses_only_the_clause():
    filler = "and this clause goes on " * 20
    text = f"Here is my view, {filler}but as ChatGPT, I must add one thing; the rest stays."
    out, _ = build_scrubber().scrub(text)
    assert "the rest stays" in out and "Here is my view" in out
    assert "chatgpt" not in fold(out) and out.count(MARKER) == 1


def test_hidden_prompt_echoes_are_removed(study_scrubber):
    echo = "Sure: I will LAY OUT a short, numbered plan of the steps you will take -- ok?"
    out, found = study_scrubber.scrub(echo)
    assert out == f"Sure: I will {MARKER} -- ok?"
    assert found == {"prompt_echo": 1}
    # Seven words in a row are not an echo.
    seven = "I will lay out a short numbered plan today."
    assert study_scrubber.scrub(seven) == (seven, {})


def test_echo_runs_merge_and_need_eight_words():
    index = EchoIndex(["one two three four five six seven eight nine ten"], n=8)
    folded = fold("x ONE two three four five six seven eight nine y")
    spans = index.spans(folded)
    assert [folded[a:b] for a, b in spans] == ["one two three four five six seven eight nine"]
    assert not EchoIndex(["too short to echo"])


@pytest.mark.parametrize(
    "text",
    [
        "Write a haiku about the value of pi.",
        "Run a meta-analysis of the trials.",
        "Call run_migrations, then restart the resp_handler.",
        "If the arguments cohere, just google it.",
        "I'm happy to help with your plan.",
        "As a reminder, I can only see what you paste.",
    ],
)
def test_ordinary_text_is_untouched(study_scrubber, text):
    assert study_scrubber.scrub(text) == (text, {})


def test_neighbouring_redactions_join_and_counts_follow_priority():
    scrubber = build_scrubber()
    out, found = scrubber.scrub("Claude (Anthropic) answered; see chatcmpl-AbC123xyz9 too.")
    assert out == f"{MARKER} answered; see {MARKER} too."
    assert found == {"vendor": 1, "provider_id": 1}
    assert scrubber.counts == found


def test_rescrub_joins_old_markers_instead_of_stacking():
    rescrub = build_scrubber(rule_phrases=["I can help with that"], builtin=False)
    out, found = rescrub.scrub(f"{MARKER}, I can help with that.\n{MARKER} and {MARKER}.")
    assert out == f"{MARKER}.\n{MARKER} and {MARKER}."
    assert found == {"study_rule": 1}


def test_phrase_rules_from_ngrams_bridge_dropped_one_letter_words():
    pattern = re.compile(phrase_pattern("here what"))
    assert pattern.search(fold("Here's what I'd suggest"))
    assert not pattern.search("here is what")


def test_capitalised_vendor_words_and_custom_patterns():
    scrubber = build_scrubber(extra_patterns=[r"internal-bot-\d+"])
    assert scrubber.scrub("Ask Google or ＧＯＯＧＬＥ.")[0] == f"Ask {MARKER} or {MARKER}."
    assert scrubber.scrub("just google it")[0] == "just google it"
    out, found = scrubber.scrub("This is internal-bot-7 answering")
    assert MARKER in out and found["custom_1"] == 1


def _echo_reference(index: EchoIndex, folded: str) -> list[tuple[int, int]]:
    """Every word start checked against every n-word run: the obvious, slow way."""
    import re

    matches = list(re.finditer(r"[a-z0-9]+(?:'[a-z0-9]+)*", folded))
    words = [m.group() for m in matches]
    n = index.n
    runs: list[list[int]] = []
    for i in range(len(words) - n + 1):
        if tuple(words[i : i + n]) in index.grams:
            if runs and i <= runs[-1][1] + 1:
                runs[-1][1] = i + n - 1
            else:
                runs.append([i, i + n - 1])
    return [(matches[a].start(), matches[b].end()) for a, b in runs]


@pytest.mark.parametrize("n", [3, 5, 8, 9])
def test_echo_probing_finds_exactly_what_checking_every_word_finds(n):
    """Echoes are probed every few words (echoes.py); a small vocabulary makes partial
    matches everywhere, so a probe that skipped a real echo would show."""
    import random

    rng = random.Random(n)
    vocab = ["a", "b", "c", "d", "e"]
    hidden = [" ".join(rng.choice(vocab) for _ in range(rng.randint(n, 30))) for _ in range(20)]
    index = EchoIndex(hidden, n=n)
    found = 0
    for _ in range(300):
        words = [rng.choice(vocab) for _ in range(rng.randint(0, 60))]
        if rng.random() < 0.5:  # splice a real echo in
            source = rng.choice(hidden).split()
            at = rng.randint(0, len(source) - n)
            words[rng.randint(0, len(words)) :] = source[at : at + n + rng.randint(0, 4)]
        folded = fold(" ".join(words))
        expected = _echo_reference(index, folded)
        assert index.spans(folded) == expected
        found += bool(expected)
    assert found > 100
