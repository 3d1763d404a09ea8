"""A leak corpus for the scrubber: real-world spellings that must not reach coders.

Each case is one reply of a study whose models are ``borealis-70b`` (endpoint "Borealis
70B (fake)", served as ``borealis-70b-instruct``) and ``atlas-7b``; every record carries
the C3 scaffold's system prompt. A case leaks when any of its ``forbidden`` patterns is
found in what a coder reads, compared after folding (``coding.scrubbing.fold``: a name
hidden with a zero-width space is still read as the name). ``CONTROLS`` are ordinary
sentences that must come through unchanged.

Used by tests/coding/test_scrub_corpus.py (through the import service, the coder API
and the coder page) and by benchmarks/scrub_leaks.py (before/after counts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coding.scrubbing import fold
from transcripts.builtin import SCAFFOLDS

SYSTEM_PROMPT = next(s["system_prompt"] for s in SCAFFOLDS if s["code"] == "C3")
MODELS = {
    "borealis-70b": {"endpoint": "Borealis 70B (fake)", "served_model": "borealis-70b-instruct"},
    "atlas-7b": {"endpoint": "Atlas 7B (fake)", "served_model": "atlas-7b-2025-06-01"},
}
ZW, SHY, BOM, ZWJ = "\u200b", "\u00ad", "\ufeff", "\u200d"
MARKER_SHAPE = re.compile(r"\[redacted\][^.\n]{0,40}(?:made|developed|trained|built) by")


@dataclass(frozen=True)
class Case:
    cls: str
    text: str
    forbidden: tuple[str, ...]  # regular expressions on the folded coder-visible text
    model: str = "borealis-70b"


def _c(cls: str, text: str, *forbidden: str, model: str = "borealis-70b") -> Case:
    return Case(cls, text, forbidden, model)


CASES: list[Case] = [
    # Vendor names in any case.
    _c("vendor_case", "I think openai released a paper on this.", r"openai"),
    _c("vendor_case", "ANTHROPIC's guidance says otherwise.", r"anthropic"),
    _c("vendor_case", "Researchers at google deepmind found the same.", r"deepmind"),
    _c("vendor_case", "The OpenAi docs cover it.", r"openai"),
    _c("vendor_case", "Try the Hugging face hub or deepseek.", r"hugging\W*face", r"deepseek"),
    # The study's own model names in other spellings, and the family token alone.
    _c("model_spelling", "Benchmarks put Borealis 70B ahead.", r"borealis"),
    _c("model_spelling", "Load it as borealis_70b in the config.", r"borealis"),
    _c("model_spelling", "BOREALIS-70B-Instruct handles this well.", r"borealis"),
    _c("model_spelling", "The Borealis family is good at this.", r"borealis"),
    _c("model_spelling", "Use borealis70b-chat for dialogue.", r"borealis"),
    _c("model_spelling", "Atlas 7B would say the same.", r"atlas\W*7b", model="atlas-7b"),
    _c("model_spelling", "Set atlas_7b as the default.", r"atlas\W*7b", model="atlas-7b"),
    # Full-width letters.
    _c("full_width", "Ask ＢＯＲＥＡＬＩＳ about it.", r"borealis"),
    _c("full_width", "Per ｏｐｅｎａｉ policy, no.", r"openai"),
    _c("full_width", "Compare with ＧＰＴ-４ on this.", r"gpt\W*4"),
    # Soft hyphens inside names.
    _c("soft_hyphen", f"Bore{SHY}alis answers quickly.", r"borealis"),
    _c("soft_hyphen", f"Open{SHY}AI and Anthro{SHY}pic disagree.", r"openai", r"anthropic"),
    # Zero-width characters.
    _c("zero_width", f"Bo{ZW}realis is the model here.", r"borealis"),
    _c("zero_width", f"Open{ZW}AI trained it; Chat{ZWJ}GPT too.", r"openai", r"chat\W*gpt"),
    _c("zero_width", f"{BOM}Claude wrote this answer.", r"claude"),
    # Look-alike letters (Cyrillic, Greek).
    _c("confusable", "Вогеаlis handles it.", r"borealis"),  # Cyrillic В о е а
    _c("confusable", "Made with ОреnАІ tools.", r"openai"),  # Cyrillic О р е А І
    _c("confusable", "ΑΝΤΗRΟΡΙϹ says so.", r"anthropic"),  # Greek capitals
    _c("confusable", "Ask Сlаudе instead.", r"claude"),  # Cyrillic С а е
    # Provider request and object ids.
    _c("provider_id", "Request chatcmpl-9xYzAbCdEf12 failed.", r"chatcmpl"),
    _c("provider_id", "See msg_01XFDUDYJgAACzvnptvVoYEL.", r"msg_01"),
    _c("provider_id", "Trace req_011CPk3bP9 and resp_67ccd2bed1ec8190.", r"req_0", r"resp_6"),
    _c("provider_id", "Tool call toolu_01A09q90qw90lq917835lq9 ran.", r"toolu_"),
    _c("provider_id", "Fingerprint fp_44709d6fcb.", r"fp_4"),
    # Self-identification: the clause must go whole, not word by word.
    _c(
        "self_id_shape",
        "I'm Claude, an AI assistant made by Anthropic, and I can help with that.",
        r"an ai assistant made by",
        r"i'm \[redacted\]",
        MARKER_SHAPE.pattern,
    ),
    _c(
        "self_id_shape",
        "As an AI developed by OpenAI, I can help with that.",
        r"ai developed by",
        MARKER_SHAPE.pattern,
        model="atlas-7b",
    ),
    _c("self_id_shape", "As ChatGPT, I can help with that.", r"as \[redacted\]", model="atlas-7b"),
    _c(
        "self_id_shape",
        "I am Borealis, a large language model trained by Northwind Labs. Here goes.",
        r"northwind",
        r"trained by",
        r"language model",
    ),
    _c("self_id_shape", "My name is Atlas and I can help.", r"my name is", model="atlas-7b"),
    _c("self_id_shape", "I was built by a small lab called Kestrel.", r"kestrel", r"built by"),
    # Verbatim echoes of the hidden system prompt (8+ words), in any case or punctuation.
    _c(
        "prompt_echo",
        "As requested, I will lay out a short numbered plan of the steps you will take.",
        r"short numbered plan of the steps",
    ),
    _c(
        "prompt_echo",
        "TREAT THE PLAN AS A DRAFT -- the user can redirect, not a finished decision!",
        r"draft\W+the user can redirect",
    ),
    _c(
        "prompt_echo",
        "Remember: name the missing requirements and ask the user up to three short "
        "clarifying questions.",
        r"missing requirements and ask the user",
    ),
]

# Ordinary text that must reach coders unchanged (no false positives).
CONTROLS: list[str] = [
    "Write a haiku about the value of pi.",
    "A sonnet in the style of Shakespeare.",
    "Run a meta-analysis of the trials.",
    "Call run_migrations, then restart the resp_handler.",
    "Message id 42 is missing.",
    "I'm happy to help with your plan.",
    "As a reminder, I can only see what you paste here.",
    "If the arguments cohere, just google it.",
    "Here is a numbered plan with three steps.",
]


def case_records() -> list[dict]:
    """One import record per case and per control (controls use the first model)."""
    records = []
    entries = [(f"case-{i:02d}", c.text, c.model) for i, c in enumerate(CASES)]
    entries += [(f"control-{i:02d}", t, "borealis-70b") for i, t in enumerate(CONTROLS)]
    for external_id, text, model in entries:
        records.append(
            {
                "id": external_id,
                "model": model,
                **MODELS[model],
                "scaffold": "C3",
                "prompt": "P01",
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": "Help me plan a small project."},
                    {"role": "assistant", "content": text},
                ],
            }
        )
    return records


def case_leaks(case: Case, seen: str) -> list[str]:
    """The forbidden patterns of ``case`` found in ``seen`` (what a coder reads).

    Spaces in a pattern stand for any run of non-word characters between the words."""
    folded = fold(seen)
    return [p for p in case.forbidden if re.search(p.replace(" ", r"\W+"), folded)]


def corpus_leaks(seen_by_id: dict[str, str]) -> dict[str, list[str]]:
    """{case id: leaked patterns} over the corpus; ``seen_by_id`` maps record id -> text.

    Controls "leak" (as ``changed``) when they do not come through unchanged."""
    leaks: dict[str, list[str]] = {}
    for i, case in enumerate(CASES):
        found = case_leaks(case, seen_by_id[f"case-{i:02d}"])
        if found:
            leaks[f"case-{i:02d} {case.cls}"] = found
    for i, text in enumerate(CONTROLS):
        if text not in seen_by_id[f"control-{i:02d}"]:
            leaks[f"control-{i:02d}"] = ["changed"]
    return leaks
